"""Check-in at service level: the scan rules, every refusal, the no-show sweep and blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from makerspace.accounts.models import Role, User
from makerspace.booking import errors as booking_errors
from makerspace.booking.models import Booking, BookingBlock, BookingStatus, Equipment
from makerspace.booking.services import create_booking
from makerspace.branches.models import Branch
from makerspace.certifications.services import create_certification, holds_certification
from makerspace.checkin import services
from makerspace.checkin.codes import new_checkin_token, token_from_scan, typed_code
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.events.models import Signup, SignupStatus
from makerspace.events.services import cancel_event, create_event, sign_up
from makerspace.extensions import db
from makerspace.mail.models import OutboxMessage

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Oslo
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Oslo: check-in 09:45–10:15
BASE_URL = "http://127.0.0.1:5000"


@pytest.fixture(name="world")
def world_fixture(frozen_clock, open_branch, make_equipment, make_user, make_booking):
    """Two branches; a citizen's booking at 10:00 (Oslo) at the first; staff of each; an admin."""
    frozen_clock.set(NOW)
    branch = open_branch("hoved", name="Hovedbiblioteket")
    other = open_branch("annen", name="Annet bibliotek")
    printer = make_equipment(branch, name="Prusa MK4")
    laser = make_equipment(other, name="Glowforge")
    # Pages in English for these tests (translations are checked elsewhere).
    citizen = make_user("kari@example.no", name="Kari Nordmann", locale="en")
    neighbour = make_user("ola@example.no", name="Ola Nordmann", locale="en")
    librarian = make_user("lib@example.no", name="Lena Bibliotekar", role=Role.LIBRARIAN,
                          branches=[branch], locale="en")
    outsider = make_user("annen@example.no", role=Role.LIBRARIAN, branches=[other],
                         locale="en")
    admin = make_user("admin@example.no", role=Role.ADMIN, locale="en")
    booking = make_booking(printer, citizen, START, minutes=120)
    return SimpleNamespace(branch=branch, other=other, printer=printer, laser=laser,
                           citizen=citizen, neighbour=neighbour, librarian=librarian,
                           outsider=outsider, admin=admin, booking=booking, clock=frozen_clock)


def url(token: str) -> str:
    return f"{BASE_URL}/c/{token}"


def get(model, obj):  # type: ignore[no-untyped-def]
    return db.session.get(model, obj.id)


def audit(action: AuditAction) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def scan(world, text: str, *, by=None, branch=None):  # type: ignore[no-untyped-def]
    by = get(User, by or world.librarian)
    return services.check_in(text, by=by, branch=get(Branch, branch or world.branch))


def oslo(hour: int, minute: int = 0, second: int = 0, day: int = 30) -> datetime:
    return datetime(2026, 11, day, hour - 1, minute, second, tzinfo=UTC)


# -- checking in --------------------------------------------------------------------------

def test_check_in_within_the_window_is_recorded(app_ctx, world):
    world.clock.set(oslo(9, 50))
    booking = get(Booking, world.booking)
    result = scan(world, url(booking.checkin_token))
    db.session.commit()
    assert result.result == "checked_in" and not result.already
    assert result.as_dict() == {
        "result": "checked_in", "kind": "booking", "id": booking.id, "name": "Kari Nordmann",
        "what": "Prusa MK4", "start": START.isoformat(),
        "end": (START + timedelta(hours=2)).isoformat(),
        "checked_in_at": oslo(9, 50).isoformat()}
    db.session.refresh(booking)
    assert booking.status == BookingStatus.CHECKED_IN
    assert booking.checked_in_at == oslo(9, 50)
    assert booking.checked_in_by_id == world.librarian.id
    [entry] = audit(AuditAction.CHECKED_IN)
    assert (entry.actor_id, entry.subject_user_id, entry.booking_id) == (
        world.librarian.id, world.citizen.id, booking.id)
    assert entry.at == oslo(9, 50)


def test_scanning_twice_is_harmless(app_ctx, world):
    world.clock.set(oslo(9, 58))
    token = get(Booking, world.booking).checkin_token
    scan(world, url(token))
    db.session.commit()
    world.clock.set(oslo(10, 20))  # even after the window has closed
    again = scan(world, token)
    db.session.commit()
    assert again.result == "already_checked_in" and again.already
    assert again.checked_in_at == oslo(9, 58)
    assert len(audit(AuditAction.CHECKED_IN)) == 1


def test_a_repeated_scan_is_one_read_and_says_what_the_first_said(app_ctx, world):
    """A checked-in booking's scan is answered from one row (no objects loaded, nothing
    locked), with the same answer the scan that checked it in gave."""
    world.clock.set(oslo(9, 52))
    token = get(Booking, world.booking).checkin_token
    first = scan(world, url(token)).as_dict()
    db.session.commit()
    librarian_id, branch_id = world.librarian.id, world.branch.id
    db.session.remove()  # nothing left in the session from the first scan
    by, here = db.session.get(User, librarian_id), db.session.get(Branch, branch_id)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_rest):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        again = services.check_in(token, by=by, branch=here)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "FROM bookings" in s]) == 1
    assert not any("FOR UPDATE" in s for s in statements)
    assert again.as_dict() == {**first, "result": "already_checked_in"}
    assert not any(isinstance(o, Booking) for o in db.session.identity_map.values())
    # A guest's booking is named by the guest's name; an anonymised one by nothing.
    booking = db.session.get(Booking, again.subject.id)
    booking.user_id, booking.guest_name = None, "Gjest Gjestesen"
    db.session.commit()
    assert services.check_in(token, by=by, branch=here).as_dict()["name"] == "Gjest Gjestesen"
    booking.guest_name = None
    db.session.commit()
    assert services.check_in(token, by=by, branch=here).as_dict()["name"] == ""


def test_a_settled_booking_scanned_elsewhere_or_cancelled_is_refused(app_ctx, world):
    world.clock.set(oslo(9, 52))
    token = get(Booking, world.booking).checkin_token
    scan(world, token)
    db.session.commit()
    with pytest.raises(services.WrongBranch) as caught:
        scan(world, token, by=world.outsider, branch=world.other)
    assert caught.value.extra == {"branch": "hoved"}
    assert "Hovedbiblioteket" in caught.value.message
    booking = get(Booking, world.booking)
    booking.status = BookingStatus.CANCELLED
    db.session.commit()
    with pytest.raises(services.CheckinCancelled):
        scan(world, token)


@pytest.mark.parametrize(("moment", "outcome"), [
    (oslo(9, 44, 59), "too_early"),
    (oslo(9, 45), "checked_in"),
    (oslo(10, 14, 59), "checked_in"),
    (oslo(10, 15), "too_late"),
    (oslo(11, 30), "too_late"),
])
def test_the_window_runs_from_15_minutes_before_to_15_after_the_start(app_ctx, world, moment,
                                                                      outcome):
    world.clock.set(moment)
    token = get(Booking, world.booking).checkin_token
    try:
        result = scan(world, token).result
    except services.CheckinRefused as refusal:
        result = refusal.code
    assert result == outcome


def test_too_early_says_when_it_opens(app_ctx, world):
    world.clock.set(oslo(9, 30))
    with pytest.raises(services.TooEarly) as caught:
        scan(world, get(Booking, world.booking).checkin_token)
    assert caught.value.status == 409
    assert "09:45" in str(caught.value.message)
    assert caught.value.extra["opens_at"] == oslo(9, 45).isoformat()
    assert get(Booking, world.booking).status == BookingStatus.CONFIRMED


def test_too_late_says_when_it_closed(app_ctx, world):
    world.clock.set(oslo(10, 40))
    with pytest.raises(services.TooLate) as caught:
        scan(world, get(Booking, world.booking).checkin_token)
    assert "10:15" in str(caught.value.message)
    assert caught.value.extra["closed_at"] == oslo(10, 15).isoformat()


def test_the_window_follows_the_branch_settings(app_ctx, world):
    branch = get(Branch, world.branch)
    branch.checkin_opens_minutes, branch.checkin_closes_minutes = 60, 5
    db.session.commit()
    world.clock.set(oslo(9, 1))
    assert scan(world, get(Booking, world.booking).checkin_token).result == "checked_in"
    other = Booking(equipment_id=world.printer.id, user_id=world.neighbour.id,
                    start_at=oslo(13), end_at=oslo(14), occupied_until=oslo(14))
    db.session.add(other)
    db.session.commit()
    world.clock.set(oslo(13, 5))
    with pytest.raises(services.TooLate):
        scan(world, other.checkin_token)


def test_a_cancelled_booking_is_refused(app_ctx, world):
    world.clock.set(oslo(9, 50))
    booking = get(Booking, world.booking)
    booking.status = BookingStatus.CANCELLED
    db.session.commit()
    with pytest.raises(services.CheckinCancelled) as caught:
        scan(world, booking.checkin_token)
    assert (caught.value.code, caught.value.status) == ("cancelled", 409)


def test_a_booking_already_marked_no_show_is_too_late(app_ctx, world):
    world.clock.set(oslo(10, 20))
    services.sweep_bookings()
    db.session.commit()
    with pytest.raises(services.TooLate):
        scan(world, get(Booking, world.booking).checkin_token)


def test_a_code_for_another_branch_is_refused_without_personal_data(app_ctx, world):
    world.clock.set(oslo(9, 50))
    token = get(Booking, world.booking).checkin_token
    # An admin manages both, but the station belongs to the other branch.
    with pytest.raises(services.WrongBranch) as caught:
        scan(world, token, by=world.admin, branch=world.other)
    assert (caught.value.code, caught.value.status) == ("wrong_branch", 403)
    assert "Hovedbiblioteket" in str(caught.value.message)
    assert "Kari" not in str(caught.value.message)
    # Without a station (API, /c/ page): a librarian only at their own branches.
    with pytest.raises(services.WrongBranch):
        services.check_in(token, by=get(User, world.outsider))
    assert services.check_in(token, by=get(User, world.admin)).result == "checked_in"


@pytest.mark.parametrize("kind", ["forged", "altered", "garbage", "empty", "lower-case junk"])
def test_unknown_altered_and_forged_codes_are_refused(app_ctx, world, kind):
    world.clock.set(oslo(9, 50))
    token = get(Booking, world.booking).checkin_token
    altered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    text = {"forged": url(new_checkin_token()), "altered": url(altered),
            "garbage": "http://127.0.0.1:5000/c/1234", "empty": "",
            "lower-case junk": "hello world"}[kind]
    with pytest.raises(services.InvalidCode) as caught:
        scan(world, text)
    assert (caught.value.code, caught.value.status) == ("invalid_code", 400)
    assert get(Booking, world.booking).status == BookingStatus.CONFIRMED


def test_another_bookings_code_checks_in_only_that_booking(app_ctx, world, make_booking):
    later = make_booking(world.printer, world.neighbour, oslo(14), minutes=60)
    world.clock.set(oslo(9, 50))
    with pytest.raises(services.TooEarly):
        scan(world, url(later.checkin_token))
    assert get(Booking, world.booking).status == BookingStatus.CONFIRMED


@pytest.mark.parametrize("typed", [
    "HTTP>&&127.0.0.1>5000&C&{token}",  # US layout on a Norwegian keyboard: / and : mangled
    "HTTP://127.0.0.1:5000/C/{token}\n",
    "  {lower}  ",
    "http;--127.0.0.1;5000-c-{lower}",
    "{token}",
    "{grouped}",  # typed by hand from the page or the e-mail: "ABCD EFGH …"
    " {grouped_lower} ",
    "{grouped_dashes}",
    "{look_alikes}",  # 0 for O, 1 for I, 8 for B: base32 has none of those digits
])
def test_whatever_the_scanner_typed_the_token_is_found(app_ctx, world, typed):
    world.clock.set(oslo(9, 50))
    token = get(Booking, world.booking).checkin_token
    grouped = typed_code(token)
    result = scan(world, typed.format(
        token=token, lower=token.lower(), grouped=grouped, grouped_lower=grouped.lower(),
        grouped_dashes=grouped.replace(" ", "-"),
        look_alikes=grouped.replace("O", "0").replace("I", "1").replace("B", "8")))
    assert result.result == "checked_in"


def test_the_code_to_type_is_the_token_in_groups_of_four():
    token = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    assert typed_code(token) == "ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567"
    assert token_from_scan(typed_code(token)) == token
    assert token_from_scan("ABCD EFGH") is None  # a part is not a code


# -- event sign-ups -----------------------------------------------------------------------

@pytest.fixture
def course(world):  # type: ignore[no-untyped-def]
    """A certifying course at 10:00 (Oslo) at the first branch, with one seat."""
    branch = get(Branch, world.branch)
    certification = create_certification(slug="laser", name="Laserkutter – grunnkurs")
    event = create_event(branch=branch, title="Laserkurs", start=START,
                         end=START + timedelta(hours=2), capacity=1,
                         grants_certification=certification)
    db.session.commit()
    return SimpleNamespace(event=event, certification=certification)


def test_a_signup_check_in_marks_attendance_and_grants_the_certification(app_ctx, world,
                                                                        course):
    signup = sign_up(event=course.event, user=get(User, world.citizen))
    db.session.commit()
    world.clock.set(oslo(9, 46))
    result = scan(world, url(signup.checkin_token))
    db.session.commit()
    assert result.as_dict()["kind"] == "signup"
    assert result.as_dict()["what"] == "Laserkurs"
    assert result.as_dict()["name"] == "Kari Nordmann"
    assert signup.attended_at == oslo(9, 46)
    assert holds_certification(get(User, world.citizen), course.certification, oslo(9, 47))
    assert [e.signup_id for e in audit(AuditAction.ATTENDED)] == [signup.id]
    assert scan(world, signup.checkin_token).result == "already_checked_in"


def test_signup_refusals(app_ctx, world, course):
    seated = sign_up(event=course.event, user=get(User, world.citizen))
    waiting = sign_up(event=course.event, user=get(User, world.neighbour))
    db.session.commit()
    assert waiting.status == SignupStatus.WAITLISTED
    world.clock.set(oslo(9, 0))
    with pytest.raises(services.TooEarly):
        scan(world, seated.checkin_token)
    world.clock.set(oslo(9, 50))
    with pytest.raises(services.NotConfirmed):
        scan(world, waiting.checkin_token)
    with pytest.raises(services.WrongBranch):
        scan(world, seated.checkin_token, by=world.admin, branch=world.other)
    cancel_event(course.event, reason="Sykdom")
    db.session.commit()
    with pytest.raises(services.CheckinCancelled):
        scan(world, seated.checkin_token)
    assert db.session.get(Signup, seated.id).attended_at is None


# -- the sweep: no-shows, completion, blocks ----------------------------------------------

def test_the_sweep_marks_a_no_show_and_frees_the_rest_of_the_slot(app_ctx, world):
    world.clock.set(oslo(10, 14, 59))
    assert services.sweep_bookings().no_shows == []
    world.clock.set(oslo(10, 15))
    report = services.sweep_bookings()
    db.session.commit()
    assert [b.id for b in report.no_shows] == [world.booking.id]
    assert get(Booking, world.booking).status == BookingStatus.NO_SHOW
    [entry] = audit(AuditAction.NO_SHOW)
    assert (entry.actor_id, entry.subject_user_id, entry.booking_id) == (
        None, world.citizen.id, world.booking.id)
    # The machine is free again from the next step on: someone else books 10:30–12:00.
    freed = create_booking(user=get(User, world.neighbour),
                           equipment=get(Equipment, world.printer),
                           start=oslo(10, 30), end=oslo(12))
    db.session.commit()
    assert freed.status == BookingStatus.CONFIRMED


def test_the_sweep_is_idempotent(app_ctx, world):
    world.clock.set(oslo(10, 30))
    first = services.sweep_bookings()
    db.session.commit()
    second = services.sweep_bookings()
    db.session.commit()
    assert len(first.no_shows) == 1
    assert (second.no_shows, second.completed, second.blocks) == ([], [], [])
    assert len(audit(AuditAction.NO_SHOW)) == 1


def test_checked_in_bookings_complete_when_they_end(app_ctx, world):
    world.clock.set(oslo(9, 55))
    scan(world, get(Booking, world.booking).checkin_token)
    db.session.commit()
    world.clock.set(oslo(11, 59))
    assert services.sweep_bookings().completed == []
    world.clock.set(oslo(12))
    report = services.sweep_bookings()
    db.session.commit()
    assert [b.id for b in report.completed] == [world.booking.id]
    assert report.no_shows == []
    assert get(Booking, world.booking).status == BookingStatus.COMPLETED
    world.clock.set(oslo(12, 5))
    assert scan(world, world.booking.checkin_token).result == "already_checked_in"


def test_the_sweep_looks_back_a_week_unless_told_to_look_at_everything(app_ctx, world,
                                                                      make_booking):
    old = make_booking(world.printer, world.citizen, START - timedelta(days=10))
    world.clock.set(oslo(10, 30))
    assert [b.id for b in services.sweep_bookings().no_shows] == [world.booking.id]
    assert [b.id for b in services.sweep_bookings(full=True).no_shows] == [old.id]
    db.session.commit()


def _no_show(world, make_booking, day: int):  # type: ignore[no-untyped-def]
    """A booking of the citizen at 10:00 (Oslo) on `day` days from now, swept as a no-show."""
    booking = make_booking(world.printer, world.citizen, START + timedelta(days=day))
    world.clock.set(START + timedelta(days=day, minutes=15))
    report = services.sweep_bookings()
    db.session.commit()
    assert booking.id in [b.id for b in report.no_shows]
    return report


def test_the_third_no_show_within_90_days_blocks_and_staff_can_lift_it(app_ctx, world,
                                                                       make_booking):
    ancient = make_booking(world.printer, world.citizen, START - timedelta(days=120),
                           status=BookingStatus.NO_SHOW)
    assert ancient.status == BookingStatus.NO_SHOW  # outside the 90 days: does not count
    get(Booking, world.booking).status = BookingStatus.CANCELLED
    db.session.commit()
    assert _no_show(world, make_booking, 1).blocks == []
    assert _no_show(world, make_booking, 20).blocks == []
    report = _no_show(world, make_booking, 40)
    [block] = report.blocks
    now = START + timedelta(days=40, minutes=15)
    assert block.user_id == world.citizen.id
    assert (block.starts_at, block.ends_at) == (now, now + timedelta(days=30))
    assert block.reason
    [entry] = audit(AuditAction.BLOCKED)
    assert (entry.actor_id, entry.subject_user_id) == (None, world.citizen.id)
    [told] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "no_show_block")).all()
    assert told.user_id == world.citizen.id  # queued in the same transaction as the block

    citizen, printer = get(User, world.citizen), get(Equipment, world.printer)
    start = START + timedelta(days=41)
    with pytest.raises(booking_errors.Blocked) as caught:
        create_booking(user=citizen, equipment=printer, start=start,
                       end=start + timedelta(hours=1))
    assert caught.value.code == "blocked" and caught.value.status == 403
    assert caught.value.extra["until"] == block.ends_at.isoformat()
    db.session.rollback()

    # Another sweep does not block twice; staff lift it; booking works again.
    assert services.sweep_bookings().blocks == []
    with pytest.raises(services.Forbidden):
        services.lift_block(get(BookingBlock, block), by=citizen)
    services.lift_block(get(BookingBlock, block), by=get(User, world.librarian))
    db.session.commit()
    lifted = get(BookingBlock, block)
    assert lifted.lifted_at == now and lifted.lifted_by_id == world.librarian.id
    [entry] = audit(AuditAction.BLOCK_LIFTED)
    assert (entry.actor_id, entry.subject_user_id) == (world.librarian.id, world.citizen.id)
    services.lift_block(lifted, by=get(User, world.librarian))  # twice: nothing more
    assert len(audit(AuditAction.BLOCK_LIFTED)) == 1
    assert create_booking(user=citizen, equipment=printer, start=start,
                          end=start + timedelta(hours=1)).status == BookingStatus.CONFIRMED
    db.session.commit()
    # The no-shows behind a lifted block do not count again; the next one alone does not block.
    assert _no_show(world, make_booking, 50).blocks == []


def test_limits_are_configurable(app, app_ctx, world, make_booking):
    app.config.update(NO_SHOW_LIMIT=1, BLOCK_DAYS=7)
    [block] = _no_show(world, make_booking, 1).blocks
    assert block.ends_at - block.starts_at == timedelta(days=7)


def test_tick_command(app, world, runner):
    world.clock.set(oslo(10, 20))
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert "1 no-show(s), 0 completed, 0 block(s)" in result.output
    with app.app_context():
        assert db.session.get(Booking, world.booking.id).status == BookingStatus.NO_SHOW
    again = runner.invoke(args=["tick", "--full"])
    assert "0 no-show(s)" in again.output
