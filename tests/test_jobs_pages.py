"""Pages of unattended jobs and material (issue 19): the booking form offers "run unattended"
where the machine allows it, the confirmation and the booking page show "start, runs until
about, pick up from", the booker or the branch's staff end the job and record the material
(others get 404), and the receipt shows what it costs. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from makerspace.accounts.models import Role
from makerspace.booking.jobs import set_material_price, start_job
from makerspace.booking.models import Booking, BookingStatus, Equipment, JobOutcome
from makerspace.extensions import db

OSLO = ZoneInfo("Europe/Oslo")
EN = {"Accept-Language": "en"}
HOURS = {d: [("10:00", "19:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


def page(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True).replace("\u202f", " ")


@pytest.fixture
def branch(open_branch, frozen_clock):  # type: ignore[no-untyped-def]
    frozen_clock.set(oslo(2026, 12, 8, 9, 0))
    return open_branch(weekly=HOURS)


@pytest.fixture
def printer(branch, make_equipment):  # type: ignore[no-untyped-def]
    return make_equipment(branch, unattended_max_minutes=840)


def test_the_form_offers_unattended_only_where_the_machine_allows_it(
        client, login, make_user, make_equipment, printer):
    login(make_user())
    assert 'id="unattended-job"' in page(client.get(f"/equipment/{printer.id}/book"))
    laser = make_equipment(name="Laser", kind="laser-cutter")
    assert 'id="unattended-job"' not in page(client.get(f"/equipment/{laser.id}/book"))


def test_an_overnight_print_is_previewed_and_booked_through_the_form(
        client, app, login, make_user, printer):
    login(make_user())
    chosen = {"date": "2026-12-08", "start": "17:30", "duration": "60", "unattended": "y",
              "estimated_minutes": "520"}
    step = client.post(f"/equipment/{printer.id}/book", data=chosen, headers=EN)
    assert step.status_code == 200
    preview = page(step)
    assert ("Start 17:30, runs until about 9 Dec 2026 02:10, pick up from 9 Dec 2026 10:00."
            in preview)
    assert 'name="unattended" value="y"' in preview
    assert 'name="estimated_minutes" value="520"' in preview
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) is None
    done = client.post(f"/equipment/{printer.id}/book", data={**chosen, "confirm": "1"})
    assert done.status_code == 302
    with app.app_context():
        booking = db.session.scalar(select(Booking))
        assert booking.unattended and booking.estimated_minutes == 520
        assert booking.end_at == oslo(2026, 12, 9, 2, 10)
    shown = page(client.get(done.headers["Location"]))
    assert 'id="unattended-slot"' in shown and "17:30" in shown and "02:10" in shown


def test_the_confirm_step_refuses_what_create_would(client, login, make_user, make_equipment,
                                                    printer):
    login(make_user())
    late = {"date": "2026-12-08", "start": "18:30", "duration": "60", "unattended": "y",
            "estimated_minutes": "900"}  # longer than the machine's 840
    response = client.post(f"/equipment/{printer.id}/book", data=late)
    assert response.status_code == 422 and 'data-code="unattended_too_long"' in page(response)
    laser = make_equipment(name="Laser", kind="laser-cutter")
    response = client.post(f"/equipment/{laser.id}/book", data={**late, "estimated_minutes": "60"})
    assert response.status_code == 422 and 'data-code="unattended_not_allowed"' in page(response)
    missing = client.post(f"/equipment/{printer.id}/book",
                          data={**late, "estimated_minutes": ""})
    assert missing.status_code == 422 and 'id="estimated_minutes-error"' in page(missing)


def _started(app, printer, person, make_booking) -> int:  # type: ignore[no-untyped-def]
    booking = make_booking(printer, person, oslo(2026, 12, 8, 10, 0), minutes=120)
    with app.app_context():
        start_job(db.session.get(Booking, booking.id), at=oslo(2026, 12, 8, 10, 0), by=None,
                  via="machine")
        db.session.commit()
    return booking.id


def test_the_booker_ends_the_job_and_the_machine_is_free(client, app, login, make_user,
                                                        make_booking, printer, frozen_clock):
    person = make_user()
    booking_id = _started(app, printer, person, make_booking)
    frozen_clock.set(oslo(2026, 12, 8, 10, 40))
    login(person)
    shown = page(client.get(f"/bookings/{booking_id}"))
    assert 'id="job-finished"' in shown and 'id="job-failed"' in shown
    assert 'id="job-stopped"' in shown
    assert client.post(f"/bookings/{booking_id}/job/nonsense").status_code == 404
    response = client.post(f"/bookings/{booking_id}/job/stopped")
    assert response.status_code == 302
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.status == BookingStatus.COMPLETED
        assert booking.job.outcome == JobOutcome.STOPPED and booking.job.ended_via == "web"
        assert booking.end_at == oslo(2026, 12, 8, 10, 40)
    assert 'id="job-finished"' not in page(client.get(f"/bookings/{booking_id}"))


def test_material_is_recorded_priced_and_shown_on_a_receipt(client, app, login, make_user,
                                                           make_booking, branch, printer):
    person = make_user()
    staff = make_user(role=Role.LIBRARIAN, branches=[branch])
    with app.app_context():
        machine = db.session.get(Equipment, printer.id)
        set_material_price(machine.branch, machine.kind, 50, by=db.session.get(type(staff),
                                                                                 staff.id))
        db.session.commit()
    booking_id = _started(app, printer, person, make_booking)
    login(person)
    assert client.get(f"/bookings/{booking_id}/receipt").status_code == 404  # nothing yet
    response = client.post(f"/bookings/{booking_id}/material",
                           data={"amount": "42,5", "material": "PLA", "colour": "Blå"})
    assert response.status_code == 302
    with app.app_context():
        job = db.session.get(Booking, booking_id).job
        assert job.material_amount == 42.5 and job.material_cost_ore == 2125
        assert job.material_colour == "Blå" and job.material_recorded_by_id == person.id
    shown = page(client.get(f"/bookings/{booking_id}", headers=EN))
    assert 'id="material-cost"' in shown and re.search(r"21[.,]25", shown)
    assert "to be paid at the desk" in shown
    receipt = client.get(f"/bookings/{booking_id}/receipt", headers=EN)
    assert receipt.status_code == 200 and re.search(r"21[.,]25", page(receipt))
    assert "PLA" in page(receipt)
    bad = client.post(f"/bookings/{booking_id}/material", data={"amount": "lots"})
    assert bad.status_code == 302  # refused with a message, nothing changed
    with app.app_context():
        assert db.session.get(Booking, booking_id).job.material_amount == 42.5
    login(staff)  # the branch's staff correct it (recorded at the desk)
    client.post(f"/bookings/{booking_id}/material", data={"amount": "40"})
    with app.app_context():
        job = db.session.get(Booking, booking_id).job
        assert job.material_cost_ore == 2000 and job.material_recorded_by_id == staff.id


def test_others_get_404(client, app, login, make_user, make_booking, open_branch, printer):
    person = make_user()
    booking_id = _started(app, printer, person, make_booking)
    login(make_user())
    assert client.post(f"/bookings/{booking_id}/job/finished").status_code == 404
    assert client.post(f"/bookings/{booking_id}/material",
                       data={"amount": "1"}).status_code == 404
    other_staff = make_user(role=Role.LIBRARIAN, branches=[open_branch()])
    login(other_staff)
    assert client.post(f"/bookings/{booking_id}/job/failed").status_code == 404
    with app.app_context():
        assert db.session.get(Booking, booking_id).job.ended_at is None


@pytest.fixture
def csrf_on(app):  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_posts_without_a_token_are_refused(client, app, login, make_user, make_booking,
                                          printer, csrf_on):
    person = make_user()
    booking_id = _started(app, printer, person, make_booking)
    login(person)
    assert client.post(f"/bookings/{booking_id}/job/finished").status_code == 400
    assert client.post(f"/bookings/{booking_id}/material",
                       data={"amount": "3"}).status_code == 400
    with app.app_context():
        job = db.session.get(Booking, booking_id).job
        assert job.ended_at is None and job.material_amount is None


# -- staff: the day view, prices and the accounts CSV ---------------------------------------

def test_the_day_view_ends_jobs_and_shows_what_to_pay(client, app, login, make_user,
                                                     make_booking, branch, printer):
    person = make_user(name="Kari Nordmann")
    staff = make_user(role=Role.LIBRARIAN, branches=[branch])
    booking_id = _started(app, printer, person, make_booking)
    login(staff)
    day = page(client.get(f"/staff/{branch.slug}/", headers=EN))
    assert f'id="job-end-{booking_id}"' in day and 'id="material-day"' not in day
    back = f"/staff/{branch.slug}/?date=2026-12-08"
    response = client.post(f"/bookings/{booking_id}/job/finished", data={"next": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    client.post(f"/staff/{branch.slug}/material", data={"price_3d_printer": "1,50"})
    client.post(f"/bookings/{booking_id}/material", data={"amount": "10"})
    day = page(client.get(back, headers=EN))
    assert f'id="job-end-{booking_id}"' not in day
    assert f'id="material-{booking_id}"' in day and "to be paid at the desk" in day
    totals = day[day.index('id="material-day"'):]
    assert "Prusa MK4" in totals and re.search(r"15[.,]00", totals)
    with app.app_context():
        job = db.session.get(Booking, booking_id).job
        assert job.outcome == JobOutcome.FINISHED and job.ended_via == "desk"


def test_staff_set_prices_and_download_the_accounts_csv(client, app, login, make_user,
                                                       make_booking, branch, open_branch,
                                                       printer):
    staff = make_user(role=Role.LIBRARIAN, branches=[branch])
    login(staff)
    form = page(client.get(f"/staff/{branch.slug}/material", headers=EN))
    assert 'name="price_3d_printer"' in form and 'value="0,00"' in form
    bad = client.post(f"/staff/{branch.slug}/material",
                      data={"price_3d_printer": "-1", "price_laser_cutter": "0",
                            "price_vinyl_cutter": "0", "price_sewing_machine": "0"})
    assert bad.status_code == 422
    ok = client.post(f"/staff/{branch.slug}/material",
                     data={"price_3d_printer": "0,5", "price_laser_cutter": "20",
                           "price_vinyl_cutter": "0", "price_sewing_machine": "0"})
    assert ok.status_code == 302
    with app.app_context():
        from makerspace.booking.jobs import material_prices
        from makerspace.branches.models import Branch
        prices = material_prices(db.session.scalar(select(Branch).where(
            Branch.slug == branch.slug)))
        assert prices["3d-printer"] == 50 and prices["laser-cutter"] == 2000
        assert prices["vinyl-cutter"] == 0
    booking_id = _started(app, printer, make_user(), make_booking)
    client.post(f"/bookings/{booking_id}/material",
                data={"amount": "12,5", "material": "=PLA", "colour": "Rød"})
    response = client.get(f"/staff/{branch.slug}/material.csv?from=2026-12-01&to=2026-12-31",
                          headers=EN)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.data
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:3] == ["From", "To", "Date"]
    assert lines[1].split(";") == ["2026-12-01", "2026-12-31", "2026-12-08", str(booking_id),
                                   "Prusa MK4", "", "12,5", "g", "'=PLA", "Rød", "0,50",
                                   "6,25"]
    assert client.get(f"/staff/{branch.slug}/material.csv?from=2026-12-31&to=2026-12-01"
                      ).status_code == 422
    login(make_user(role=Role.LIBRARIAN, branches=[open_branch()]))
    assert client.get(f"/staff/{branch.slug}/material").status_code == 404
    assert client.get(f"/staff/{branch.slug}/material.csv?from=2026-12-01&to=2026-12-31"
                      ).status_code == 404
    login(make_user())
    assert client.get(f"/staff/{branch.slug}/material").status_code == 404


def test_a_failed_job_is_booked_again_outside_the_quota(client, app, login, make_user,
                                                       make_booking, branch, printer):
    person = make_user()
    booking_id = _started(app, printer, person, make_booking)
    for day in (10, 11, 12):  # the quota (3 upcoming) is full
        make_booking(printer, person, oslo(2026, 12, day, 10, 0))
    login(person)
    assert client.get(f"/equipment/{printer.id}/book?rerun={booking_id}").status_code == 404
    client.post(f"/bookings/{booking_id}/job/failed")
    shown = page(client.get(f"/bookings/{booking_id}"))
    assert f"/equipment/{printer.id}/book?rerun={booking_id}" in shown
    form = page(client.get(f"/equipment/{printer.id}/book?rerun={booking_id}"))
    assert 'id="rerun-notice"' in form and f'name="rerun" value="{booking_id}"' in form
    assert 'id="rerun-times"' in form  # the next free times first, each keeping the rerun
    assert f"/equipment/{printer.id}/book?start=2026-12-08T" in form and f"rerun={booking_id}" \
        in form[form.index('id="rerun-times"'):]
    chosen = {"date": "2026-12-08", "start": "14:00", "duration": "60", "rerun": booking_id}
    plain = client.post(f"/equipment/{printer.id}/book", data={**chosen, "rerun": ""})
    assert 'data-code="quota_exceeded"' in page(plain)
    step = client.post(f"/equipment/{printer.id}/book", data=chosen)
    assert step.status_code == 200 and f'name="rerun" value="{booking_id}"' in page(step)
    done = client.post(f"/equipment/{printer.id}/book", data={**chosen, "confirm": "1"})
    assert done.status_code == 302, page(done)[page(done).index('<main'):][:3000]
    with app.app_context():
        again = db.session.scalar(select(Booking).where(Booking.rerun_of_id == booking_id))
        assert again is not None and again.start_at == oslo(2026, 12, 8, 14, 0)
    login(make_user())
    assert client.get(f"/equipment/{printer.id}/book?rerun={booking_id}").status_code == 404
