"""Journeys through the real pages in Chromium: what citizens and librarians do, start to end.

The scene (tests/browser/conftest.py) stands on Monday 30 November 2026, 09:00 in Oslo, with the
laser course at 10:00 at Trondheim folkebibliotek, Hovedbiblioteket ("hoved").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from makerspace.accounts.models import User
from makerspace.booking.models import Booking, BookingStatus
from makerspace.events.models import Signup
from makerspace.extensions import db
from tests.browser.conftest import NOW, OSLO
from tests.browser.helpers import assert_focus_visible, focused, log_in, submit
from tests.helpers import PASSWORD


def text_of(page: Any, selector: str = "main") -> str:
    """The visible text, with narrow no-break spaces (which Babel writes in some formats) plain."""
    return page.locator(selector).inner_text().replace("\u202f", " ").replace("\xa0", " ")


def focus_is_in_the_code_input(page: Any) -> bool:
    """Autofocus lands once the page is shown and focused; a page in a second browser context
    (the librarian's, beside the citizen's) is brought to the front first, as a person would."""
    page.bring_to_front()
    try:
        page.wait_for_function(
            "document.activeElement === document.querySelector('input[name=code]')",
            timeout=5000)
    except PlaywrightTimeout:
        return False
    return True


def scan_like_a_desk_scanner(page: Any, url: str) -> None:
    """A USB scanner is a keyboard: it types the URL into the focused input, then Enter."""
    assert focus_is_in_the_code_input(page)
    page.keyboard.type(url)
    submit(page, lambda: page.keyboard.press("Enter"))


# -- (a) from registering to booking the laser cutter -------------------------------------

def test_a_citizen_registers_takes_the_course_and_books_the_laser_cutter(
        scene, new_page):  # type: ignore[no-untyped-def]
    app, clock = scene.app, scene.clock
    citizen = new_page("phone")

    # registers through the form
    citizen.goto("/")
    submit(citizen, citizen.get_by_role("main").get_by_role(
        "link", name="Create an account").click)
    citizen.get_by_label("Full name").fill("Siri Solberg")
    citizen.get_by_label("E-mail address").fill("siri@example.no")
    citizen.get_by_label("Birth year").fill("1988")
    citizen.locator("input[name=password]").fill(PASSWORD)
    citizen.locator("input[name=password_again]").fill(PASSWORD)
    submit(citizen, citizen.get_by_role("button", name="Create account").click)
    assert "We have sent an e-mail to siri@example.no" in text_of(citizen)
    log_in(citizen, "siri@example.no")  # on the log-in page the registration led to
    assert citizen.locator("#verify-notice").is_visible()

    # follows the link in the e-mail (the e-mail itself is tested elsewhere)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "siri@example.no"))
        assert user is not None and user.name == "Siri Solberg"
        user.email_verified_at = clock.now()
        db.session.commit()
        user_id = user.id

    # is refused the laser cutter: the page says which course is needed
    citizen.goto("/branches/")
    submit(citizen, citizen.get_by_role("link", name=scene.hoved.name).first.click)
    submit(citizen, citizen.get_by_role("link", name="Laserkutter").first.click)
    assert citizen.locator("#verify-notice").count() == 0
    assert "You do not hold it yet" in text_of(citizen, "#certification")
    submit(citizen, citizen.locator(".slot-free a:visible").first.click)
    submit(citizen, citizen.get_by_role("button", name="Continue", exact=True).click)
    refusal = text_of(citizen, "#refusal")
    assert "The booking was not made" in refusal
    assert "“Laserkutter – grunnkurs”" in refusal
    with app.app_context():
        assert db.session.scalar(select(Booking).where(Booking.user_id == user_id)) is None

    # signs up for the course from the link on the same page
    submit(citizen, citizen.locator("#certification").get_by_role(
        "link", name="Laserkutter – grunnkurs").click)
    assert citizen.url.endswith(f"/events/{scene.course_id}")
    submit(citizen, citizen.locator("#signup-button").click)
    assert "You have a seat" in text_of(citizen, "#my-signup")
    with app.app_context():
        signup = db.session.scalar(select(Signup).where(Signup.user_id == user_id))
        token = signup.checkin_token

    # is checked in at the course by the librarian at the scan station
    clock.set(NOW.replace(minute=52))
    librarian = new_page("desktop")
    log_in(librarian, "lena@example.no")
    librarian.goto("/staff/hoved/scan")
    scan_like_a_desk_scanner(librarian, f"{app.config['BASE_URL']}/c/{token}")
    answer = text_of(librarian, "#scan-result")
    assert "Checked in" in answer and "Siri Solberg" in answer
    assert "Laserkutter – grunnkurs" in answer

    # now holds the certification and books the laser cutter
    citizen.goto(f"/equipment/{scene.laser.id}")
    assert "You hold it" in text_of(citizen, "#certification")
    slot = citizen.locator(".slot-free a:visible").first
    slot_text = slot.inner_text()
    submit(citizen, slot.click)
    submit(citizen, citizen.get_by_role("button", name="Continue", exact=True).click)
    assert slot_text.split()[0] in text_of(citizen, "#booking-preview")  # the confirmation
    submit(citizen, citizen.get_by_role("button", name="Confirm booking").click)
    assert "/bookings/" in citizen.url, text_of(citizen)
    assert "Your booking is confirmed" in text_of(citizen)
    assert slot_text.split()[0] in text_of(citizen, ".booking-facts")

    # sees the QR code
    qr = citizen.locator(".qr-code img")
    qr.scroll_into_view_if_needed()
    assert qr.is_visible()
    assert qr.get_attribute("alt")
    assert citizen.evaluate("img => img.complete && img.naturalWidth > 0", qr.element_handle())

    # and cancels: the page asks first
    submit(citizen, citizen.get_by_role("link", name="Cancel booking").click)
    assert "Cancel the booking?" in text_of(citizen, "h1")
    submit(citizen, citizen.get_by_role("button", name="Yes, cancel the booking").click)
    assert "The booking has been cancelled" in text_of(citizen)
    assert "Cancelled" in text_of(citizen, ".booking-facts")
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.user_id == user_id))
        assert booking.status == BookingStatus.CANCELLED


# -- (b) the scan station -----------------------------------------------------------------

def test_the_scan_station_answers_green_amber_and_red(scene, new_page):  # type: ignore[no-untyped-def]
    scene.clock.set(NOW.replace(minute=50))  # Ola's booking at 10:00: check-in is open
    base = scene.app.config["BASE_URL"]
    page = new_page("desktop")
    log_in(page, "lena@example.no")
    page.goto("/staff/hoved/scan")
    assert focus_is_in_the_code_input(page)  # ready for the scanner without a click

    scan_like_a_desk_scanner(page, f"{base}/c/{scene.today.checkin_token}")
    green = page.locator(".scan-result.scan-ok")
    assert green.is_visible() and green.get_attribute("role") == "status"
    assert "Ola Nordmann" in green.inner_text() and "Prusa MK4" in green.inner_text()
    assert page.locator("input[name=code]").input_value() == ""

    scan_like_a_desk_scanner(page, f"{base}/c/{scene.today.checkin_token}")
    amber = page.locator(".scan-result.scan-warn")
    assert amber.is_visible()
    assert "Already checked in at 09:50" in text_of(page, ".scan-result")

    scan_like_a_desk_scanner(page, f"{base}/c/{scene.elsewhere.checkin_token}")
    red = page.locator(".scan-result.scan-error")
    assert red.is_visible() and red.get_attribute("role") == "alert"
    assert "This code is for Steinkjer bibliotek." in text_of(page, ".scan-result")
    assert "Kari" not in text_of(page, ".scan-result")  # a refusal names nobody
    assert focus_is_in_the_code_input(page)

    with scene.app.app_context():
        assert db.session.get(Booking, scene.today.id).status == BookingStatus.CHECKED_IN
        assert db.session.get(Booking, scene.elsewhere.id).status == BookingStatus.CONFIRMED


# -- (c) languages ------------------------------------------------------------------------

def test_the_language_picker_switches_and_remembers(scene, new_page):  # type: ignore[no-untyped-def]
    page = new_page("phone", locale="nb")
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "nb"
    assert page.get_by_role("navigation", name="Hovedmeny").is_visible()

    submit(page, page.get_by_role("contentinfo").get_by_role("button", name="Norsk nynorsk").click)
    assert page.locator("html").get_attribute("lang") == "nn"
    assert page.url.endswith("/")  # back on the same page
    submit(page, page.get_by_role("link", name="Bibliotek", exact=True).first.click)
    assert "/branches/" in page.url
    assert page.locator("html").get_attribute("lang") == "nn"  # it stays

    submit(page, page.get_by_role("contentinfo").get_by_role("button", name="English").click)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "/branches/" in page.url
    assert page.get_by_role("heading", level=1).inner_text() == "Libraries"
    page.goto(f"/events/{scene.course_id}")
    assert page.locator("html").get_attribute("lang") == "en"
    current = page.get_by_role("contentinfo").get_by_role("button", name="English")
    assert current.get_attribute("aria-current") == "true"


# -- (d) calendars ------------------------------------------------------------------------

def test_the_calendars_page_gives_working_addresses(scene, new_page):  # type: ignore[no-untyped-def]
    page = new_page("desktop")
    log_in(page, "kari@example.no")
    submit(page, page.get_by_role("contentinfo").get_by_role("link", name="Calendars").click)
    assert page.get_by_role("heading", level=1).inner_text() == "Calendars"

    courses = page.locator("#feed-all").input_value()
    assert courses.startswith(scene.app.config["BASE_URL"])
    webcal = page.get_by_role("link", name="All courses in Trøndelag")
    assert webcal.get_attribute("href").startswith("webcal://")
    response = page.request.get(courses)
    assert response.ok and response.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in response.text() and "Laserkutter – grunnkurs" in response.text()

    mine = page.locator("#feed-mine").input_value()
    personal = page.request.get(mine)
    assert personal.ok and "Prusa MK4" in personal.text()


# -- (e) a booking by keyboard alone ------------------------------------------------------

def press(page: Any, key: str) -> dict[str, Any]:
    page.keyboard.press(key)
    return focused(page)


def tab_until(page: Any, wanted: str, *, limit: int = 80) -> dict[str, Any]:
    """Tab forward until the focused element matches the CSS selector; every stop on the way
    must show where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = assert_focus_visible(page)
        if page.evaluate("sel => document.activeElement.matches(sel)", wanted):
            return info
    raise AssertionError(f"{wanted} not reached in {limit} presses of Tab")


def test_booking_with_the_keyboard_alone(scene, new_page):  # type: ignore[no-untyped-def]
    page = new_page("desktop")
    log_in(page, "kari@example.no")
    page.goto(f"/equipment/{scene.printer.id}")

    # the skip link is the first stop and takes the focus to the content
    page.keyboard.press("Tab")
    skip = assert_focus_visible(page)
    assert skip["tag"] == "a" and skip["text"] == "Skip to main content"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # to the first free slot, one step too far and back
    first = tab_until(page, ".slot-free a")
    page.keyboard.press("Tab")
    assert_focus_visible(page)
    back = press(page, "Shift+Tab")
    assert back["text"] == first["text"] and back["focusVisible"]
    start = datetime.fromisoformat(parse_qs(urlsplit(first["href"]).query)["start"][0])
    submit(page, lambda: page.keyboard.press("Enter"))
    assert "/book" in page.url

    # through the booking form (filled in from the slot) to its button, pressed with Space
    assert page.locator("select[name=start]").input_value() == f"{start.astimezone(OSLO):%H:%M}"
    tab_until(page, "input[name=date]")
    tab_until(page, "select[name=start]")
    tab_until(page, "select[name=duration]")
    tab_until(page, "form.booking-form button[type=submit]")
    submit(page, lambda: page.keyboard.press("Space"))

    # the confirmation says when it ends; its button is reached and pressed with Enter
    assert "Confirm your booking" in text_of(page, "h1")
    tab_until(page, "#confirm-button")
    submit(page, lambda: page.keyboard.press("Enter"))

    assert "/bookings/" in page.url
    assert "Your booking is confirmed" in text_of(page)
    with scene.app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.user_id == scene.citizen.id,
                                                          Booking.start_at == start))
        assert booking is not None and page.url.endswith(f"/bookings/{booking.id}")
    assert page.locator(".qr-code img").count() == 1


# -- the accessibility statement ----------------------------------------------------------

def test_every_page_links_to_the_accessibility_statement(scene, new_page):  # type: ignore[no-untyped-def]
    page = new_page("phone")
    log_in(page, "lena@example.no")
    for path in ("/", f"/bookings/{scene.today.id}", "/staff/hoved/scan", "/no-such-page"):
        page.goto(path)
        link = page.get_by_role("contentinfo").get_by_role("link",
                                                           name="Accessibility statement")
        assert link.get_attribute("href") == "/accessibility", path

    submit(page, link.click)
    assert page.get_by_role("heading", level=1).inner_text() == "Accessibility statement"
    statement = text_of(page)
    assert "WCAG" in statement and "2.1" in statement and "level AA" in statement
    assert "forskrift om universell utforming" in statement
    assert "axe-core" in statement and "keyboard" in statement
    assert "Ask at your library's desk" in statement
    assert page.locator("#accessibility-contact").count() == 0  # no contact configured

    scene.app.config["ACCESSIBILITY_CONTACT"] = "folkeverksted@example.no"
    page.reload()
    contact = page.locator("#accessibility-contact a")
    assert contact.get_attribute("href") == "mailto:folkeverksted@example.no"


# -- (f) a librarian's morning at the desk (issue 16) --------------------------------------

def test_a_librarians_morning_at_the_desk(scene, new_page):  # type: ignore[no-untyped-def]
    from makerspace.booking.models import EquipmentOutage
    from makerspace.mail.models import OutboxMessage

    scene.clock.set(NOW.replace(minute=50))  # 09:50: Ola's 10:00 booking can check in
    base = scene.app.config["BASE_URL"]
    page = new_page("desktop")
    # log in: the librarian lands on her library's day
    log_in(page, "lena@example.no")
    assert page.url.endswith("/staff/hoved/")
    grid = page.locator("#day-grid")
    assert grid.is_visible() and "Ola Nordmann" in grid.inner_text()
    assert "Laserkutter – grunnkurs" in text_of(page, "#day-events")

    # scan a code
    submit(page, page.locator("#scan-link").click)
    scan_like_a_desk_scanner(page, f"{base}/c/{scene.today.checkin_token}")
    assert page.locator(".scan-result.scan-ok").is_visible()

    # a walk-in without an account, from a free cell of the grid
    page.goto("/staff/hoved/")
    free = page.locator(f"#row-{scene.printer.id} a.day-free-link").nth(1)  # 11:30
    submit(page, free.click)
    assert page.locator("input[name=start]").input_value() == "11:30"
    page.locator("input[name=name]").fill("Sofie (10 år)")
    page.locator("input[name=phone]").fill("900 00 000")
    submit(page, page.locator("#guest-form button[type=submit]").click)
    # the slip with the QR code, ready to print
    assert "/slip" in page.url
    assert "Sofie (10 år)" in text_of(page, "#slip")
    assert page.locator("img.slip-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.get_by_role("button", name="Print the slip").is_visible()
    page.goto("/staff/hoved/")
    assert "Sofie (10 år)" in text_of(page, "#day-grid")

    # the course: everyone present at once
    submit(page, page.locator(f"#day-event-{scene.course_id} h3 a").click)
    submit(page, page.locator("#all-present").click)
    assert "Attended" in text_of(page, "#confirmed")
    with scene.app.app_context():
        assert db.session.get(Signup, scene.signup_id).attended_at is not None

    # take the printer out of service after seeing who is affected
    page.goto(f"/staff/equipment/{scene.printer.id}/edit")
    page.locator("form[action$='/outage'] input[name=reason]").fill("Ødelagt dyse")
    submit(page, page.locator("form[action$='/outage'] button").click)
    summary = text_of(page, "#impact-summary")
    # Sofie's and Kari's (tomorrow); Ola is checked in already
    assert "2 bookings will be cancelled" in summary
    assert "Kari Nordmann" in text_of(page, "#affected")
    assert "Sofie (10 år)" in text_of(page, "#affected")
    with scene.app.app_context():
        assert db.session.scalar(select(EquipmentOutage)) is None  # not yet
    submit(page, page.locator("#confirm-outage").click)
    with scene.app.app_context():
        assert db.session.get(Booking, scene.booking.id).status == BookingStatus.CANCELLED
        assert db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "booking_out_of_service")) is not None


def test_an_admin_invites_a_librarian_who_sees_only_her_library(scene, new_page):  # type: ignore[no-untyped-def]
    from makerspace.mail.links import make_link
    from makerspace.mail.models import OutboxMessage

    admin = new_page("desktop")
    log_in(admin, "admin@example.no")
    admin.goto("/staff/team")
    admin.locator("input[name=email]").fill("siri@example.no")
    admin.locator("select[name=role]").select_option("librarian")
    admin.get_by_label("Steinkjer bibliotek").check()
    submit(admin, admin.locator("#invite-form button[type=submit]").click)
    assert "siri@example.no" in text_of(admin, "#pending-invitations")
    with scene.app.app_context():
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "staff_invitation"))
        link = make_link(message)

    invited = new_page("phone")
    invited.goto(link.replace(scene.app.config["BASE_URL"], ""))
    invited.locator("input[name=name]").fill("Siri Steinkjer")
    invited.locator("input[name=password]").fill(PASSWORD)
    invited.locator("input[name=password_again]").fill(PASSWORD)
    submit(invited, invited.locator("main form button[type=submit]").click)
    assert invited.url.endswith("/staff/steinkjer/")
    assert "Steinkjer bibliotek" in text_of(invited, "h1")
    assert invited.goto("/staff/hoved/").status == 404
