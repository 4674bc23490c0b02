"""ID-porten and Feide against a real OpenID provider (npm oidc-provider, started by the suite
on a free port): the whole code flow with PKCE through the test client; linking by verified
e-mail only after the person confirms; a forged state, a wrong nonce, an expired or wrongly
signed ID token refused."""

from __future__ import annotations

import base64
import json
import re
import time
from html import unescape
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from authlib.integrations.flask_client import FlaskOAuth2App
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from makerspace.accounts.models import User
from makerspace.extensions import db
from makerspace.identity.models import Identity, IdentityKind
from tests import standins
from tests.helpers import PASSWORD, sign_in

BASE = "http://127.0.0.1:5000"  # the test config's BASE_URL: redirect URIs are made from it
CLIENT = {"client_id": "folkeverksted", "client_secret": "provider-test-secret",
          "grant_types": ["authorization_code"], "response_types": ["code"],
          "token_endpoint_auth_method": "client_secret_basic"}


def signing_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"},
                               private=True)


@pytest.fixture(scope="module")
def provider_key() -> RSAKey:
    return signing_key("provider-key")


def redirect_uris(base: str) -> list[str]:
    return [f"{base}/login/with/{key}/callback" for key in ("idporten", "feide")]


@pytest.fixture(scope="module")
def client_key() -> RSAKey:
    """The app's own key, for private_key_jwt (as ID-porten asks of most clients)."""
    return signing_key("folkeverksted-client")


@pytest.fixture(scope="module")
def issuer(tmp_path_factory, provider_key, client_key):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("oidc")
    keys = folder / "keys.json"
    keys.write_text(json.dumps({"keys": [provider_key.as_dict(private=True)]}))
    clients = [{**CLIENT, "redirect_uris": redirect_uris(BASE)},
               {"client_id": "folkeverksted-jwt", "redirect_uris": redirect_uris(BASE),
                "grant_types": ["authorization_code"], "response_types": ["code"],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
                "jwks": {"keys": [client_key.as_dict(private=False)]}}]
    with standins.oidc_provider(clients, keys) as url:
        yield url


def provider_config(issuer: str) -> dict:
    return {"IDPORTEN_ISSUER": issuer, "IDPORTEN_CLIENT_ID": CLIENT["client_id"],
            "IDPORTEN_CLIENT_SECRET": CLIENT["client_secret"],
            "IDPORTEN_SCOPES": "openid profile email", "BASE_URL": BASE}


@pytest.fixture
def app_config(issuer):  # type: ignore[no-untyped-def]
    return provider_config(issuer)


@pytest.fixture(autouse=True)
def fresh_clients(app):  # type: ignore[no-untyped-def]
    """Each test's settings make their own Authlib clients."""
    app.extensions.pop("identity_oauth", None)
    yield
    app.extensions.pop("identity_oauth", None)


def log_in_at_provider(authorize_url: str, account: str, browser: requests.Session | None = None
                       ) -> str:
    """Walk the provider's development log-in and consent forms as a browser would; returns
    the address the provider sends the person back to (the app's callback)."""
    browser = browser or requests.Session()
    url = authorize_url
    for _ in range(12):
        answer = browser.get(url, allow_redirects=False, timeout=10)
        while answer.is_redirect:
            url = urljoin(url, answer.headers["Location"])
            if url.startswith(BASE):
                return url
            answer = browser.get(url, allow_redirects=False, timeout=10)
        form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', answer.text, re.S)
        assert form, answer.text[:500]
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form[2]))
        if 'name="login"' in form[2]:
            fields |= {"login": account, "password": "anything"}
        posted = browser.post(urljoin(url, unescape(form[1])), data=fields,
                              allow_redirects=False, timeout=10)
        url = urljoin(url, posted.headers["Location"])
        if url.startswith(BASE):
            return url
    raise AssertionError("the provider never sent the person back")


def start(client, path: str = "/login/with/idporten") -> str:  # type: ignore[no-untyped-def]
    answer = client.get(path)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return answer.headers["Location"]


def finish(client, callback_url: str):  # type: ignore[no-untyped-def]
    parsed = urlparse(callback_url)
    return client.get(f"{parsed.path}?{parsed.query}")


def test_the_code_flow_with_pkce_logs_in_and_keeps_only_issuer_and_subject(
        app, client, issuer):
    authorize = start(client)
    query = parse_qs(urlparse(authorize).query)
    assert authorize.startswith(issuer)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["response_type"] == ["code"]
    answer = finish(client, log_in_at_provider(authorize, "ola"))
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/profile/welcome")  # a new account
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert (identity.kind, identity.provider) == (IdentityKind.OPENID, "idporten")
        assert (identity.issuer, identity.subject) == (issuer, "ola")
        user = identity.user
        assert user.email == "ola@example.no" and user.email_verified_at is not None
        assert user.name == "Test ola"
        for row in db.session.execute(select(User.__table__)).all() + db.session.execute(
                select(Identity.__table__)).all():
            assert "01017012345" not in repr(row)  # ID-porten's pid: never stored
    assert client.get("/profile").status_code == 200
    # Again: the same account, straight in.
    client.post("/logout")
    again = finish(client, log_in_at_provider(start(client, "/login/with/idporten?next=/events"),
                                              "ola"))
    assert (again.status_code, again.headers["Location"]) == (302, "/events")
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_an_existing_address_is_linked_only_after_the_person_confirms(
        app, client, make_user):
    person = make_user("kari@example.no")
    answer = finish(client, log_in_at_provider(start(client), "kari"))
    assert answer.headers["Location"] == "/login/link"
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 0  # not yet
    page = client.get("/login/link").get_data(as_text=True)
    assert "kari@example.no" in page
    linked = client.post("/login/link", data={"choice": "link"})
    assert linked.status_code == 302
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert identity.user_id == person.id
    assert client.get("/login/link").status_code == 404  # asked once


def test_declining_the_link_makes_a_new_account_without_the_address(app, client, make_user):
    person = make_user("kari@example.no")
    finish(client, log_in_at_provider(start(client), "kari"))
    client.post("/login/link", data={"choice": "new"})
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        assert identity.user_id != person.id and identity.user.email is None


def test_an_unverified_address_never_links(app, client, make_user):
    make_user("unverified-per@example.no")
    answer = finish(client, log_in_at_provider(start(client), "unverified-per"))
    assert answer.headers["Location"].startswith("/profile/welcome")
    with app.app_context():
        assert db.session.scalar(select(Identity)).user.email is None


def test_a_logged_in_person_links_id_porten_and_removes_it(app, client, make_user):
    person = make_user("ola@example.no")
    sign_in(client, person)
    answer = finish(client, log_in_at_provider(start(client), "someone-else"))
    assert answer.headers["Location"].endswith("/profile#logins")
    profile = client.get("/profile").get_data(as_text=True)
    assert "ID-porten" in profile
    identity_id = int(re.search(r"/profile/logins/(\d+)/remove", profile).group(1))
    client.post(f"/profile/logins/{identity_id}/remove")
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 0
        assert db.session.get(User, person.id).password_hash != "!"
    assert PASSWORD


def refusal_logged(caplog) -> str:  # type: ignore[no-untyped-def]
    return " ".join(r.getMessage() for r in caplog.records
                    if r.name == "makerspace.identity.routes")


def test_a_forged_state_is_refused(app, client, caplog):
    callback = log_in_at_provider(start(client), "ola")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    refused = finish(client, forged)
    assert refused.status_code == 400
    assert "gikk ikke gjennom" in refused.get_data(as_text=True)
    assert "state" in refusal_logged(caplog)
    # A callback from another browser's flow: this browser never started it.
    other = app.test_client()
    refused = finish(other, log_in_at_provider(start(client), "ola"))
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 0


def test_a_wrong_nonce_is_refused(app, client, caplog):
    authorize = start(client)
    tampered = re.sub(r"nonce=[^&]+", "nonce=not-the-one-we-sent", authorize)
    refused = finish(client, log_in_at_provider(tampered, "ola"))
    assert refused.status_code == 400
    assert "nonce" in refusal_logged(caplog)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 0


def _resigned(token: dict, key: RSAKey, **changes) -> str:  # type: ignore[no-untyped-def]
    """The provider's ID token with its claims changed, signed with `key`."""
    claims = json.loads(_payload(token["id_token"]))
    return jwt.encode({"alg": "RS256", "kid": key.kid}, {**claims, **changes}, key)


def _payload(compact: str) -> str:
    part = compact.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


@pytest.mark.parametrize("tampering", ["expired", "foreign key", "other audience",
                                       "other issuer"])
def test_a_bad_id_token_is_refused(app, client, monkeypatch, provider_key, tampering,
                                   caplog):
    """The provider's real token answer, with the ID token changed on the way in: signed
    with the provider's own key but expired, for another client or from another issuer; or
    signed with a key the provider's JWKS does not have (same key id)."""
    original = FlaskOAuth2App.fetch_access_token
    now = int(time.time())

    def tampered(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        token = original(self, *args, **kwargs)
        if tampering == "expired":
            token["id_token"] = _resigned(token, provider_key, iat=now - 7200, exp=now - 3600)
        elif tampering == "foreign key":
            token["id_token"] = _resigned(token, signing_key("provider-key"))
        elif tampering == "other audience":
            token["id_token"] = _resigned(token, provider_key, aud="someone-else")
        else:
            token["id_token"] = _resigned(token, provider_key, iss="http://127.0.0.1:9")
        return token

    monkeypatch.setattr(FlaskOAuth2App, "fetch_access_token", tampered)
    refused = finish(client, log_in_at_provider(start(client), "ola"))
    assert refused.status_code == 400
    reason = {"expired": "expired_token", "foreign key": "bad_signature",
              "other audience": "'azp'", "other issuer": "'iss'"}[tampering]
    assert reason in refusal_logged(caplog)  # refused for this reason, not another
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Identity.id))) == 0


def test_an_untampered_resigned_token_is_accepted(app, client, monkeypatch, provider_key):
    """The check above is not refusing everything that passed through the test's hands."""
    original = FlaskOAuth2App.fetch_access_token

    def resigned(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        token = original(self, *args, **kwargs)
        token["id_token"] = _resigned(token, provider_key)
        return token

    monkeypatch.setattr(FlaskOAuth2App, "fetch_access_token", resigned)
    assert finish(client, log_in_at_provider(start(client), "ola")).status_code == 302


def test_private_key_jwt_instead_of_a_secret(app, client, client_key, tmp_path):
    key_file = tmp_path / "client-key.json"
    key_file.write_text(json.dumps(client_key.as_dict(private=True)))
    app.config.update(IDPORTEN_CLIENT_ID="folkeverksted-jwt", IDPORTEN_CLIENT_SECRET=None,
                      IDPORTEN_PRIVATE_KEY_FILE=str(key_file))
    answer = finish(client, log_in_at_provider(start(client), "ola"))
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalar(select(Identity.subject)) == "ola"


def test_buttons_only_for_configured_providers(app, client):
    page = client.get("/login").get_data(as_text=True)
    assert "Logg inn med ID-porten" in page and "Feide" not in page
    assert client.get("/login/with/feide").status_code == 404
    app.config["IDPORTEN_ISSUER"] = None
    assert "ID-porten" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/with/idporten").status_code == 404


def test_a_provider_that_does_not_answer_is_a_translated_503(app, client):
    app.config["IDPORTEN_ISSUER"] = f"http://127.0.0.1:{standins.closed_port()}"
    refused = client.get("/login/with/idporten")
    assert refused.status_code == 503
    assert "ID-porten svarer ikke" in refused.get_data(as_text=True)
