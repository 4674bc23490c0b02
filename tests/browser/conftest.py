"""Browser tests: the app as a real server on a free local port, driven by Debian's Chromium
through Playwright.

Each test still runs once per database (the `app` fixture of tests/conftest.py). Without
Chromium or the `playwright` package the tests skip with a message saying what to install;
with CI=true a skip fails the run (see tests/conftest.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from makerspace.accounts.models import Role

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the networking switches Chromium keeps calling home, and on a closed network those
# connections are refused (and slow the start-up).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
TIMEOUT_MS = 10_000


# -- the server ---------------------------------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    """No line per request in the captured output; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app served by werkzeug in a daemon thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    base_url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base_url  # check-in URLs and QR codes point here
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- the browser --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole session (sync API)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Browser tests need the Python package playwright: "
                    "pip install -e '.[test]' (or `make test`)")
    if not CHROMIUM.exists():
        pytest.skip(f"Browser tests need Chromium at {CHROMIUM}: "
                    "apt-get install -y chromium (Playwright's own download is not used)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (its own cookies): `new_page("phone",
    locale="nb")`; with `axe=True` every page it opens has axe-core loaded. Everything
    opened is closed at the end of the test, before the server."""
    from tests.browser.helpers import load_axe

    contexts: list[Any] = []

    def open_page(size: str = "desktop", *, locale: str = "en", axe: bool = False) -> Any:
        context = browser.new_context(base_url=live_server, locale=locale, **VIEWPORTS[size])
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        if axe:
            load_axe(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A desktop page (1280×800), pages in English."""
    return new_page("desktop")


@pytest.fixture
def phone_page(new_page: Callable[..., Any]) -> Any:
    """A phone page (375×812, touch), pages in English."""
    return new_page("phone")


# -- a small world ------------------------------------------------------------------------

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=OSLO)  # a Monday, no public holiday that week
COURSE_START = datetime(2026, 11, 30, 10, 0, tzinfo=OSLO)  # check-in from 09:45


@pytest.fixture
def scene(app: Flask, frozen_clock: Any, open_branch: Callable[..., Any],
          make_equipment: Callable[..., Any], make_user: Callable[..., Any],
          make_booking: Callable[..., Any]) -> SimpleNamespace:
    """Two libraries with machines; a laser cutter that needs the laser course, and that
    course today at 10:00; Kari with a printer booking tomorrow, a sewing-machine booking
    at Steinkjer today and a seat on the course; Ola with a printer booking today at 10:00;
    a librarian of the first library; a county admin. The clock stands at NOW (09:00)."""
    from makerspace.accounts.models import User
    from makerspace.booking.models import Equipment
    from makerspace.branches.models import Branch
    from makerspace.certifications.models import Certification
    from makerspace.certifications.services import create_certification
    from makerspace.events.services import create_event, sign_up
    from makerspace.extensions import db

    frozen_clock.set(NOW)
    hoved = open_branch("hoved", name="Trondheim folkebibliotek, Hovedbiblioteket",
                        municipality="Trondheim")
    steinkjer = open_branch("steinkjer", name="Steinkjer bibliotek", municipality="Steinkjer")
    with app.app_context():
        laser_course = create_certification(slug="laser-grunnkurs",
                                            name="Laserkutter – grunnkurs")
        db.session.commit()
        laser_course_id = laser_course.id
    printer = make_equipment(hoved, name="Prusa MK4", kind="3d-printer",
                             description="3D-skriver for PLA og PETG.")
    laser = make_equipment(hoved, name="Laserkutter", kind="laser-cutter",
                           description="CO2-laser for tre, papp og akryl.", buffer_minutes=15)
    sewing = make_equipment(steinkjer, name="Symaskin", kind="sewing-machine")
    citizen = make_user("kari@example.no", name="Kari Nordmann")
    neighbour = make_user("ola@example.no", name="Ola Nordmann")
    librarian = make_user("lena@example.no", name="Lena Bibliotekar", role=Role.LIBRARIAN,
                          branches=[hoved])
    admin = make_user("admin@example.no", name="Anne Admin", role=Role.ADMIN)
    tomorrow = NOW.replace(hour=10) + timedelta(days=1)
    booking = make_booking(printer, citizen, tomorrow.astimezone(UTC), minutes=120)
    today = make_booking(printer, neighbour, (NOW + timedelta(hours=1)).astimezone(UTC))
    elsewhere = make_booking(sewing, citizen, (NOW + timedelta(hours=1)).astimezone(UTC))
    with app.app_context():
        db.session.get(Equipment, laser.id).requires_certification_id = laser_course_id
        course = create_event(
            branch=db.session.get(Branch, hoved.id), title="Laserkutter – grunnkurs",
            description="Lær å bruke laserkutteren trygt.", instructor="Ingrid",
            start=COURSE_START.astimezone(UTC),
            end=(COURSE_START + timedelta(hours=2)).astimezone(UTC), capacity=8,
            grants_certification=db.session.get(Certification, laser_course_id))
        signup = sign_up(event=course, user=db.session.get(User, citizen.id))
        db.session.commit()
        course_id, signup_id, signup_token = course.id, signup.id, signup.checkin_token
    return SimpleNamespace(
        app=app, clock=frozen_clock, hoved=hoved, steinkjer=steinkjer, printer=printer,
        laser=laser, sewing=sewing, citizen=citizen, neighbour=neighbour, librarian=librarian,
        admin=admin, booking=booking, today=today, elsewhere=elsewhere, course_id=course_id,
        signup_id=signup_id, signup_token=signup_token, laser_course_id=laser_course_id)
