"""Issue 19 in Chromium on a 375 px phone: Kari books an overnight print that runs past
closing (the slicer says 10 hours), sees "start, runs until about, pick up from" before and
after confirming; the librarian records the material and the receipt shows it. axe-core finds
no WCAG 2.1 A/AA violations on the new pages.

The scene (tests/browser/conftest.py) stands on Monday 30 November 2026, 09:00 in Oslo; the
libraries are open 08:00–20:00.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from makerspace.booking.jobs import start_job
from makerspace.booking.models import Booking, Equipment
from makerspace.extensions import db
from tests.browser.conftest import OSLO
from tests.browser.helpers import axe_violations, describe_violations, log_in, submit
from tests.browser.test_journeys import text_of


def test_an_overnight_print_is_booked_on_a_phone(scene, new_page):  # type: ignore[no-untyped-def]
    with scene.app.app_context():
        db.session.get(Equipment, scene.printer.id).unattended_max_minutes = 840
        db.session.commit()
    phone = new_page("phone", axe=True)
    log_in(phone, "kari@example.no")
    phone.goto(f"/equipment/{scene.printer.id}/book")
    phone.locator("#date").fill("2026-11-30")
    phone.locator("#start").select_option("18:00")
    phone.get_by_label("Run unattended past closing").check()
    phone.get_by_label("Estimated print time (minutes)").fill("600")
    [violations] = axe_violations(phone)
    assert violations == [], describe_violations("booking form", violations)
    submit(phone, phone.get_by_role("button", name="Continue", exact=True).click)

    slot = text_of(phone, "#unattended-slot").replace("\u202f", " ")
    assert slot == ("Start 18:00, runs until about 1 Dec 2026 04:00, "
                    "pick up from 1 Dec 2026 08:00."), slot
    [violations] = axe_violations(phone)
    assert violations == [], describe_violations("confirm step", violations)
    submit(phone, phone.get_by_role("button", name="Confirm booking").click)
    assert "Your booking is confirmed" in text_of(phone)
    assert "runs until about 1 Dec 2026 04:00" in text_of(phone, "#unattended-slot").replace(
        "\u202f", " ")
    with scene.app.app_context():
        booking = db.session.scalar(select(Booking).where(
            Booking.user_id == scene.citizen.id, Booking.unattended.is_(True)))
        assert booking.end_at == datetime(2026, 12, 1, 4, 0, tzinfo=OSLO).astimezone(UTC)
        start_job(booking, at=booking.start_at, by=None, via="machine")
        db.session.commit()
        booking_id = booking.id
    scene.clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=OSLO))

    phone.goto(f"/bookings/{booking_id}")
    [violations] = axe_violations(phone)
    assert violations == [], describe_violations("booking page with the job", violations)
    submit(phone, phone.get_by_role("button", name="Finished").click)
    phone.locator("#amount").fill("84,5")
    phone.get_by_label("Material (optional)").fill("PETG")
    phone.get_by_label("Colour (optional)").fill("Svart")
    submit(phone, phone.locator("#record-material").click)
    assert "84,5 grams" in text_of(phone, "#material-recorded")
    [violations] = axe_violations(phone)
    assert violations == [], describe_violations("booking page with material", violations)
    submit(phone, phone.locator("#receipt-link").click)
    assert "PETG" in text_of(phone, "#receipt")
    [violations] = axe_violations(phone)
    assert violations == [], describe_violations("receipt", violations)

    librarian = new_page("phone", axe=True)
    log_in(librarian, "lena@example.no")
    librarian.goto(f"/staff/{scene.hoved.slug}/material")
    [violations] = axe_violations(librarian)
    assert violations == [], describe_violations("material and prices", violations)
    librarian.goto(f"/staff/{scene.hoved.slug}/?date=2026-11-30")
    assert "Prusa MK4" in text_of(librarian, "#material-day")
    [violations] = axe_violations(librarian)
    assert violations == [], describe_violations("day view with material", violations)
