"""Issue 15, "Book", walked in Chromium at 375 px and at 1280 px: the phone's day view, the
two-step booking, cancelling with a question first, a sign-up's QR code and a weekly series
in the course list.

The scene (tests/browser/conftest.py) stands on Monday 30 November 2026, 09:00 in Oslo.
"""

from __future__ import annotations

import io
from datetime import date, time

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from makerspace.booking.models import Booking, BookingStatus
from makerspace.extensions import db
from tests.browser.conftest import NOW, PHONE
from tests.browser.helpers import log_in, submit
from tests.browser.test_journeys import scan_like_a_desk_scanner, text_of

SIZES = ["phone", "desktop"]


def test_a_phone_user_books_todays_free_slot_without_scrolling(scene, new_page):  # type: ignore[no-untyped-def]
    phone = new_page("phone")
    log_in(phone, "kari@example.no")
    phone.goto(f"/equipment/{scene.printer.id}")
    phone.evaluate("window.scrollTo(0, 0)")

    assert phone.locator("#day-view").is_visible() and not phone.locator(".week-grid").is_visible()
    assert "Today, Monday, 30 November 2026" in text_of(phone, "#day-heading")
    times = [t.replace("\u202f", " ") for t in
             phone.locator("#day-view .slot-time").all_inner_texts()]
    assert times[0] == "09:00"  # nothing before now, no past days
    assert phone.locator("#day-view .slot-past").count() == 0
    first = phone.locator("#day-view .slot-free a").first
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["viewport"]["height"], box
    slot_time = first.locator(".slot-time").inner_text().replace("\u202f", " ")

    submit(phone, first.click)
    submit(phone, phone.get_by_role("button", name="Continue", exact=True).click)
    preview = text_of(phone, "#booking-preview")
    assert "Monday, 30 November 2026" in preview and slot_time in preview
    assert text_of(phone, "#preview-end") == "10:00"  # one hour, the shortest booking
    submit(phone, phone.get_by_role("button", name="Confirm booking").click)
    assert "Your booking is confirmed" in text_of(phone)
    with scene.app.app_context():
        made = db.session.scalar(select(Booking).where(
            Booking.user_id == scene.citizen.id, Booking.equipment_id == scene.printer.id,
            Booking.start_at == NOW))
        assert made is not None and made.status == BookingStatus.CONFIRMED


def test_the_day_view_moves_by_day_and_by_date(scene, new_page):  # type: ignore[no-untyped-def]
    phone = new_page("phone")
    phone.goto(f"/equipment/{scene.printer.id}")
    assert phone.locator("#day-view a[rel=prev]").count() == 0  # not before today
    submit(phone, phone.locator("#day-view a[rel=next]").click)
    assert "Tuesday, 1 December 2026" in text_of(phone, "#day-heading")
    assert phone.locator("#day-view .slot-time").first.inner_text().replace(
        "\u202f", " ") == "08:00"
    phone.locator("#day-picker").fill("2026-12-04")
    submit(phone, phone.get_by_role("button", name="Show").click)
    assert phone.url.endswith("?day=2026-12-04")
    assert "Friday, 4 December 2026" in text_of(phone, "#day-heading")

    desktop = new_page("desktop")
    desktop.goto(f"/equipment/{scene.printer.id}")
    assert desktop.locator(".week-grid").is_visible()
    assert not desktop.locator("#day-view").is_visible()
    assert desktop.locator(".week-grid thead th").count() == 8  # the time column and 7 days


@pytest.mark.parametrize("size", SIZES)
def test_cancel_asks_first(scene, new_page, size):  # type: ignore[no-untyped-def]
    page = new_page(size)
    log_in(page, "kari@example.no")
    page.goto("/me/bookings")
    item = page.locator(f"#booking-{scene.booking.id}")
    submit(page, item.get_by_role("link", name="Cancel").click)
    assert "Cancel the booking?" in text_of(page, "h1")
    assert "Prusa MK4" in text_of(page, "#cancel-what")

    submit(page, page.get_by_role("link", name="No, keep it").click)
    assert page.url.endswith("/me/bookings")
    with scene.app.app_context():
        assert db.session.get(Booking, scene.booking.id).status == BookingStatus.CONFIRMED

    submit(page, item.get_by_role("link", name="Cancel").click)
    submit(page, page.get_by_role("button", name="Yes, cancel the booking").click)
    assert page.url.endswith("/me/bookings")
    assert page.locator(f"#past #booking-{scene.booking.id}").count() == 1
    with scene.app.app_context():
        assert db.session.get(Booking, scene.booking.id).status == BookingStatus.CANCELLED
    page.goto(f"/bookings/{scene.booking.id}")
    assert page.get_by_role("link", name="Add to calendar").count() == 0


@pytest.mark.parametrize("size", SIZES)
def test_a_course_signups_qr_code_decodes_to_its_check_in_url(scene, new_page, size):  # type: ignore[no-untyped-def]
    citizen = new_page(size)
    log_in(citizen, "kari@example.no")
    citizen.goto("/me/events")
    submit(citizen, citizen.locator(f"#signup-{scene.signup_id} .signup-qr-link").click)
    assert f"/events/{scene.course_id}" in citizen.url
    image = citizen.locator("#signup-qr img")
    image.scroll_into_view_if_needed()
    citizen.wait_for_function("img => img.complete && img.naturalWidth > 0",
                              arg=image.element_handle())
    [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.screenshot())))
    base = scene.app.config["BASE_URL"]
    assert found.text.lower() == f"{base}/c/{scene.signup_token}".lower()
    assert citizen.locator("#signup-ics").get_attribute("href") == \
        f"/signups/{scene.signup_id}.ics"

    scene.clock.set(NOW.replace(minute=50))  # the course starts at 10:00
    librarian = new_page("desktop")
    log_in(librarian, "lena@example.no")
    librarian.goto("/staff/hoved/scan")
    scan_like_a_desk_scanner(librarian, found.text)
    answer = text_of(librarian, "#scan-result")
    assert "Checked in" in answer and "Kari Nordmann" in answer


@pytest.mark.parametrize("size", SIZES)
def test_a_weekly_series_shows_once(scene, new_page, size):  # type: ignore[no-untyped-def]
    from makerspace.branches.models import Branch
    from makerspace.events.services import create_weekly_series

    with scene.app.app_context():
        made = create_weekly_series(
            branch=db.session.get(Branch, scene.hoved.id), title="Åpent verksted",
            first_day=date(2026, 12, 1), starts=time(16), ends=time(19),
            until=date(2026, 12, 22), capacity=10, category="open-workshop")
        db.session.commit()
        ids = [e.id for e in made]
    page = new_page(size)
    page.goto("/events")
    cards = page.locator(".event-item", has_text="Åpent verksted")
    assert cards.count() == 1
    card = cards.first
    assert "Every week:" in card.inner_text()
    links = card.locator(".later-dates a")
    assert links.count() == len(ids) - 1
    submit(page, links.first.click)
    assert page.url.endswith(f"/events/{ids[1]}")

    page.goto("/events?category=open-workshop")
    assert page.locator(".event-item").count() == 1
    page.goto("/events?category=laser")
    assert page.locator(".event-item", has_text="Åpent verksted").count() == 0


