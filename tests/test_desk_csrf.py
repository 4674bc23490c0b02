"""The desk's forms are CSRF-protected: a POST without the form's token changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from makerspace.accounts.invitations import Invitation
from makerspace.booking.models import Booking, Equipment
from makerspace.branches.models import Branch
from makerspace.extensions import db
from tests.test_desk import DAY, desk  # noqa: F401  (fixture)


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}


def test_desk_posts_without_a_csrf_token_are_refused(client, app, login, desk):  # noqa: F811
    login(desk["admin"])
    printer, lib = desk["printer"].id, desk["librarian"].id
    posts = {
        "/staff/hoved/guest": {"equipment": printer, "day": DAY, "start": "12:00",
                               "minutes": "60", "name": "Ola"},
        "/staff/hoved/closure": {"notice": "Stengt", "from_date": DAY},
        "/staff/team": {"email": "x@example.no", "role": "admin"},
        f"/staff/team/{lib}/role": {"role": "citizen"},
        f"/staff/equipment/{printer}/retire": {"reason": "Gammel"},
        "/staff/hoved/scan/anyway": {"code": "x", "reason": "y"},
    }
    for path, data in posts.items():
        answer = client.post(path, data=data)
        assert answer.status_code in (302, 400, 422), path
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 1  # only the scene's
        assert db.session.scalar(select(func.count(Invitation.id))) == 0
        assert db.session.get(Branch, desk["branch"].id).closure_notice == ""
        assert db.session.get(Equipment, printer).retired_at is None
        from makerspace.accounts.models import Role, User
        assert db.session.get(User, lib).role == Role.LIBRARIAN
