"""The Norwegian log-ins in Chromium: the log-in page with every way to log in, the card
form and its refusals, the welcome page and the linked log-ins on the profile pass axe at
1280 and 375 px; ID-porten end to end through the stand-in provider's pages; the card log-in
against the stand-in library system."""

from __future__ import annotations

import json
from typing import Any

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import select

from makerspace.extensions import db
from makerspace.identity.models import Identity
from tests import standins
from tests.browser.helpers import submit
from tests.browser.test_axe import Viewers, visit
from tests.sip2_standin import INSTITUTION, SIP_PASSWORD, SIP_USER

CLIENT = {"client_id": "folkeverksted-browser", "client_secret": "browser-test-secret",
          "grant_types": ["authorization_code"], "response_types": ["code"],
          "token_endpoint_auth_method": "client_secret_basic"}


@pytest.fixture
def stand_ins(app, live_server, tmp_path):  # type: ignore[no-untyped-def]
    """A library system and an OpenID provider that knows this live server's callbacks."""
    key = RSAKey.generate_key(2048, parameters={"kid": "browser", "use": "sig",
                                                "alg": "RS256"}, private=True)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    clients = [{**CLIENT, "redirect_uris": [f"{live_server}/login/with/{p}/callback"
                                            for p in ("idporten", "feide")]}]
    with standins.sip2_server() as sip2_port, standins.oidc_provider(clients, keys) as issuer:
        app.extensions.pop("identity_oauth", None)
        app.config.update({
            "SIP2_HOST": "127.0.0.1", "SIP2_PORT": sip2_port, "SIP2_USER": SIP_USER,
            "SIP2_PASSWORD": SIP_PASSWORD, "SIP2_INSTITUTION": INSTITUTION,
            "SIP2_CHECKSUM": False, "SIP2_BIRTHDATE_FIELD": "PB", "SIP2_EXPIRY_FIELD": "PA",
            **{f"{p}_{name}": value for p in ("IDPORTEN", "FEIDE") for name, value in (
                ("ISSUER", issuer), ("CLIENT_ID", CLIENT["client_id"]),
                ("CLIENT_SECRET", CLIENT["client_secret"]),
                ("SCOPES", "openid profile email"))}})
        yield issuer
        app.extensions.pop("identity_oauth", None)


def card_log_in(page: Any, card: str, pin: str) -> None:
    visit(page, "/login")
    # By address and field name, not by text: the viewers include the nn and en pages.
    submit(page, page.locator("main a[href^='/login/card']").click)
    page.locator("input[name=card_number]").fill(card)
    page.locator("input[name=pin]").fill(pin)
    submit(page, page.locator("main form button[type=submit]").click)


def test_the_log_in_pages_pass_axe_at_both_widths(app, stand_ins, new_page):
    people = Viewers(new_page)
    people.check_pages([("log in, every way", "/login"),
                        ("log in with library card", "/login/card")])

    people.each(lambda page: card_log_in(page, "N0001", "0000"))
    people.scan("library card, wrong PIN")
    people.each(lambda page: card_log_in(page, "N0002", "1234"))
    people.scan("library card, blocked")
    for page in people.pages.values():
        assert "Kortet er sperret" in page.locator("[role=alert]").inner_text()

    for page, card in zip(people.pages.values(), ("N0001", "N0005"), strict=True):
        card_log_in(page, card, "1234")  # a first log-in each: two new accounts
        assert "/profile/welcome" in page.url
    people.scan("welcome after the first card log-in")
    people.check_pages([("profile with linked log-ins", "/profile")])
    people.axe.check()


def test_id_porten_end_to_end_in_the_browser(app, stand_ins, new_page):
    page = new_page("phone", locale="nb")
    visit(page, "/login")
    submit(page, page.get_by_role("link", name="Logg inn med ID-porten").click)
    assert page.url.startswith(stand_ins)  # at the provider
    page.locator("input[name=login]").fill("nora")
    page.locator("input[name=password]").fill("anything")
    submit(page, page.locator("button[type=submit]").click)
    if page.url.startswith(stand_ins):  # the provider asks for consent
        submit(page, page.locator("button[type=submit]").click)
    assert "/profile/welcome" in page.url, page.url
    assert page.get_by_label("Fullt navn").input_value() == "Test nora"
    submit(page, page.get_by_role("button", name="Lagre").click)
    visit(page, "/profile")
    assert "ID-porten" in page.locator("#logins").inner_text()
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert (identity.issuer, identity.subject) == (stand_ins, "nora")
