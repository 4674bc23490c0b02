"""Check-in forms are CSRF-protected: a POST without the form's token changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from makerspace.booking.models import Booking, BookingBlock, BookingStatus
from makerspace.extensions import db
from tests.test_checkin import oslo, world_fixture  # noqa: F401  (fixture)


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}


def csrf_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


def test_posts_without_a_csrf_token_are_refused(client, app, world, login):
    with app.app_context():
        token = db.session.get(Booking, world.booking.id).checkin_token
        block = BookingBlock(user_id=world.citizen.id, starts_at=oslo(8),
                             ends_at=oslo(8) + timedelta(days=30), reason="")
        db.session.add(block)
        db.session.commit()
        block_id = block.id
    world.clock.set(oslo(9, 50))
    login(world.librarian)
    assert client.post("/staff/hoved/scan", data={"code": token}).status_code == 400
    assert client.post(f"/c/{token}").status_code == 400
    assert client.post(f"/staff/people/{world.citizen.id}/blocks/{block_id}/lift"
                       ).status_code == 400
    with app.app_context():
        assert db.session.get(Booking, world.booking.id).status == BookingStatus.CONFIRMED
        assert db.session.get(BookingBlock, block_id).lifted_at is None
    page = client.get("/staff/hoved/scan")
    answer = client.post("/staff/hoved/scan",
                         data={"code": token, "csrf_token": csrf_token(page.data)})
    assert answer.status_code == 200 and b"scan-ok" in answer.data
