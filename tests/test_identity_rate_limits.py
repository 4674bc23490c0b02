"""Guessing PINs is slowed down as guessing passwords is: per client address and per card."""

from __future__ import annotations

import pytest

from tests import standins
from tests.sip2_standin import INSTITUTION, SIP_PASSWORD, SIP_USER


@pytest.fixture(scope="module")
def sip2_port():
    with standins.sip2_server() as port:
        yield port


@pytest.fixture
def app_config(sip2_port):  # type: ignore[no-untyped-def]
    return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute",
            "ACCOUNT_RATE_LIMIT": "2 per minute", "SIP2_HOST": "127.0.0.1",
            "SIP2_PORT": sip2_port, "SIP2_USER": SIP_USER, "SIP2_PASSWORD": SIP_PASSWORD,
            "SIP2_INSTITUTION": INSTITUTION, "SIP2_CHECKSUM": False}


def test_card_log_ins_are_limited_per_address(client):
    wrong = {"card_number": "N0001", "pin": "0000"}
    statuses = [client.post("/login/card", data={**wrong, "card_number": f"N000{n}"})
                .status_code for n in range(1, 5)]
    assert statuses == [422, 422, 422, 429]
    assert "Vent litt og prøv igjen." in client.post("/login/card", data=wrong).get_data(
        as_text=True)


def test_card_log_ins_are_limited_per_card_whatever_the_address(client):
    wrong = {"card_number": "N0001", "pin": "0000"}
    statuses = [client.post("/login/card", data=wrong,
                            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
                for n in range(1, 4)]
    assert statuses == [422, 422, 429]
    other = client.post("/login/card", data={**wrong, "card_number": "N0005"},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 422


def test_api_card_tokens_are_limited_per_address(client):
    wrong = {"card_number": "N0001", "pin": "0000"}
    statuses = [client.post("/api/v1/tokens/card", json={**wrong, "card_number": f"N000{n}"})
                .status_code for n in range(1, 5)]
    assert statuses == [422, 422, 422, 429]


def test_api_card_tokens_are_limited_per_card(client):
    wrong = {"card_number": "N0001", "pin": "0000"}
    statuses = [client.post("/api/v1/tokens/card", json=wrong,
                            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code
                for n in range(1, 4)]
    assert statuses == [422, 422, 429]
    assert client.post("/api/v1/tokens/card", json=wrong,
                       environ_base={"REMOTE_ADDR": "10.0.0.9"}).get_json()["code"] == \
        "rate_limited"
