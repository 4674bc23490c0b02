"""axe-core and HTML_CodeSniffer on every page type, logged out and logged in, at 1280 px and
at 375 px; every page also at 320 px in all three languages.

Zero violations of WCAG 2.0/2.1 level A and AA (tags wcag2a, wcag2aa, wcag21a, wcag21aa): the
level Norwegian law requires (forskrift om universell utforming av IKT-løsninger). Fix what it
finds in the templates and CSS; never by leaving rules out. Pages are checked in Norwegian
Bokmål, the service's default language, and spot-checked in Nynorsk and English.

Each test opens every address at both sizes (two browser contexts, checked at the same time)
and reports every violation it met at once. Each engine finds what the other misses: HTML_
CodeSniffer (as pa11y runs it, WCAG2AA, errors only) reports repeated ids, headings that skip a
level and fields without a name. The phone page, and a phone page in each of the other two
languages, is also narrowed to 320 px to check that nothing needs scrolling sideways (WCAG
1.4.10 Reflow, which neither engine tests): Norwegian compounds are long. The SQLite run also
writes the screenshots of docs/screenshots/ for the README.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import NOW, OSLO
from tests.browser.helpers import AxeReport, log_in, submit
from tests.browser.screenshots import Screenshots


def book_url(equipment_id: int, start: datetime) -> str:
    return f"/equipment/{equipment_id}/book?{urlencode({'start': start.isoformat()})}"


def visit(page: Any, path: str, *, status: int = 200) -> None:
    response = page.goto(path)
    assert response is not None and response.status == status, (
        f"{path}: HTTP {response.status if response else None}, expected {status}")


def scan_code(page: Any, code: str) -> None:
    """What a desk scanner does: types into the focused input, then Enter."""
    page.locator("input[name=code]").fill(code)
    submit(page, lambda: page.keyboard.press("Enter"))


LANGUAGES = ("nb", "nn", "en")


class Viewers:
    """The same person at a desk (1280×800) and on a phone (375×812), checked by both engines;
    and on a phone in each other language, for the 320 px reflow check in all three."""

    def __init__(self, new_page: Any, *, email: str | None = None, locale: str = "nb") -> None:
        self.desktop = new_page("desktop", locale=locale, axe=True)
        self.phone = new_page("phone", locale=locale, axe=True)
        self.pages = {"desktop": self.desktop, "phone": self.phone}
        self.other_languages = {language: new_page("phone", locale=language)
                                for language in LANGUAGES if language != locale}
        if email:
            for page in self.everywhere():
                log_in(page, email)
        self.axe = AxeReport()

    def everywhere(self) -> list[Any]:
        return [*self.pages.values(), *self.other_languages.values()]

    def check_pages(self, pages: list[tuple[str, str, int]] | list[tuple[str, str]],
                    then: Any = None) -> None:
        for label, path, *status in pages:
            for page in self.everywhere():
                visit(page, path, status=status[0] if status else 200)
            self.axe.scan(label, self.desktop, self.phone)
            if then:
                then(label)
            self.reflow(label)

    def each(self, action: Any) -> None:
        for page in self.everywhere():
            action(page)

    def reflow(self, label: str) -> None:
        for page in (self.phone, *self.other_languages.values()):
            self.axe.reflow(label, page)

    def scan(self, label: str) -> None:
        self.axe.scan(label, self.desktop, self.phone)
        self.reflow(label)


@pytest.fixture
def shots(backend: str) -> Screenshots:
    return Screenshots(enabled=backend == "sqlite")


def test_public_pages(scene, new_page, shots):  # type: ignore[no-untyped-def]
    people = Viewers(new_page)

    def screenshot(label: str) -> None:
        for size, page in people.pages.items():
            if label == "front page":
                shots.take(page, "front", size)
            elif label == "machine week view":
                shots.take(page, "machine-week", size, top="#schedule-heading")
            elif label == "course page":
                shots.take(page, "course", size)
            elif label == "calendars":
                shots.take(page, "calendars", size)
            elif label == "find free time: 3D printers this evening":
                shots.take(page, "find", size, top="#results-heading" if size == "phone"
                           else None)

    people.check_pages([
        ("front page", "/", 200),
        ("libraries", "/branches/", 200),
        ("a library", "/branches/hoved", 200),
        ("machine week view", f"/equipment/{scene.printer.id}", 200),
        ("machine, one day", f"/equipment/{scene.printer.id}?day=2026-12-01", 200),
        ("machine, the week's grid", f"/equipment/{scene.printer.id}?week=2026-12-01", 200),
        ("machine that needs a course", f"/equipment/{scene.laser.id}", 200),
        ("courses", "/events", 200),
        ("courses, filtered", "/events?category=laser&age=youth&free=y", 200),
        ("course page", f"/events/{scene.course_id}", 200),
        ("calendars", "/calendars", 200),
        ("accessibility statement", "/accessibility", 200),
        ("log in", "/login", 200),
        ("register", "/register", 200),
        ("forgot password", "/password/forgot", 200),
        ("check-in code, logged out", f"/c/{scene.booking.checkin_token}", 200),
        ("find free time", "/find", 200),
        ("find free time: 3D printers this evening",
         "/find?kind=3d-printer&from=16:00&to=20:00&duration=60&branch=hoved", 200),
        ("find free time: nothing found", "/find?kind=vr-kit", 200),
        ("find free time with errors", "/find?from=20:00&to=16:00", 422),
        ("embedded view of a library", "/embed/hoved?lang=nb", 200),
        ("404 page", "/no-such-page", 404),
    ], then=screenshot)

    def register_empty(page: Any) -> None:
        visit(page, "/register")
        submit(page, page.locator("main form button[type=submit]").click)
        assert page.locator(".error-summary").is_visible()

    people.each(register_empty)
    people.scan("register with errors")

    def wrong_password(page: Any) -> None:
        visit(page, "/login")
        page.locator("input[name=email]").fill("nobody@example.no")
        page.locator("input[name=password]").fill("wrong password")
        submit(page, page.locator("main form button[type=submit]").click)
        assert page.locator(".error-summary").is_visible()

    people.each(wrong_password)
    people.scan("log in with errors")
    people.axe.check()


def test_citizen_pages(scene, new_page, shots):  # type: ignore[no-untyped-def]
    people = Viewers(new_page, email="kari@example.no")
    later = datetime(2026, 12, 2, 12, 0, tzinfo=OSLO)

    def screenshot(label: str) -> None:
        if label == "booking page with QR code":
            for size, page in people.pages.items():
                shots.take(page, "booking-qr", size, top="h1")

    people.check_pages([
        ("front page, logged in", "/"),
        ("machine week view, logged in", f"/equipment/{scene.printer.id}"),
        ("machine that needs a course, logged in", f"/equipment/{scene.laser.id}"),
        ("booking form", book_url(scene.printer.id, later)),
        ("booking page with QR code", f"/bookings/{scene.booking.id}"),
        ("my bookings", "/me/bookings"),
        ("course page, signed up", f"/events/{scene.course_id}"),
        ("my courses", "/me/events"),
        ("profile", "/profile"),
        ("find free time, logged in", "/find"),
        ("calendars, logged in", "/calendars"),
        ("check-in code, owner", f"/c/{scene.booking.checkin_token}"),
        ("cancel a booking?", f"/bookings/{scene.booking.id}/cancel"),
    ], then=screenshot)

    def confirmation_step(page: Any) -> None:
        visit(page, book_url(scene.printer.id, later))
        submit(page, page.locator("main form.booking-form button[type=submit]").click)
        assert page.locator("#booking-preview").is_visible()

    people.each(confirmation_step)
    people.scan("booking confirmation")

    def refused_for_lack_of_the_course(page: Any) -> None:
        visit(page, book_url(scene.laser.id, later))
        submit(page, page.locator("main form.booking-form button[type=submit]").click)
        assert page.locator("#refusal").is_visible()
        # WCAG 4.1.3: the focus moves to why, not left on the body
        page.wait_for_function("document.activeElement && document.activeElement.id === 'refusal'")

    people.each(refused_for_lack_of_the_course)
    people.scan("booking form with a refusal")

    def refused_slot_taken(page: Any) -> None:
        visit(page, book_url(scene.printer.id, NOW + timedelta(hours=1)))
        submit(page, page.locator("main form.booking-form button[type=submit]").click)
        assert page.locator("#suggestions").is_visible()

    people.each(refused_slot_taken)
    people.scan("booking form with a refusal and the nearest free times")

    def wait_for_the_taken_slot(page: Any) -> None:
        visit(page, book_url(scene.printer.id, NOW + timedelta(hours=1)))
        submit(page, page.locator("main form.booking-form button[type=submit]").click)
        # one click waits (the first page); the others are told they wait already
        submit(page, page.locator("#wait-for-it").click)

    people.each(wait_for_the_taken_slot)
    people.scan("my bookings with a wait, or waiting refused")
    people.check_pages([("wait form", f"/equipment/{scene.printer.id}/wait?"
                         + urlencode({"start": (NOW + timedelta(hours=1)).isoformat()}))])

    def invalid_form(page: Any) -> None:
        visit(page, f"/equipment/{scene.printer.id}/book")
        page.locator("input[name=date]").fill("")
        submit(page, page.locator("main form.booking-form button[type=submit]").click)
        assert page.locator(".error-summary").is_visible()
        page.wait_for_function("document.activeElement.classList.contains('error-summary')")

    people.each(invalid_form)
    people.scan("booking form with errors")
    people.axe.check()


def test_librarian_pages(scene, new_page, shots):  # type: ignore[no-untyped-def]
    people = Viewers(new_page, email="lena@example.no")
    people.check_pages([
        ("staff dashboard", "/staff/"),
        ("staff: a library", "/staff/hoved/"),
        ("staff: new machine", "/staff/hoved/equipment/new"),
        ("staff: edit machine", f"/staff/equipment/{scene.laser.id}/edit"),
        ("staff: a machine's connection", f"/staff/equipment/{scene.printer.id}/connection"),
        ("staff: opening hours", "/staff/hoved/hours"),
        ("staff: closures", "/staff/hoved/closures"),
        ("staff: walk-in booking", "/staff/hoved/book"),
        ("staff: courses", "/staff/hoved/events"),
        ("staff: new course", "/staff/hoved/events/new"),
        ("staff: new series", "/staff/hoved/events/series"),
        ("staff: edit course", f"/staff/events/{scene.course_id}/edit"),
        ("staff: attendees", f"/staff/events/{scene.course_id}/attendees"),
        ("staff: grant certification", "/staff/hoved/certifications/grant"),
        ("staff: people", "/staff/people"),
        ("staff: confirm an address at the desk", "/staff/people/verify"),
        ("staff: a person's certifications", f"/staff/people/{scene.citizen.id}/certifications"),
        ("staff: a person's blocks", f"/staff/people/{scene.citizen.id}/blocks"),
        ("staff: a booking", f"/bookings/{scene.today.id}"),
        ("staff: check-in code", f"/c/{scene.today.checkin_token}"),
        ("staff: statistics", "/staff/statistics/"),
        ("scan station", "/staff/hoved/scan"),
        ("staff: a library, another day", "/staff/hoved/?date=2026-12-01"),
        ("staff: guest booking", f"/staff/hoved/guest?equipment={scene.printer.id}"
                                 "&date=2026-11-30&time=12:00"),
        ("staff: close for a while", "/staff/hoved/closure"),
        ("staff: the library's staff", "/staff/hoved/team"),
    ])

    # the desk's own answers and forms
    def guest_booking_and_slip(page: Any) -> None:
        visit(page, f"/staff/hoved/guest?equipment={scene.printer.id}&date=2026-11-30"
                    "&time=14:00")
        page.locator("input[name=name]").fill("Gjest Gjestesen")
        submit(page, page.locator("#guest-form button[type=submit]").click)
        assert "/slip" in page.url

    guest_booking_and_slip(people.desktop)
    visit(people.phone, people.desktop.url)
    people.scan("staff: guest slip")

    def too_early(page: Any) -> None:  # Ola's booking at 10:00, check-in from 09:45
        visit(page, "/staff/hoved/scan")
        scan_code(page, f"{scene.app.config['BASE_URL']}/c/{scene.today.checkin_token}")
        assert page.locator("#anyway-form").is_visible()

    people.each(too_early)
    people.scan("scan station, too early")

    def outage_question(page: Any) -> None:
        visit(page, f"/staff/equipment/{scene.printer.id}/edit")
        page.locator("input[name=reason]").first.fill("Ødelagt dyse")
        submit(page, page.locator("form[action$='/outage'] button").click)
        assert page.locator("#impact-summary").is_visible()

    people.each(outage_question)
    people.scan("staff: out of service, who is affected")
    people.each(lambda page: visit(page, "/staff/hoved/scan"))

    # 09:50: the check-in window of Ola's booking and of Kari's course (both 10:00) is open.
    scene.clock.set(NOW.replace(minute=50))
    base = scene.app.config["BASE_URL"]
    codes = {"desktop": scene.today.checkin_token, "phone": scene.signup_token}
    for size, page in people.pages.items():
        scan_code(page, f"{base}/c/{codes[size]}")
        assert page.locator(".scan-result.scan-ok").is_visible()
        shots.take(page, "scan-answer", size, top="h1")
    people.scan("scan station, green answer")
    for size, page in people.pages.items():
        scan_code(page, f"{base}/c/{codes[size]}")
        assert page.locator(".scan-result.scan-warn").is_visible()
    people.scan("scan station, amber answer")
    for page in people.pages.values():
        scan_code(page, f"{base}/c/{scene.elsewhere.checkin_token}")
        assert page.locator(".scan-result.scan-error").is_visible()
    people.scan("scan station, red answer")

    def new_machine_without_a_name(page: Any) -> None:
        visit(page, "/staff/hoved/equipment/new")
        submit(page, page.locator("main form button[type=submit]").first.click)
        assert page.locator(".error-summary").is_visible()

    people.each(new_machine_without_a_name)
    people.scan("staff: new machine with errors")

    def new_course_without_a_title(page: Any) -> None:
        visit(page, "/staff/hoved/events/new")
        submit(page, page.locator("main form button[type=submit]").first.click)
        assert page.locator(".error-summary").is_visible()

    people.each(new_course_without_a_title)
    people.scan("staff: new course with errors")
    people.axe.check()


def test_admin_pages(scene, new_page):  # type: ignore[no-untyped-def]
    people = Viewers(new_page, email="admin@example.no")
    people.check_pages([
        ("admin: staff dashboard", "/staff/"),
        ("admin: new library", "/staff/admin/branches/new"),
        ("admin: edit a library", "/staff/admin/branches/hoved/edit"),
        ("a library, admin", "/branches/hoved"),
        ("admin: certifications", "/staff/admin/certifications"),
        ("admin: people", "/staff/people"),
        ("admin: staff and roles", "/staff/team"),
        ("admin: a staff member", f"/staff/team/{scene.librarian.id}"),
        ("admin: outbox", "/admin/outbox"),
        ("admin: statistics, a year", "/staff/statistics/?period=year"),
        ("admin: statistics, a period that ends before it starts",
         "/staff/statistics/?period=custom&from=2026-12-31&to=2026-01-01", 422),
    ])
    people.axe.check()


@pytest.mark.parametrize("locale", ["nn", "en"])
def test_pages_in_nynorsk_and_english(scene, new_page, locale):  # type: ignore[no-untyped-def]
    """Other languages, other words and lengths: spot-check the main pages."""
    people = Viewers(new_page, locale=locale)
    people.check_pages([
        ("front page", "/"),
        ("machine week view", f"/equipment/{scene.printer.id}"),
        ("course page", f"/events/{scene.course_id}"),
        ("accessibility statement", "/accessibility"),
    ])
    for page in people.pages.values():
        assert page.locator("html").get_attribute("lang") == locale
        log_in(page, "admin@example.no")
    people.check_pages([("statistics", "/staff/statistics/?period=quarter")])
    people.axe.check()
