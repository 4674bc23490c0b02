"""Kits lent for days: the rules, the pool, the desk's scans, reminders and overdue notices,
privacy, the API and the pages (both databases)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.booking import errors as booking_errors
from makerspace.booking.models import Equipment
from makerspace.booking.services import create_booking
from makerspace.branches.hours import set_date_exception
from makerspace.branches.models import Branch
from makerspace.checkin import services as checkin
from makerspace.extensions import db
from makerspace.loans import errors
from makerspace.loans import services as loans
from makerspace.loans.models import Loan, LoanStatus, ReturnCondition
from makerspace.mail.models import OutboxMessage
from makerspace.privacy.services import delete_account, export_personal_data, sweep_retention
from tests.helpers import PASSWORD, bearer, without_csrf

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday 10:00 in Oslo
MON = date(2026, 12, 7)


def day(n: int) -> date:
    return MON + timedelta(days=n)


@pytest.fixture
def scene(app, open_branch, make_equipment, make_user):  # type: ignore[no-untyped-def]
    clock.freeze(NOW)
    branch = open_branch("hoved", name="Hovedbiblioteket")
    kit = make_equipment(branch, name="VR-sett", kind="kit", quantity=3, max_loan_days=7)
    printer = make_equipment(branch, name="Prusa MK4")
    people = [make_user(f"p{i}@example.no", name=f"Person {i}") for i in range(5)]
    librarian = make_user("bib@example.no", name="Bibliotekar", role=Role.LIBRARIAN,
                          branches=[branch])

    class Scene:
        pass

    s = Scene()
    s.branch, s.kit, s.printer, s.people, s.librarian = branch, kit, printer, people, librarian
    return s


def _get(model, obj):  # type: ignore[no-untyped-def]
    return db.session.get(model, obj.id)


def _loan(scene, person: int, first: int, last: int) -> Loan:  # type: ignore[no-untyped-def]
    return loans.create_loan(user=_get(User, scene.people[person]),
                             kit=_get(Equipment, scene.kit), pickup=day(first), back=day(last))


# -- the pool -----------------------------------------------------------------------------

def test_three_copies_are_lent_and_the_fourth_is_refused(app_ctx, scene):
    for person in range(3):
        _loan(scene, person, 1, 4)
    with pytest.raises(errors.NoCopiesLeft) as refused:
        _loan(scene, 3, 4, 6)  # the return day of the others counts as out
    assert refused.value.code == "no_copies_left" and refused.value.status == 409
    later = _loan(scene, 3, 5, 8)  # the day after they come back: free again
    assert later.status == LoanStatus.RESERVED and later.days == 3


def test_a_cancelled_loan_gives_its_copy_back(app_ctx, scene):
    made = [_loan(scene, p, 1, 2) for p in range(3)]
    loans.cancel_loan(made[0], by=_get(User, scene.people[0]))
    assert _loan(scene, 3, 1, 2).status == LoanStatus.RESERVED


def test_an_overdue_copy_stays_out_and_blocks_its_borrower(app_ctx, scene):
    first = _loan(scene, 0, 0, 2)
    loans.pick_up(first, by=_get(User, scene.librarian))
    clock.freeze(NOW + timedelta(days=3))  # Thursday: due back Wednesday
    with pytest.raises(errors.OverdueLoan) as refused:
        _loan(scene, 0, 4, 5)
    assert refused.value.code == "overdue_loan" and refused.value.extra["loan"] == first.id
    assert {d.day: d.free for d in loans.pickup_days(_get(Equipment, scene.kit))}[day(10)] == 2
    loans.return_loan(first, by=_get(User, scene.librarian))
    assert _loan(scene, 0, 4, 5).status == LoanStatus.RESERVED


@pytest.mark.parametrize(("first", "last", "code"), [
    (2, 2, "invalid_period"), (3, 1, "invalid_period"), (1, 9, "too_long"),
    (-1, 2, "in_past"), (20, 21, "too_far_ahead"),
])
def test_the_period_rules(app_ctx, scene, first, last, code):
    with pytest.raises(errors.LoanRefused) as refused:
        _loan(scene, 0, first, last)
    assert refused.value.code == code


def test_pick_up_and_return_days_must_be_open(app_ctx, scene):
    set_date_exception(_get(Branch, scene.branch), day(3), None, reason="Stengt")
    with pytest.raises(errors.LibraryClosed) as refused:
        _loan(scene, 0, 3, 5)
    assert refused.value.code == "library_closed"
    assert refused.value.extra["field"] == "pickup_date"
    with pytest.raises(errors.LibraryClosed) as refused:
        _loan(scene, 0, 1, 3)
    assert refused.value.extra["field"] == "return_date"
    assert _loan(scene, 0, 2, 4).days == 2  # closed in between: fine, it is at home


def test_only_kits_are_lent_and_kits_are_not_booked_by_the_slot(app_ctx, scene):
    with pytest.raises(errors.NotAKit):
        loans.kit_by_id(scene.printer.id)
    with pytest.raises(booking_errors.LentForDays):
        create_booking(user=_get(User, scene.people[0]), equipment=_get(Equipment, scene.kit),
                       start=NOW + timedelta(hours=2), end=NOW + timedelta(hours=3))


def test_availability_shows_the_free_days_and_how_long(app_ctx, scene):
    set_date_exception(_get(Branch, scene.branch), day(6), None)
    for person in range(3):
        _loan(scene, person, 2, 4)
    found = {d.day: d for d in loans.pickup_days(_get(Equipment, scene.kit))}
    assert found[day(0)].free == 3 and found[day(0)].longest_days == 1  # day 2 is full
    assert found[day(2)].free == 0 and not found[day(2)].can_pick_up
    assert found[day(5)].longest_days == 7 and found[day(5)].latest_return == day(12)
    assert not found[day(6)].open and not found[day(6)].can_pick_up
    assert found[day(1)].latest_return == day(1 + 0) or found[day(1)].longest_days == 0
    assert len(found) == _get(Equipment, scene.kit).max_advance_days + 1


# -- at the desk --------------------------------------------------------------------------

def test_the_scan_station_hands_over_and_takes_back(app_ctx, scene):
    loan = _loan(scene, 0, 0, 3)
    librarian, branch = _get(User, scene.librarian), _get(Branch, scene.branch)
    first = checkin.check_in(loan.checkin_token, by=librarian, branch=branch)
    assert (first.kind, first.result) == ("loan", "picked_up")
    assert loan.status == LoanStatus.PICKED_UP and loan.picked_up_by_id == librarian.id
    again = checkin.check_in(f"https://x.no/c/{loan.checkin_token}", by=librarian,
                             branch=branch)
    assert again.result == "return_ready" and loan.status == LoanStatus.PICKED_UP
    with pytest.raises(errors.InvalidCondition):
        checkin.return_scanned(loan.checkin_token, by=librarian, branch=branch,
                               condition="damaged", note=" ")
    back = checkin.return_scanned(loan.checkin_token, by=librarian, branch=branch,
                                  condition="parts_missing", note="Mangler  én kontroller")
    assert back.result == "returned"
    assert loan.condition == ReturnCondition.PARTS_MISSING
    assert loan.return_note == "Mangler én kontroller"
    with pytest.raises(errors.AlreadyReturned):
        checkin.check_in(loan.checkin_token, by=librarian, branch=branch)


def test_a_loan_is_picked_up_on_its_day_at_its_library(app_ctx, scene, open_branch,
                                                       make_user):
    loan = _loan(scene, 0, 1, 3)
    librarian = _get(User, scene.librarian)
    with pytest.raises(errors.PickupNotYet):
        checkin.check_in(loan.checkin_token, by=librarian, branch=_get(Branch, scene.branch))
    other = open_branch("steinkjer")
    elsewhere = make_user("st@example.no", role=Role.LIBRARIAN, branches=[other])
    with pytest.raises(checkin.WrongBranch):
        checkin.check_in(loan.checkin_token, by=_get(User, elsewhere),
                         branch=_get(Branch, other))
    clock.freeze(NOW + timedelta(days=2))
    with pytest.raises(errors.PickupMissed):
        checkin.check_in(loan.checkin_token, by=librarian)


def test_desk_lists(app_ctx, scene):
    today = _loan(scene, 0, 0, 2)
    out = _loan(scene, 1, 0, 1)
    loans.pick_up(out, by=_get(User, scene.librarian))
    clock.freeze(NOW + timedelta(days=1))
    late = loans.desk_lists(_get(Branch, scene.branch))
    assert late.returns == [out] and late.overdue == [] and late.pickups == []
    clock.freeze(NOW + timedelta(days=2))
    lists = loans.desk_lists(_get(Branch, scene.branch))
    assert lists.overdue == [out]
    assert today.status == LoanStatus.RESERVED  # not swept yet


# -- reminders and notices ----------------------------------------------------------------

def _mail(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_confirmation_reminder_and_overdue_notice_go_through_the_outbox(app_ctx, scene):
    loan = _loan(scene, 0, 0, 2)
    [confirmation] = _mail("loan_confirmed")
    assert confirmation.to_email == "p0@example.no"
    assert [a.filename for a in confirmation.attachments] == ["checkin-qr.png"]
    loans.pick_up(loan, by=_get(User, scene.librarian))
    assert loans.sweep_loans().reminded == []
    clock.freeze(NOW + timedelta(days=1))
    assert loans.sweep_loans().reminded == [loan]
    assert loans.sweep_loans().reminded == []  # once
    assert len(_mail("loan_return_due")) == 1
    clock.freeze(NOW + timedelta(days=3))
    assert loans.sweep_loans().overdue == [loan]
    loans.sweep_loans()
    [notice] = _mail("loan_overdue")
    assert "VR-sett" in notice.subject


def test_a_loan_nobody_picks_up_goes_back_to_the_pool(app_ctx, scene):
    made = [_loan(scene, p, 0, 3) for p in range(3)]
    clock.freeze(NOW + timedelta(days=1))
    assert loans.sweep_loans().missed == made
    assert all(m.status == LoanStatus.NOT_PICKED_UP for m in made)
    assert _loan(scene, 3, 1, 3).status == LoanStatus.RESERVED


def test_the_tick_runs_the_loan_sweep(app_ctx, scene, runner):
    _loan(scene, 0, 0, 1)
    db.session.commit()
    clock.freeze(NOW + timedelta(days=1))
    result = runner.invoke(args=["tick"])
    assert "loans: 0 reminder(s), 0 overdue notice(s), 1 not picked up." in result.output


# -- privacy ------------------------------------------------------------------------------

def test_loans_are_exported_deleted_and_anonymised(app_ctx, scene):
    person = _get(User, scene.people[0])
    reserved = _loan(scene, 0, 3, 4)
    done = _loan(scene, 0, 0, 1)
    loans.pick_up(done, by=_get(User, scene.librarian))
    loans.return_loan(done, by=_get(User, scene.librarian), condition="damaged",
                      note="Sprukket linse")
    exported = export_personal_data(person)["loans"]
    assert [(r["kit"], r["status"]) for r in exported] == [("VR-sett", "returned"),
                                                          ("VR-sett", "reserved")]
    assert exported[0]["return_note"] == "Sprukket linse"
    staff_view = export_personal_data(_get(User, scene.librarian))["loans"]
    assert staff_view[0]["you_are"] == ["handed_over_by", "taken_back_by"]
    assert "return_note" not in staff_view[0]
    clock.freeze(NOW + timedelta(days=93))  # 90 days after the first's return day, + 2
    assert sweep_retention().loans == 1
    db.session.expire_all()
    assert done.user_id is None and done.return_note == ""
    assert done.checkin_token.startswith("anon-")
    assert reserved.user_id == person.id  # not past its retention time yet
    delete_account(person, password=PASSWORD)
    db.session.expire_all()
    assert reserved.user_id is None and reserved.status == LoanStatus.CANCELLED


def test_a_kit_still_out_keeps_its_borrower_through_the_retention_sweep(app_ctx, scene):
    out = _loan(scene, 0, 0, 1)
    loans.pick_up(out, by=_get(User, scene.librarian))
    clock.freeze(NOW + timedelta(days=200))
    sweep_retention()
    db.session.expire_all()
    assert out.user_id == scene.people[0].id


# -- the API ------------------------------------------------------------------------------

def test_the_api_lends_and_refuses_with_no_copies_left(client, scene, make_token):
    tokens = [make_token(p) for p in scene.people[:4]]
    machine = client.get(f"/api/v1/equipment/{scene.kit.id}").get_json()
    assert (machine["kind"], machine["quantity"], machine["max_loan_days"]) == ("kit", 3, 7)
    body = {"equipment_id": scene.kit.id, "pickup_date": day(1).isoformat(),
            "return_date": day(3).isoformat()}
    made = [client.post("/api/v1/loans", json=body, headers=bearer(t)) for t in tokens]
    assert [r.status_code for r in made] == [201, 201, 201, 409]
    assert made[3].get_json()["code"] == "no_copies_left"
    first = made[0].get_json()
    assert (first["pickup_date"], first["return_date"], first["status"]) == (
        "2026-12-08", "2026-12-10", "reserved")
    assert re.search(r"/c/[A-Z2-7]{32}$", first["checkin_url"], re.IGNORECASE)
    mine = client.get("/api/v1/me/loans", headers=bearer(tokens[0])).get_json()
    assert [m["id"] for m in mine] == [first["id"]]
    assert client.get(f"/api/v1/loans/{first['id']}", headers=bearer(tokens[1])
                      ).status_code == 404
    cancelled = client.delete(f"/api/v1/loans/{first['id']}", headers=bearer(tokens[0]))
    assert cancelled.get_json()["status"] == "cancelled"
    days = client.get(f"/api/v1/equipment/{scene.kit.id}/loan-availability").get_json()
    assert days["quantity"] == 3
    assert [d["free"] for d in days["days"][:4]] == [3, 1, 1, 1]
    assert client.get(f"/api/v1/equipment/{scene.printer.id}/loan-availability"
                      ).get_json()["code"] == "not_a_kit"


def test_the_api_refusals_have_codes(client, scene, make_token):
    token = make_token(scene.people[0])
    sent = client.post("/api/v1/loans", headers=bearer(token), json={
        "equipment_id": scene.kit.id, "pickup_date": day(1).isoformat(),
        "return_date": day(12).isoformat()})
    assert (sent.status_code, sent.get_json()["code"]) == (422, "too_long")
    sent = client.post("/api/v1/loans", headers=bearer(token), json={
        "equipment_id": scene.kit.id, "pickup_date": "2026-13-01", "return_date": "x"})
    assert (sent.status_code, sent.get_json()["code"]) == (422, "invalid_input")
    sent = client.post("/api/v1/loans", headers=bearer(token), json={
        "equipment_id": scene.printer.id, "pickup_date": day(1).isoformat(),
        "return_date": day(2).isoformat()})
    assert sent.get_json()["code"] == "not_a_kit"
    slot = client.post("/api/v1/bookings", headers=bearer(token), json={
        "equipment_id": scene.kit.id, "start": "2026-12-08T10:00:00+01:00",
        "end": "2026-12-08T11:00:00+01:00"})
    assert slot.get_json()["code"] == "lent_for_days"


def test_the_api_scan_hands_over_and_takes_back(client, app, scene, make_token):
    with app.app_context():
        code = _loan(scene, 0, 0, 2).checkin_token
        db.session.commit()
    staff = bearer(make_token(scene.librarian))
    first = client.post("/api/v1/checkins", json={"code": code}, headers=staff).get_json()
    assert (first["kind"], first["result"], first["what"]) == ("loan", "picked_up", "VR-sett")
    refused = client.post("/api/v1/checkins", json={"code": code, "condition": "damaged"},
                          headers=staff)
    assert refused.status_code == 422
    back = client.post("/api/v1/checkins", json={"code": code, "condition": "damaged",
                                                 "note": "Ripe i glasset"}, headers=staff)
    assert back.get_json()["result"] == "returned"
    again = client.post("/api/v1/checkins", json={"code": code}, headers=staff)
    assert (again.status_code, again.get_json()["code"]) == (409, "already_returned")


# -- the pages ----------------------------------------------------------------------------

def test_a_citizen_borrows_sees_the_code_and_cancels(client, scene, login):
    login(scene.people[0])
    assert client.get(f"/equipment/{scene.kit.id}").headers["Location"].endswith(
        f"/kits/{scene.kit.id}")
    page = client.get(f"/kits/{scene.kit.id}")
    assert page.status_code == 200 and b'id="loan-days"' in page.data
    form = client.get(f"/kits/{scene.kit.id}/loan")
    assert b'name="pickup_date"' in form.data
    sent = client.post(f"/kits/{scene.kit.id}/loan", data={
        "pickup_date": day(1).isoformat(), "return_date": day(4).isoformat()})
    assert sent.status_code == 302
    shown = client.get(sent.headers["Location"])
    loan_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    assert f"/loans/{loan_id}/qr.svg".encode() in shown.data
    assert b'data-status="reserved"' in shown.data and b'id="cancel-button"' in shown.data
    assert client.get(f"/loans/{loan_id}/qr.png").mimetype == "image/png"
    assert f"/loans/{loan_id}".encode() in client.get("/me/loans").data
    assert client.post(f"/loans/{loan_id}/cancel").status_code == 302
    assert b'data-status="cancelled"' in client.get(f"/loans/{loan_id}").data


def test_a_refused_loan_says_why(client, scene, login):
    login(scene.people[0])
    sent = client.post(f"/kits/{scene.kit.id}/loan", data={
        "pickup_date": day(1).isoformat(), "return_date": day(1).isoformat()})
    assert sent.status_code == 422 and b'data-code="invalid_period"' in sent.data
    sent = client.post(f"/kits/{scene.kit.id}/loan", data={"pickup_date": "nonsense"})
    assert sent.status_code == 422


def test_others_see_no_loan(client, scene, login, app):
    with app.app_context():
        loan_id = _loan(scene, 0, 1, 2).id
        db.session.commit()
    login(scene.people[1])
    assert client.get(f"/loans/{loan_id}").status_code == 404
    assert client.post(f"/loans/{loan_id}/cancel").status_code == 404
    assert client.get(f"/loans/{loan_id}/qr.svg").status_code == 404
    assert client.get("/staff/hoved/loans").status_code in (403, 404)


def test_the_scan_station_page_and_the_desk_list(client, scene, login, app):
    with app.app_context():
        loan = _loan(scene, 0, 0, 2)
        code, loan_id = loan.checkin_token, loan.id
        db.session.commit()
    login(scene.librarian)
    desk = client.get("/staff/hoved/loans")
    assert desk.status_code == 200 and f'data-loan="{loan_id}"'.encode() in desk.data
    handed = client.post("/staff/hoved/scan", data={"code": code})
    assert b'data-result="picked_up"' in handed.data
    ready = client.post("/staff/hoved/scan", data={"code": code})
    assert b'data-result="return_ready"' in ready.data and b'id="return-form"' in ready.data
    missing = client.post("/staff/hoved/scan/return", data={"code": code,
                                                            "condition": "damaged"})
    assert missing.status_code == 422 and b'id="return-form"' in missing.data
    back = client.post("/staff/hoved/scan/return", data={
        "code": code, "condition": "parts_missing", "note": "Mangler lader"})
    assert back.status_code == 200 and b'data-result="returned"' in back.data
    with app.app_context():
        stored = db.session.get(Loan, loan_id)
        assert (stored.status, stored.return_note) == (LoanStatus.RETURNED, "Mangler lader")
    assert b"Mangler lader" in client.get(f"/loans/{loan_id}").data
    opened = client.get(f"/C/{code}")  # a phone's camera on the loan's QR code
    assert opened.status_code == 302 and opened.headers["Location"].endswith(
        f"/loans/{loan_id}")


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_loan_forms_need_their_csrf_token(client, scene, login, app):
    with app.app_context():
        loan = _loan(scene, 0, 0, 2)
        code, loan_id = loan.checkin_token, loan.id
        db.session.commit()
    login(scene.people[0])
    assert client.post(f"/kits/{scene.kit.id}/loan", data={
        "pickup_date": day(1).isoformat(), "return_date": day(2).isoformat()}
    ).status_code in (400, 422)
    client.post(f"/loans/{loan_id}/cancel")
    login(scene.librarian)
    assert client.post("/staff/hoved/scan/return", data={
        "code": code, "condition": "complete"}).status_code in (400, 422)
    with app.app_context():
        assert db.session.get(Loan, loan_id).status == LoanStatus.RESERVED
        assert db.session.scalar(select(Loan).where(Loan.pickup_date == day(1))) is None
    assert without_csrf  # the helper exists for pages that print the token


# -- who may borrow: the same rules as who may book ----------------------------------------

def test_the_person_rules_of_borrowing_are_bookings_own(app_ctx, scene):
    """Address, block, card and age refuse a loan with the codes (and the words, but for
    «borrow» and «kit») that refuse a booking; an overdue loan comes after the address."""
    from flask_babel import force_locale

    from makerspace.booking.models import BookingBlock
    from makerspace.identity.models import Identity, IdentityKind

    person = _get(User, scene.people[0])
    kit, printer = _get(Equipment, scene.kit), _get(Equipment, scene.printer)
    kit.min_age = printer.min_age = 15
    start = NOW + timedelta(days=1, hours=1)

    def refusals():  # type: ignore[no-untyped-def]
        found = []
        for attempt in (lambda: _loan(scene, 0, 1, 2),
                        lambda: create_booking(user=person, equipment=printer, start=start,
                                               end=start + timedelta(hours=1))):
            with pytest.raises(booking_errors.BookingRefused) as refused, force_locale("en"):
                attempt()
            found.append((refused.value.code, str(refused.value.message)))
        return found

    person.email_verified_at = None
    assert [code for code, _ in refusals()] == ["email_not_verified"] * 2
    person.email_verified_at = NOW
    block = BookingBlock(user_id=person.id, starts_at=NOW - timedelta(days=1),
                         ends_at=NOW + timedelta(days=5), reason="Tre uteblivelser")
    db.session.add(block)
    db.session.flush()
    [(loan_code, loan_words), (booking_code, booking_words)] = refusals()
    assert loan_code == booking_code == "blocked"
    assert loan_words == booking_words and "Tre uteblivelser" in loan_words
    block.lifted_at = NOW
    card = Identity(user_id=person.id, kind=IdentityKind.CARD, provider="card",
                    issuer="sip2:test", subject="x" * 64, blocked_message="Ubetalt gebyr")
    db.session.add(card)
    db.session.flush()
    assert refusals() == [
        ("card_blocked", "Your library card is blocked, so you cannot borrow either: "
                         "Ubetalt gebyr"),
        ("card_blocked", "Your library card is blocked, so you cannot book either: "
                         "Ubetalt gebyr")]
    db.session.delete(card)
    person.birth_year = 2015  # turns 11 in 2026
    db.session.flush()
    assert refusals() == [
        ("too_young", "This kit is for people who turn 15 this year or are older."),
        ("too_young", "This machine is for people who turn 15 this year or are older.")]
    person.birth_year = 2011  # turns 15 this year: may do both
    assert _loan(scene, 0, 1, 2).status == LoanStatus.RESERVED
