"""The staff page of a machine's connection: the branch's staff and admins connect, change
and remove it with the API's services; the key goes in and is never shown; others get 404;
a POST without the form's token changes nothing (both databases)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from makerspace.accounts.models import Role
from makerspace.extensions import db
from makerspace.machines import credentials
from makerspace.machines.models import ConnectionKind, MachineConnection

KEY = "OCTO-SECRET-5a4b3c"


@pytest.fixture(name="scene")
def scene_fixture(open_branch, make_equipment, make_user):  # type: ignore[no-untyped-def]
    branch = open_branch("hoved")
    other = open_branch("annen")
    printer = make_equipment(branch, name="Prusa MK4")
    return {"printer": printer,
            "librarian": make_user("lib@example.no", role=Role.LIBRARIAN, branches=[branch]),
            "admin": make_user("admin@example.no", role=Role.ADMIN),
            "outsider": make_user("out@example.no", role=Role.LIBRARIAN, branches=[other]),
            "citizen": make_user("kari@example.no")}


def _path(scene) -> str:  # type: ignore[no-untyped-def]
    return f"/staff/equipment/{scene['printer'].id}/connection"


def _saved(app) -> MachineConnection | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session.scalar(select(MachineConnection))
        if found is not None:
            db.session.expunge(found)
        return found


FORM = {"kind": "octoprint", "url": "http://10.0.0.12/", "api_key": KEY,
        "check_in_on_start": "y", "finish_on_end": "y"}


def test_staff_connect_change_and_remove_and_the_key_never_shows(app, client, login, scene):
    login(scene["librarian"])
    edit = client.get(f"/staff/equipment/{scene['printer'].id}/edit").get_data(as_text=True)
    assert f'href="{_path(scene)}"' in edit
    page = client.get(_path(scene))
    assert page.status_code == 200 and 'id="connection-remove"' not in page.get_data(True)
    answer = client.post(_path(scene), data=FORM)
    assert answer.status_code == 302
    saved = _saved(app)
    assert (saved.kind, saved.url, saved.finish_on_end) == (ConnectionKind.OCTOPRINT,
                                                             "http://10.0.0.12", True)
    with app.app_context():
        assert credentials.decrypt(saved.api_key_encrypted) == KEY
    shown = client.get(_path(scene)).get_data(as_text=True)
    assert KEY not in shown and 'id="key-state"' in shown and 'id="remove_key"' in shown
    assert 'value="http://10.0.0.12"' in shown
    # An empty key keeps the saved one; the box turns the machine's job end off.
    client.post(_path(scene), data={**FORM, "kind": "moonraker", "api_key": "",
                                    "finish_on_end": ""})
    saved = _saved(app)
    assert (saved.kind, saved.finish_on_end) == (ConnectionKind.MOONRAKER, False)
    assert saved.api_key_encrypted
    client.post(_path(scene), data={**FORM, "api_key": "", "remove_key": "y"})
    assert _saved(app).api_key_encrypted is None
    assert "remove_key" not in client.get(_path(scene)).get_data(as_text=True)
    assert client.post(_path(scene) + "/remove").status_code == 302
    assert _saved(app) is None


def test_a_bad_address_is_shown_at_the_field_in_the_persons_language(app, client, login,
                                                                     scene):
    login(scene["admin"])  # admins anywhere
    answer = client.post(_path(scene), data={**FORM, "url": "ftp://10.0.0.12"},
                         headers={"Accept-Language": "nb"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert re.search(r'<title>Feil: ', html) and 'href="#url"' in html
    assert 'aria-invalid="true"' in html and "http://" in html
    assert KEY not in html  # not even the key just typed
    assert _saved(app) is None


@pytest.mark.parametrize("who", ["outsider", "citizen", None])
def test_others_get_404(app, client, login, scene, who):  # type: ignore[no-untyped-def]
    if who is not None:
        login(scene[who])
    for answer in (client.get(_path(scene)), client.post(_path(scene), data=FORM),
                   client.post(_path(scene) + "/remove")):
        assert answer.status_code == (404 if who else 302)
    assert _saved(app) is None
    if who is not None:
        assert client.get("/staff/equipment/999999/connection").status_code == 404


class TestWithCsrf:
    @pytest.fixture
    def app_config(self) -> dict:
        return {"WTF_CSRF_ENABLED": True}

    def test_posts_without_the_token_change_nothing(self, app, client, login, scene):
        login(scene["librarian"])
        assert client.post(_path(scene), data=FORM).status_code in (400, 422)
        with app.app_context():
            assert db.session.scalar(select(func.count(MachineConnection.id))) == 0
            db.session.add(MachineConnection(equipment_id=scene["printer"].id, failures=0,
                                             kind=ConnectionKind.OCTOPRINT, url="http://o"))
            db.session.commit()
        client.post(_path(scene) + "/remove")
        assert _saved(app) is not None  # still connected
