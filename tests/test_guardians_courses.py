"""A guardian's consent for courses (issue 20): a young person's seat is taken at once but
waits for the consent; one consent per course or weekly series; withdrawal and expiry give the
seat to the waitlist; no course is overbooked, also under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.booking import errors, guardians
from makerspace.booking.guardians import ConsentStatus, GuardianConsent
from makerspace.branches.models import Branch
from makerspace.checkin.services import AwaitingGuardian, check_in
from makerspace.events import errors as event_errors
from makerspace.events.models import Event, Signup, SignupStatus
from makerspace.events.services import (
    create_event,
    create_weekly_series,
    event_counts,
    mark_attendance,
    sign_up,
)
from makerspace.extensions import db
from makerspace.mail.models import OutboxMessage
from makerspace.privacy.services import export_personal_data
from tests.helpers import bearer, matches
from tests.test_api import assert_problem
from tests.test_guardians import _csrf, _guardian_messages, _guardian_path, _kinds

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo
START = datetime(2026, 12, 9, 16, 0, tzinfo=UTC)  # Wednesday 17:00, nine days on


@pytest.fixture
def scene(frozen_clock, open_branch, make_user, make_token):
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    young = make_user("ola@example.no", name="Ola", birth_year=2014)  # 12 in 2026
    adult = make_user("kari@example.no", birth_year=1990)
    desk = make_user("desk@example.no", role=Role.LIBRARIAN, branches=[branch])
    return {"branch": branch, "young": young, "adult": adult, "desk": desk,
            "young_token": make_token(young), "adult_token": make_token(adult),
            "desk_token": make_token(desk)}


def _course(scene, *, capacity: int = 1, start: datetime = START, under: int | None = 15,
            title: str = "Laserkurs") -> Event:  # type: ignore[no-untyped-def]
    event = create_event(branch=db.session.get(Branch, scene["branch"].id), title=title,
                         start=start, end=start + timedelta(hours=2), capacity=capacity,
                         guardian_consent_under=under)
    db.session.flush()
    return event


def _user(scene, who: str) -> User:  # type: ignore[no-untyped-def]
    return db.session.get(User, scene[who].id)


def _sign(scene, event: Event, who: str = "young",
          guardian_email: str | None = "mor@example.no") -> Signup:  # type: ignore[no-untyped-def]
    return sign_up(event=event, user=_user(scene, who), guardian_email=guardian_email)


# -- services -----------------------------------------------------------------------------

def test_a_course_asks_a_guardian_only_below_its_age(app_ctx, scene):
    course = _course(scene)
    with pytest.raises(errors.GuardianConsentRequired) as refused:
        _sign(scene, course, guardian_email=None)
    assert refused.value.code == "guardian_consent_required"
    with pytest.raises(errors.GuardianConsentRequired):  # their own address is no guardian
        _sign(scene, course, guardian_email="ola@example.no")
    assert guardians.consent_state(_sign(scene, course, who="adult", guardian_email=None)) \
        is None
    free = _course(scene, under=None, title="Åpent verksted")
    assert guardians.consent_state(_sign(scene, free, guardian_email=None)) is None
    assert "guardian_consent" not in _kinds()


def test_a_pending_seat_is_taken_but_confirmed_only_with_the_consent(app_ctx, scene):
    course = _course(scene, capacity=1)
    mine = _sign(scene, course)
    assert mine.status == SignupStatus.CONFIRMED and guardians.is_pending(mine)
    assert _kinds() == ["guardian_consent"]  # no confirmation (nor check-in code) yet
    [message] = _guardian_messages()
    assert message.to_email == "mor@example.no"
    assert "Laserkurs" in message.text_body
    [consent] = guardians.consents_of(_user(scene, "young"))
    assert consent.event_id == course.id and consent.equipment_id is None
    assert consent.expires_at == NOW + guardians.COURSE_CONSENT_WAIT  # well before the start
    other = _sign(scene, course, who="adult", guardian_email=None)
    assert other.status == SignupStatus.WAITLISTED  # the seat is held: no overbooking
    desk = _user(scene, "desk")
    with pytest.raises(AwaitingGuardian):
        check_in(mine.checkin_token, by=desk)
    with pytest.raises(event_errors.AwaitingGuardian):
        mark_attendance(mine, by=desk, early=True)
    guardians.give_consent(consent)
    assert guardians.consent_state(mine) == "given"
    assert _kinds()[-1] == "signup_confirmed"
    exported = export_personal_data(_user(scene, "young"))["guardian_consents"]
    assert [(c["event_id"], c["equipment_id"]) for c in exported] == [(course.id, None)]


def test_one_consent_covers_a_weekly_series(app_ctx, scene):
    dates = create_weekly_series(branch=db.session.get(Branch, scene["branch"].id),
                                 title="Lodding", first_day=date(2026, 12, 2),
                                 starts=time(17), ends=time(19), until=date(2026, 12, 16),
                                 capacity=4, guardian_consent_under=15)
    first, second = _sign(scene, dates[0]), _sign(scene, dates[1], guardian_email=None)
    [consent] = guardians.consents_of(_user(scene, "young"))
    assert consent.series_id == dates[0].series_id and consent.event_id is None
    assert consent.expires_at == dates[0].start_at  # the first date starts sooner than 3 days
    assert len(_guardian_messages()) == 1
    assert {s.id for s in guardians.covered_signups(consent)} == {first.id, second.id}
    guardians.give_consent(consent)
    third = _sign(scene, dates[2], guardian_email=None)  # given once for all the dates
    assert guardians.consent_state(third) == "given"
    assert _kinds().count("signup_confirmed") == 3
    assert guardians.consent_course(consent).id == dates[0].id


def test_withdrawing_frees_the_seat_for_the_waitlist(app_ctx, scene, frozen_clock):
    course = _course(scene, capacity=1)
    mine = _sign(scene, course)
    waiting = _sign(scene, course, who="adult", guardian_email=None)
    [consent] = guardians.consents_of(_user(scene, "young"))
    guardians.give_consent(consent)
    guardians.withdraw_consent(consent)
    assert mine.status == SignupStatus.CANCELLED
    assert guardians.consent_state(mine) == "withdrawn"
    db.session.refresh(waiting)
    assert waiting.status == SignupStatus.CONFIRMED  # promoted in the same transaction
    assert "signup_promoted" in _kinds()
    with pytest.raises(guardians.ConsentClosed):
        guardians.give_consent(consent)
    with pytest.raises(errors.GuardianConsentRequired):  # signing up again asks again
        _sign(scene, course, guardian_email=None)


def test_an_unanswered_request_expires_and_passes_the_seat_on(app_ctx, scene):
    course = _course(scene, capacity=1)
    mine = _sign(scene, course)
    waiting = _sign(scene, course, who="adult", guardian_email=None)
    deadline = NOW + guardians.COURSE_CONSENT_WAIT
    assert guardians.expire_consents(deadline - timedelta(minutes=1)) == 0
    assert guardians.expire_consents(deadline) == 1
    [consent] = guardians.consents_of(_user(scene, "young"))
    assert consent.status == ConsentStatus.EXPIRED
    assert mine.status == SignupStatus.CANCELLED
    db.session.refresh(waiting)
    assert waiting.status == SignupStatus.CONFIRMED
    assert event_counts([course])[course.id].confirmed == 1


def test_a_waitlisted_young_person_keeps_waiting_for_the_consent(app_ctx, scene):
    course = _course(scene, capacity=1)
    seat = _sign(scene, course, who="adult", guardian_email=None)
    mine = _sign(scene, course)
    assert mine.status == SignupStatus.WAITLISTED and guardians.is_pending(mine)
    assert "signup_waitlisted" in _kinds()  # a waitlist place has no code to hold back
    from makerspace.events.services import leave
    leave(seat, by=_user(scene, "adult"))
    assert mine.status == SignupStatus.CONFIRMED and guardians.is_pending(mine)
    assert "signup_promoted" not in _kinds()  # the seat's confirmation waits for the guardian
    [consent] = guardians.consents_of(_user(scene, "young"))
    guardians.give_consent(consent)
    assert _kinds()[-1] == "signup_confirmed"


def test_the_database_allows_one_live_consent_per_course_and_one_target(app_ctx, scene):
    course = _course(scene)
    _sign(scene, course)
    db.session.add(GuardianConsent(user_id=scene["young"].id, event_id=course.id,
                                   guardian_email="far@example.no", requested_at=NOW,
                                   expires_at=NOW + timedelta(days=1)))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.flush()
    db.session.rollback()
    db.session.add(GuardianConsent(user_id=scene["adult"].id, guardian_email="x@example.no",
                                   requested_at=NOW, expires_at=NOW + timedelta(days=1)))
    with pytest.raises(Exception, match="(?i)check"):
        db.session.flush()
    db.session.rollback()


# -- concurrency ------------------------------------------------------------------------------

@pytest.mark.commits
def test_10_young_people_at_once_get_3_seats_and_withdrawals_promote_once(app, open_branch,
                                                                         make_user):
    clock.freeze(NOW)
    branch = open_branch()
    with app.app_context():
        event = create_event(branch=db.session.get(Branch, branch.id), title="Kurs",
                             start=START, end=START + timedelta(hours=2), capacity=3,
                             guardian_consent_under=15)
        db.session.commit()
        event_id = event.id
    people = [make_user(birth_year=2013) for _ in range(10)]
    barrier = threading.Barrier(10)

    def join(index: int) -> str:
        with app.app_context():
            barrier.wait()
            signup = sign_up(event=db.session.get(Event, event_id),
                             user=db.session.get(User, people[index].id),
                             guardian_email=f"guardian{index}@example.no")
            db.session.commit()
            return signup.status.value

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(join, range(10)))
    assert statuses.count("confirmed") == 3 and statuses.count("waitlisted") == 7
    with app.app_context():
        seated = list(db.session.scalars(select(Signup.user_id).where(
            Signup.status == SignupStatus.CONFIRMED)))
        consents = list(db.session.scalars(select(GuardianConsent.id).where(
            GuardianConsent.user_id.in_(seated))))
        assert db.session.scalar(select(GuardianConsent.id).where(
            GuardianConsent.status != ConsentStatus.PENDING)) is None
        assert len(list(db.session.scalars(select(GuardianConsent)))) == 10
    adults = [make_user(birth_year=1990) for _ in range(3)]
    gate = threading.Barrier(6)

    def withdraw_or_join(index: int) -> None:
        with app.app_context():
            gate.wait()
            if index < 3:  # three guardians withdraw while three adults sign up
                guardians.withdraw_consent(db.session.get(GuardianConsent, consents[index]))
            else:
                sign_up(event=db.session.get(Event, event_id),
                        user=db.session.get(User, adults[index - 3].id))
            db.session.commit()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(withdraw_or_join, range(6)))
    with app.app_context():
        counts = event_counts([db.session.get(Event, event_id)])[event_id]
        # Each freed seat went to the waitlist in the withdrawal's own transaction, so the
        # adults queue behind: never more than 3 seats taken.
        assert (counts.confirmed, counts.waitlisted) == (3, 7)
        assert db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.kind == "signup_confirmed")) is None  # nobody consented yet


# -- HTTP -----------------------------------------------------------------------------------

def test_api_sign_up_consent_and_event_fields(client, app, scene):
    made = client.post("/api/v1/branches/hoved/events", headers=bearer(scene["desk_token"]),
                       json={"title": "Laserkurs", "start": "2026-12-09T17:00",
                             "end": "2026-12-09T19:00", "capacity": 1,
                             "guardian_consent_under": 15})
    assert made.status_code == 201 and made.get_json()["guardian_consent_under"] == 15
    event_id = made.get_json()["id"]
    url = f"/api/v1/events/{event_id}/signups"
    body = assert_problem(client.post(url, headers=bearer(scene["young_token"]), json={}),
                          422, "guardian_consent_required")
    assert body["field"] == "guardian_email"
    created = client.post(url, headers=bearer(scene["young_token"]),
                          json={"guardian_email": "mor@example.no"})
    assert created.status_code == 201
    answer = created.get_json()
    matches(answer, "Signup")
    assert (answer["status"], answer["guardian_consent"]) == ("pending_consent", "pending")
    adult = client.post(url, headers=bearer(scene["adult_token"]), json={}).get_json()
    assert (adult["status"], adult["guardian_consent"]) == ("waitlisted", None)
    path = _guardian_path(app)
    page = client.get(path)
    assert page.status_code == 200 and "Laserkurs" in page.text
    with app.app_context():
        consent_id = db.session.scalar(select(GuardianConsent.id))
    done = client.post(f"{path}/{consent_id}/consent", data={"csrf_token": _csrf(page.text)})
    assert done.status_code == 302
    mine = client.get("/api/v1/me/signups", headers=bearer(scene["young_token"])).get_json()
    assert [(s["status"], s["guardian_consent"]) for s in mine] == [("confirmed", "given")]


def test_the_course_page_the_guardian_page_and_the_attendee_list(client, app, scene, login):
    with app.app_context():
        event_id = _course(scene, capacity=2).id
        db.session.commit()
    login(scene["young"])
    page = client.get(f"/events/{event_id}")
    assert 'name="guardian_email"' in page.text and 'id="guardian-rule"' in page.text
    refused = client.post(f"/events/{event_id}/signup", data={"csrf_token": _csrf(page.text)})
    assert refused.status_code == 302
    assert 'name="guardian_email"' in client.get(f"/events/{event_id}").text
    with app.app_context():
        assert db.session.scalar(select(Signup.id)) is None
    client.post(f"/events/{event_id}/signup",
                data={"csrf_token": _csrf(page.text), "guardian_email": "mor@example.no"})
    shown = client.get(f"/events/{event_id}")
    assert 'id="consent-pending"' in shown.text and 'id="signup-qr"' not in shown.text
    assert "signup-qr-link" not in client.get("/me/events").text
    login(scene["desk"])
    staff = client.get(f"/staff/events/{event_id}/attendees")
    assert staff.status_code == 200 and 'data-consent="pending"' in staff.text
    assert "mark-attended" not in staff.text  # nothing to mark before the consent

    path = _guardian_path(app)
    guardian = client.get(path)
    with app.app_context():
        consent_id = db.session.scalar(select(GuardianConsent.id))
    client.post(f"{path}/{consent_id}/consent", data={"csrf_token": _csrf(guardian.text)})
    assert 'data-consent="given"' in client.get(f"/staff/events/{event_id}/attendees").text
    guardian = client.get(path)
    assert f'id="withdraw-{consent_id}"' in guardian.text
    client.post(f"{path}/{consent_id}/withdraw", data={"csrf_token": _csrf(guardian.text)})
    assert 'data-status="withdrawn"' in client.get(path).text
    with app.app_context():
        assert db.session.scalar(select(Signup.status)) == SignupStatus.CANCELLED
    login(scene["young"])
    assert 'name="guardian_email"' in client.get(f"/events/{event_id}").text  # ask again


def test_staff_set_the_guardian_age_on_the_course_form(client, app, scene, login):
    with app.app_context():
        event_id = _course(scene, under=None).id
        db.session.commit()
    login(scene["desk"])
    form = client.get(f"/staff/events/{event_id}/edit")
    assert form.status_code == 200 and 'name="guardian_consent_under"' in form.text
