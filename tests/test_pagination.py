"""Long lists come a page at a time, with links to the next and previous page; nothing is cut
off silently. And the pages ask the services' rules (leave_refusal) for their buttons."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from makerspace.accounts.models import User
from makerspace.booking.models import BookingStatus
from makerspace.branches.models import Branch
from makerspace.core.pagination import PER_PAGE
from makerspace.events.services import create_event, leave_refusal, sign_up
from makerspace.extensions import db

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _links(page: str) -> dict[str, str]:
    return {rel: href.replace("&amp;", "&") for href, rel in
            re.findall(r'<a href="([^"]+)" rel="(prev|next)"', page)}


def test_past_bookings_come_a_page_at_a_time(client, login, frozen_clock, make_user,
                                             make_equipment, make_booking):
    frozen_clock.set(NOW)
    person = make_user()
    machine = make_equipment()
    for n in range(PER_PAGE + 10):
        make_booking(machine, person, NOW - timedelta(days=n + 1, hours=1),
                     status=BookingStatus.COMPLETED)
    login(person)
    first = client.get("/me/bookings").get_data(as_text=True)
    assert first.count('class="card booking-item"') == PER_PAGE
    links = _links(first)
    assert set(links) == {"next"}
    second = client.get(links["next"]).get_data(as_text=True)
    assert set(_links(second)) == {"prev"}
    assert second.count('class="card booking-item"') == 10


def test_the_course_list_has_pages(client, frozen_clock, open_branch, app):
    frozen_clock.set(NOW)
    branch = open_branch()
    with app.app_context():
        hoved = db.session.get(Branch, branch.id)
        for n in range(PER_PAGE + 1):
            start = NOW + timedelta(days=1, minutes=30 * n)
            create_event(branch=hoved, title=f"Kurs {n:03d}", start=start,
                         end=start + timedelta(minutes=30), capacity=5)
        db.session.commit()
    first = client.get("/events").get_data(as_text=True)
    assert "Kurs 000" in first and f"Kurs {PER_PAGE:03d}" not in first
    second = client.get(_links(first)["next"]).get_data(as_text=True)
    assert f"Kurs {PER_PAGE:03d}" in second and "Kurs 000" not in second


def test_leaving_follows_one_rule_for_pages_and_service(app_ctx, frozen_clock, open_branch,
                                                        make_user):
    frozen_clock.set(NOW)
    branch = db.session.get(Branch, open_branch().id)
    person = db.session.get(User, make_user().id)
    event = create_event(branch=branch, title="Kurs", start=NOW + timedelta(hours=2),
                         end=NOW + timedelta(hours=4), capacity=1)
    signup = sign_up(event=event, user=person)
    assert leave_refusal(signup, by=person) is None
    assert event.seats_left(1) == 0 and event.seats_left(0) == 1
    frozen_clock.set(NOW + timedelta(hours=3))
    assert leave_refusal(signup, by=person).code == "signup_closed"
    other = db.session.get(User, make_user().id)
    assert leave_refusal(signup, by=other).code == "not_found"
