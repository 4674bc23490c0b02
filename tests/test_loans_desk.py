"""Kits at the desk (issue 20): a librarian lends a kit to someone the library knows, by the
same rules and pool as a person's own loan; the staff day view lists the loans going out and
due back instead of showing kits as empty rows of the slot grid."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.booking.models import Equipment
from makerspace.core.audit import AuditAction, AuditEntry
from makerspace.extensions import db
from makerspace.loans import errors, services
from makerspace.loans.models import Loan, LoanStatus
from makerspace.staff.services import day_view
from tests.test_guardians import _csrf

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday 10:00 in Oslo
TODAY = date(2026, 12, 7)


@pytest.fixture
def app_config() -> dict:
    return {"WTF_CSRF_ENABLED": True}  # the desk form's token is proved below


@pytest.fixture
def scene(app, open_branch, make_equipment, make_user, make_booking):  # type: ignore[no-untyped-def]
    clock.freeze(NOW)
    branch = open_branch("hoved")
    other = open_branch("annen")
    kit = make_equipment(branch, name="VR-sett", kind="kit", quantity=1, max_loan_days=7)
    printer = make_equipment(branch, name="Prusa MK4")
    known = make_user("kjent@example.no", name="Kjent Person")
    make_booking(printer, known, NOW - timedelta(days=3))  # known at the branch
    stranger = make_user("ukjent@example.no", name="Ukjent")
    librarian = make_user("bib@example.no", role=Role.LIBRARIAN, branches=[branch])
    outsider = make_user("annen@example.no", role=Role.LIBRARIAN, branches=[other])
    return {"branch": branch, "kit": kit, "printer": printer, "known": known,
            "stranger": stranger, "librarian": librarian, "outsider": outsider}


def _get(model, obj):  # type: ignore[no-untyped-def]
    return db.session.get(model, obj.id)


def test_lent_today_is_handed_over_at_once_and_later_waits(app_ctx, scene):
    lent = services.lend_at_desk(person=_get(User, scene["known"]),
                                 kit=_get(Equipment, scene["kit"]), pickup=TODAY,
                                 back=TODAY + timedelta(days=2),
                                 by=_get(User, scene["librarian"]))
    assert lent.status == LoanStatus.PICKED_UP and lent.picked_up_by_id == scene["librarian"].id
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {AuditAction.LOAN_LENT_AT_DESK, AuditAction.LOAN_PICKED_UP} <= actions
    with pytest.raises(errors.NoCopiesLeft):  # the one copy is out: the pool holds
        services.lend_at_desk(person=_get(User, scene["stranger"]),
                              kit=_get(Equipment, scene["kit"]), pickup=TODAY,
                              back=TODAY + timedelta(days=1), by=_get(User, scene["librarian"]))
    later = services.lend_at_desk(person=_get(User, scene["stranger"]),
                                  kit=_get(Equipment, scene["kit"]),
                                  pickup=TODAY + timedelta(days=3),
                                  back=TODAY + timedelta(days=4),
                                  by=_get(User, scene["librarian"]))
    assert later.status == LoanStatus.RESERVED
    with pytest.raises(errors.LoanNotFound):  # another library's staff
        services.lend_at_desk(person=_get(User, scene["known"]),
                              kit=_get(Equipment, scene["kit"]),
                              pickup=TODAY + timedelta(days=5),
                              back=TODAY + timedelta(days=6), by=_get(User, scene["outsider"]))


def test_the_day_view_lists_loans_and_keeps_kits_off_the_grid(app_ctx, scene):
    services.lend_at_desk(person=_get(User, scene["known"]), kit=_get(Equipment, scene["kit"]),
                          pickup=TODAY, back=TODAY + timedelta(days=2),
                          by=_get(User, scene["librarian"]))
    branch = _get(type(scene["branch"]), scene["branch"])
    view = day_view(branch, TODAY, NOW)
    assert [r.equipment.name for r in view.grid_rows] == ["Prusa MK4"]
    assert [loan.equipment.name for loan in view.loans_out] == ["VR-sett"]
    assert view.loans_back == []
    back = day_view(branch, TODAY + timedelta(days=2), NOW)
    assert [loan.status for loan in back.loans_back] == [LoanStatus.PICKED_UP]


def test_the_desk_form_lends_to_a_known_person_only(client, app, scene, login):
    login(scene["librarian"])
    desk = client.get("/staff/hoved/loans")
    assert 'id="lend-link"' in desk.text
    form = client.get("/staff/hoved/loans/new")
    assert form.status_code == 200 and 'name="email"' in form.text
    data = {"csrf_token": _csrf(form.text), "kit": str(scene["kit"].id),
            "pickup_date": TODAY.isoformat(),
            "return_date": (TODAY + timedelta(days=2)).isoformat()}
    unknown = client.post("/staff/hoved/loans/new", data={**data, "email": "ukjent@example.no"})
    assert unknown.status_code == 422
    too_long = client.post("/staff/hoved/loans/new", data={
        **data, "email": "kjent@example.no",
        "return_date": (TODAY + timedelta(days=9)).isoformat()})
    assert too_long.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Loan.id)) is None
    lent = client.post("/staff/hoved/loans/new", data={**data, "email": "kjent@example.no"})
    assert lent.status_code == 302
    with app.app_context():
        loan = db.session.scalar(select(Loan))
        assert (loan.user_id, loan.status) == (scene["known"].id, LoanStatus.PICKED_UP)
    assert client.get(lent.headers["Location"]).status_code == 200
    day = client.get("/staff/hoved/")
    assert day.status_code == 200 and f'data-loan="{loan.id}"' in day.text
    assert f'id="row-{scene["kit"].id}"' not in day.text  # not a row of the slot grid
    assert client.post("/staff/hoved/loans/new", data=data).status_code == 422  # no e-mail
    login(scene["outsider"])
    assert client.get("/staff/hoved/loans/new").status_code == 404


def test_the_desk_form_needs_a_csrf_token(client, scene, login):
    login(scene["librarian"])
    refused = client.post("/staff/hoved/loans/new", data={
        "kit": str(scene["kit"].id), "email": "kjent@example.no",
        "pickup_date": TODAY.isoformat(), "return_date": (TODAY + timedelta(days=1)).isoformat()})
    assert refused.status_code in (302, 400, 422)
    with client.application.app_context():
        assert db.session.scalar(select(Loan.id)) is None
