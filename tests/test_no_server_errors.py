"""Bad input never gives a 500: every route, called with nonsense, answers 4xx (or 2xx/3xx)."""

from __future__ import annotations

import pytest

from makerspace.accounts.models import Role
from tests.helpers import bearer

JUNK_FORM = {"email": "not an e-mail", "start": "yesterday-ish", "day": "32.13.2026",
             "minutes": "-5", "capacity": "many", "lang": "xx", "code": "%%%", "reason": "",
             "name": "x" * 5000, "birth_year": "1800", "week": "soon", "next": "//evil"}
JUNK_JSON = {"equipment_id": "one", "start": "tomorrow", "end": None, "capacity": -1,
             "title": 7, "weekly": {"mon": "always"}, "slug": "Ø Ø", "code": 12,
             "user_email": ["x"], "valid_months": "twelve"}


def _paths(app):  # type: ignore[no-untyped-def]
    """Every rule, with ids that do not exist and ids (1) that do."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for number in ("999999", "1"):
            path = rule.rule
            for name, converter in rule._converters.items():  # noqa: SLF001
                value = number if type(converter).__name__ == "IntegerConverter" else "nope"
                path = path.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
            yield path, sorted(rule.methods - {"HEAD", "OPTIONS"})


@pytest.fixture
def admin(make_user, make_token):
    user = make_user("admin@example.no", role=Role.ADMIN)
    return user, make_token(user)


def test_every_route_survives_nonsense(app, client, login, admin, open_branch, make_equipment,
                                       make_booking, frozen_clock):
    from datetime import UTC, datetime

    frozen_clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    printer = make_equipment(open_branch("nope"))
    make_booking(printer, admin[0], datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with app.app_context():  # an event and a sign-up with id 1 as well
        from makerspace.accounts.models import User
        from makerspace.branches.models import Branch
        from makerspace.events.services import create_event, sign_up
        from makerspace.extensions import db

        event = create_event(branch=db.session.get(Branch, printer.branch_id), title="Kurs",
                             start=datetime(2026, 12, 2, 16, tzinfo=UTC),
                             end=datetime(2026, 12, 2, 18, tzinfo=UTC), capacity=3)
        sign_up(event=event, user=db.session.get(User, admin[0].id))
        db.session.commit()
    user, token = admin
    login(user)
    checked = 0
    for path, methods in _paths(app):
        for method in methods:
            for query in ("", "?from=never&days=x&week=soon&branch=none&start=x&lang=zz"):
                login(user)  # again: a POST to /logout on the way must not hide the rest
                if method == "GET":
                    response = client.get(path + query)
                elif path.startswith("/api/"):
                    response = client.open(path + query, method=method, json=JUNK_JSON,
                                           headers=bearer(token))
                else:
                    response = client.open(path + query, method=method, data=JUNK_FORM)
                assert response.status_code < 500, (method, path + query, response.status_code)
                checked += 1
    assert checked > 100
