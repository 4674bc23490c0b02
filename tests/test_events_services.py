"""Events: capacity, waitlists that promote themselves, series, attendance and certification."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.booking import errors as booking_errors
from makerspace.booking.services import create_booking, create_equipment
from makerspace.branches.hours import set_date_exception
from makerspace.branches.models import Branch
from makerspace.certifications.models import UserCertification
from makerspace.certifications.services import create_certification
from makerspace.events import errors
from makerspace.events.models import Event, EventStatus, Signup, SignupStatus
from makerspace.events.services import (
    cancel_event,
    create_event,
    create_weekly_series,
    event_counts,
    leave,
    mark_attendance,
    sign_up,
    upcoming_events_granting,
    update_event,
    waitlist_position,
)
from makerspace.extensions import db

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # Wednesday 17:00 in Oslo


@pytest.fixture
def course(app_ctx, frozen_clock, open_branch):
    frozen_clock.set(NOW)
    branch = db.session.get(Branch, open_branch("hoved").id)
    event = create_event(branch=branch, title="Laserkutter – grunnkurs", start=START,
                         end=START + timedelta(hours=2), capacity=2)
    db.session.commit()
    return event


def test_seats_then_waitlist_then_promotion(course, make_user):
    people = [db.session.get(User, make_user().id) for _ in range(4)]
    signups = [sign_up(event=course, user=p) for p in people]
    db.session.commit()
    assert [s.status for s in signups] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [waitlist_position(s) for s in signups] == [None, None, 1, 2]
    promoted = leave(signups[0], by=people[0])
    db.session.commit()
    assert [p.id for p in promoted] == [signups[2].id]
    assert signups[2].status == SignupStatus.CONFIRMED
    assert waitlist_position(signups[3]) == 1
    counts = event_counts([course])[course.id]
    assert (counts.confirmed, counts.waitlisted) == (2, 1)


def test_a_person_signs_up_once_but_may_come_back(course, make_user):
    person = db.session.get(User, make_user().id)
    first = sign_up(event=course, user=person)
    db.session.commit()
    with pytest.raises(errors.AlreadySignedUp):
        sign_up(event=course, user=person)
    leave(first, by=person)
    db.session.commit()
    assert sign_up(event=course, user=person).status == SignupStatus.CONFIRMED


def test_signup_window_age_certification_and_cancelled(course, make_user, frozen_clock):
    person = db.session.get(User, make_user(birth_year=2015).id)
    course.min_age = 13
    with pytest.raises(errors.EventTooYoung):
        sign_up(event=course, user=person)
    course.min_age = None
    needed = create_certification(slug="grunnkurs", name="Grunnkurs")
    course.requires_certification = needed
    with pytest.raises(errors.EventNotCertified):
        sign_up(event=course, user=person)
    course.requires_certification = None
    course.signup_opens_at = NOW + timedelta(days=1)
    with pytest.raises(errors.SignupClosed):
        sign_up(event=course, user=person)
    course.signup_opens_at = None
    db.session.commit()
    frozen_clock.set(START)
    with pytest.raises(errors.SignupClosed):
        sign_up(event=course, user=person)
    frozen_clock.set(NOW)
    cancel_event(course, reason="Instruktøren er syk")
    db.session.commit()
    assert course.status == EventStatus.CANCELLED and course.sequence == 1
    with pytest.raises(errors.EventCancelled):
        sign_up(event=course, user=person)


def test_raising_capacity_promotes_and_lowering_below_seats_is_refused(course, make_user):
    people = [db.session.get(User, make_user().id) for _ in range(4)]
    for person in people:
        sign_up(event=course, user=person)
    db.session.commit()
    update_event(course, capacity=3)
    db.session.commit()
    assert event_counts([course])[course.id].confirmed == 3
    with pytest.raises(errors.InvalidEvent):
        update_event(course, capacity=1)
    db.session.rollback()


def test_weekly_series_skips_closed_days(app_ctx, open_branch):
    branch = db.session.get(Branch, open_branch().id)
    set_date_exception(branch, date(2026, 12, 15), None, reason="Stengt")
    events = create_weekly_series(branch=branch, title="Åpent verksted", first_day=date(2026, 12,
                                  1), starts=time(17), ends=time(19), until=date(2026, 12, 29),
                                  capacity=8)
    db.session.commit()
    days = [e.start_at.date() for e in events]
    assert date(2026, 12, 15) not in days and len(days) == 4
    assert all(e.start_at.hour == 16 for e in events)  # 17:00 Oslo in winter
    assert events[0].series.rule.startswith("RRULE:FREQ=WEEKLY")
    update_event(events[1], title="Juleverksted")
    db.session.commit()
    assert [e.title for e in events[:3]] == ["Åpent verksted", "Juleverksted", "Åpent verksted"]


def test_attendance_grants_certification_and_unlocks_the_laser(course, make_user,
                                                               frozen_clock):
    branch = course.branch
    laser_course = create_certification(slug="laser", name="Laserkurs", valid_months=24)
    course.grants_certification = laser_course
    laser = create_equipment(branch, name="Laser", kind="laser-cutter",
                             requires_certification=laser_course)
    db.session.commit()
    citizen = db.session.get(User, make_user().id)
    librarian = db.session.get(User, make_user(role=Role.LIBRARIAN, branches=[branch]).id)
    stranger = db.session.get(User, make_user(role=Role.LIBRARIAN).id)
    slot = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    with pytest.raises(booking_errors.NotCertified):
        create_booking(user=citizen, equipment=laser, start=slot, end=slot + timedelta(hours=1))
    assert upcoming_events_granting(laser_course, NOW) == [course]
    signup = sign_up(event=course, user=citizen)
    db.session.commit()
    with pytest.raises(errors.AttendanceTooEarly):
        mark_attendance(signup, by=librarian)
    frozen_clock.set(START - timedelta(minutes=10))
    with pytest.raises(errors.SignupNotFound):
        mark_attendance(signup, by=stranger)
    mark_attendance(signup, by=librarian)
    mark_attendance(signup, by=librarian)  # twice is harmless
    db.session.commit()
    held = db.session.scalar(select(UserCertification))
    assert held.expires_at.year == 2028 and held.granted_by_id == librarian.id
    assert create_booking(user=citizen, equipment=laser, start=slot,
                          end=slot + timedelta(hours=1)).id


@pytest.mark.commits
def test_20_concurrent_signups_for_5_seats(app, open_branch, make_user):
    clock.freeze(NOW)
    branch = open_branch()
    with app.app_context():
        event = create_event(branch=db.session.get(Branch, branch.id), title="Kurs",
                             start=START, end=START + timedelta(hours=2), capacity=5)
        db.session.commit()
        event_id = event.id
    people = [make_user() for _ in range(20)]
    barrier = threading.Barrier(20)

    def attempt(index: int) -> str:
        with app.app_context():
            barrier.wait()
            signup = sign_up(event=db.session.get(Event, event_id),
                             user=db.session.get(User, people[index].id))
            db.session.commit()
            return signup.status.value

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(20)))
    assert statuses.count("confirmed") == 5 and statuses.count("waitlisted") == 15
    with app.app_context():
        waitlisted = db.session.scalars(select(Signup).where(
            Signup.status == SignupStatus.WAITLISTED)).all()
        assert sorted(waitlist_position(s) for s in waitlisted) == list(range(1, 16))


@pytest.mark.commits
def test_concurrent_leaving_promotes_each_waitlisted_once(app, open_branch, make_user):
    clock.freeze(NOW)
    branch = open_branch()
    people = [make_user() for _ in range(10)]
    with app.app_context():
        event = create_event(branch=db.session.get(Branch, branch.id), title="Kurs",
                             start=START, end=START + timedelta(hours=2), capacity=5)
        signups = [sign_up(event=event, user=db.session.get(User, p.id)).id for p in people]
        db.session.commit()
        event_id = event.id
    barrier = threading.Barrier(5)

    def leave_seat(index: int) -> None:
        with app.app_context():
            barrier.wait()
            signup = db.session.get(Signup, signups[index])
            leave(signup, by=db.session.get(User, people[index].id))
            db.session.commit()

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(leave_seat, range(5)))
    with app.app_context():
        counts = event_counts([db.session.get(Event, event_id)])[event_id]
        assert (counts.confirmed, counts.waitlisted) == (5, 0)
