"""A guardian's consent for a course in Chromium: a young person signs up naming a guardian;
the guardian opens the link from the e-mail, agrees, and later withdraws. The guardian's page
is checked with axe-core and HTML_CodeSniffer (WCAG 2.1 AA) at 1280 and 375 px at each step.
Elements are found by id and data attributes, not by their words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from makerspace.branches.models import Branch
from makerspace.events.models import Signup, SignupStatus
from makerspace.events.services import create_event
from makerspace.extensions import db
from makerspace.mail.links import make_link
from makerspace.mail.models import OutboxMessage
from tests.browser.helpers import AxeReport, log_in, submit

START = datetime(2026, 12, 9, 16, 0, tzinfo=UTC)  # a Wednesday, 17:00 in Oslo


def test_a_guardian_agrees_and_withdraws_on_their_page(scene, new_page, make_user):
    make_user("ung@example.no", name="Sofie Ung", birth_year=2014)
    with scene.app.app_context():
        course = create_event(branch=db.session.get(Branch, scene.hoved.id),
                              title="Lodding for unge", start=START,
                              end=START + timedelta(hours=2), capacity=6,
                              guardian_consent_under=15)
        db.session.commit()
        course_id = course.id
    report = AxeReport()
    young = new_page("desktop")
    log_in(young, "ung@example.no")
    young.goto(f"/events/{course_id}")
    young.locator("#guardian_email").fill("mor@example.no")
    submit(young, lambda: young.locator("#signup-button").click())
    assert young.locator("#consent-pending").is_visible()
    assert young.locator("#signup-qr").count() == 0

    with scene.app.app_context():
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.kind == "guardian_consent"))
        path = urlsplit(make_link(message)).path
    guardian, guardian_phone = new_page("desktop", axe=True), new_page("phone", axe=True)
    for page in (guardian, guardian_phone):
        page.goto(path)
    card = guardian.locator("#consents > li")
    assert card.get_attribute("data-status") == "pending"
    report.scan("guardian's page: asked", guardian, guardian_phone)
    report.reflow("guardian's page", guardian_phone)

    submit(guardian, lambda: card.locator("button[id^=give-]").click())
    assert card.get_attribute("data-status") == "given"
    guardian_phone.reload()
    report.scan("guardian's page: agreed", guardian, guardian_phone)
    young.reload()
    assert young.locator("#signup-qr").is_visible()  # the check-in code comes with consent

    submit(guardian_phone, lambda: guardian_phone.locator(
        "#consents > li button[id^=withdraw-]").click())
    assert guardian_phone.locator("#consents > li").get_attribute("data-status") == "withdrawn"
    guardian.reload()
    report.scan("guardian's page: withdrawn", guardian, guardian_phone)
    with scene.app.app_context():
        assert db.session.scalar(select(Signup.status).where(
            Signup.event_id == course_id)) == SignupStatus.CANCELLED
    report.check()
