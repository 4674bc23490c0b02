"""Guessing passwords is slowed down: log-in, registration and reset forms are rate limited."""

from __future__ import annotations

import pytest

from tests.helpers import html_lang


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}


def test_login_attempts_are_limited_per_address(client, make_user):
    make_user("ola@example.no")
    wrong = {"email": "ola@example.no", "password": "guess guess"}
    assert [client.post("/login", data=wrong).status_code for _ in range(3)] == [422] * 3
    refused = client.post("/login", data=wrong)
    assert refused.status_code == 429
    assert "Vent litt og prøv igjen." in refused.get_data(as_text=True)  # a translated page
    assert html_lang(refused.data) == "nb"
    other = client.post("/login", data=wrong, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 422  # another address is not affected
    assert client.get("/login").status_code == 200  # reading the form is not limited


def test_password_reset_requests_are_limited(client):
    for _ in range(3):
        assert client.post("/password/forgot", data={"email": "x@example.no"}).status_code < 400
    assert client.post("/password/forgot", data={"email": "x@example.no"}).status_code == 429


def test_login_attempts_are_limited_per_account_whatever_the_address(app, client, make_user):
    app.config["ACCOUNT_RATE_LIMIT"] = "2 per minute"
    make_user("ola@example.no")
    wrong = {"email": "ola@example.no", "password": "guess guess"}
    statuses = [client.post("/login", data=wrong,
                            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
                for n in range(1, 4)]
    assert statuses == [422, 422, 429]  # three addresses, one account
    other = client.post("/login", data={**wrong, "email": "kari@example.no"},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 422  # another account is not affected
