"""Issue 15, "Find": search "a 3D printer this evening" and book from a result, in Chromium
on a phone (375 px) and a desktop, without JavaScript doing any of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from makerspace.booking.models import Booking, BookingStatus
from makerspace.extensions import db
from tests.browser.conftest import OSLO
from tests.browser.helpers import log_in, submit


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_search_a_3d_printer_this_evening_and_book_from_a_result(scene, new_page, size
                                                                  ):  # type: ignore[no-untyped-def]
    page: Any = new_page(size)
    log_in(page, "kari@example.no")
    page.goto("/")
    submit(page, page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Find free time").click)
    page.get_by_label("Machine").select_option(label="3D printer")
    page.get_by_label("From", exact=True).select_option("16:00")
    page.get_by_label("Until", exact=True).select_option("20:00")
    page.get_by_label("For how long").select_option(label="1 h")
    page.get_by_label("Trondheim folkebibliotek, Hovedbiblioteket").check()
    submit(page, page.get_by_role("button", name="Search").click)

    results = page.locator("#results ol.free-starts > li > a")
    assert results.count() == 7  # 16:00, 16:30 … 19:00 on the one printer
    first = results.first
    text = first.inner_text().replace("\u202f", " ")
    assert "16:00–17:00" in text or "4:00 PM–5:00 PM" in text  # en_NO formats: issue 15
    assert "Prusa MK4" in first.inner_text()
    submit(page, first.click)

    form = page.locator("main form.booking-form")
    assert page.locator("select[name=start]").input_value() == "16:00"
    assert page.locator("select[name=duration]").input_value() == "60"
    submit(page, form.locator("button[type=submit]").click)
    # The second step shows the booking and asks to confirm it (issue 15, "Book").
    assert page.locator("#booking-preview").count() == 1
    submit(page, page.locator("#confirm-button").click)

    with scene.app.app_context():
        booked = db.session.scalars(select(Booking).where(
            Booking.user_id == scene.citizen.id,
            Booking.equipment_id == scene.printer.id,
            Booking.status == BookingStatus.CONFIRMED)).all()
        starts = {b.start_at.astimezone(OSLO) for b in booked}
    assert datetime(2026, 11, 30, 16, 0, tzinfo=OSLO) in starts
