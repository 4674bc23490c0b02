"""The API against its own OpenAPI document, tried by schemathesis with every check: valid and
invalid input for every operation, as a citizen, a librarian and a county admin, on both
databases. Zero failures: the document and the API agree.

Bounded (MAX_EXAMPLES per operation and role) to keep the suite quick; each test is rolled back
like any other, so whatever schemathesis creates is gone afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from makerspace.accounts.models import Role, User
from makerspace.branches.models import Branch
from makerspace.events.services import create_event, sign_up
from makerspace.extensions import db
from tests.helpers import api_document, bearer

MAX_EXAMPLES = 25
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
# Input that fits the schema may still be refused by a rule the schema cannot say (opening
# hours, quotas, a booking in the past): 422 with that rule's code is a right answer to it.
RULE_REFUSALS = ["2xx", "401", "403", "404", "409", "422"]
# The API ignores query parameters it does not know (as it ignores unknown body fields), so
# old clients and cache-busting parameters keep working: not a refusal to test for.
CONFIG = SchemathesisConfig.from_dict({
    "generation": {"allow-extra-parameters": False},
    "checks": {"positive_data_acceptance": {"expected-statuses": RULE_REFUSALS}},
    # A scanned text of the right shape that is no one's code: 400 `invalid_code`.
    "operations": [{"include-path": "/checkins", "checks": {"positive_data_acceptance": {
        "expected-statuses": [*RULE_REFUSALS, "400"]}}}],
})


@pytest.fixture
def api_world(app, frozen_clock, open_branch, make_equipment, make_user, make_token,
              make_booking):
    """A branch with a machine, a booking and a course; a token per role."""
    frozen_clock.set(NOW)
    branch = open_branch("hoved")
    machine = make_equipment(branch)
    citizen = make_user("kari@example.no")
    librarian = make_user("lib@example.no", role=Role.LIBRARIAN, branches=[branch])
    admin = make_user("admin@example.no", role=Role.ADMIN)
    make_booking(machine, citizen, NOW + timedelta(days=1))
    with app.app_context():
        event = create_event(branch=db.session.get(Branch, branch.id), title="Kurs",
                             start=NOW + timedelta(days=2), end=NOW + timedelta(days=2, hours=2),
                             capacity=5)
        sign_up(event=event, user=db.session.get(User, citizen.id))
        db.session.commit()
    return {"citizen": make_token(citizen), "librarian": make_token(librarian),
            "admin": make_token(admin)}


# The document does not depend on the database: loaded once; each test points it at its app.
schema = schemathesis.openapi.from_dict(api_document(), config=CONFIG)


def _call(case, app, token: str) -> None:  # type: ignore[no-untyped-def]
    case.operation.schema.app = app  # the checks' own probes go there too
    case.call_and_validate(headers=bearer(token), app=app)


BOUNDED = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])


@schema.parametrize()
@BOUNDED
def test_as_a_citizen(case, app, api_world):
    _call(case, app, api_world["citizen"])


@schema.parametrize()
@BOUNDED
def test_as_a_librarian(case, app, api_world):
    _call(case, app, api_world["librarian"])


@schema.parametrize()
@BOUNDED
def test_as_a_county_admin(case, app, api_world):
    _call(case, app, api_world["admin"])
