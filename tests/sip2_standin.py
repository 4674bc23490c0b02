"""A stand-in library system for the card log-in tests: pysip2's SIP2 server with a handful
of patrons, on 127.0.0.1 and a free port, in a process of its own.

    python -m tests.sip2_standin [--checksum required|auto] [--delimiter "|"]

prints "PORT <n>" once it listens, then serves until killed. Login (93) must come first, with
the SIP user below; Patron Information (63) and Patron Status (23) answer for the patrons.
The extension fields PB (birth date) and PA (expiry date) are added to pysip2's model of the
64 answer, as Koha-style systems send them.
"""

from __future__ import annotations

import argparse
import sys

import anyio
from pysip2 import (
    LOGIN,
    PATRON_INFORMATION,
    PATRON_STATUS,
    LoginResponse,
    PatronInformationResponse,
    PatronStatusResponse,
    SIP2Server,
)
from pysip2.models import MESSAGE_SPECS_BY_TYPE, FieldSpec, MessageSpec

SIP_USER, SIP_PASSWORD, INSTITUTION = "folkeverksted", "sip-secret", "NO-TRONDHEIM"
CLEAR, CHARGE_DENIED = " " * 14, "Y" + " " * 13

# card number: (PIN, name, patron status, screen message, birth date, expiry date)
PATRONS = {
    "N0001": ("1234", "Nordmann, Ola", CLEAR, "", None, "20301231"),
    "N0002": ("1234", "Hansen, Kari", CHARGE_DENIED, "Kortet er sperret: ubetalt gebyr.",
              None, "20301231"),
    "N0003": ("1234", "Berg, Per", CLEAR, "", None, "20200101"),
    "N0004": ("4321", "Lie, Siri", CLEAR, "", "20100515", "20301231"),
    "N0005": ("1234", "Ødegård, Åse", CLEAR, "", "19800101", None),
}


class InformationWithExtensions(PatronInformationResponse, frozen=True, kw_only=True):
    birth_date: str | None = None  # PB
    expiry_date: str | None = None  # PA


_base = MESSAGE_SPECS_BY_TYPE[PatronInformationResponse]
MESSAGE_SPECS_BY_TYPE[InformationWithExtensions] = MessageSpec(
    "64", InformationWithExtensions,
    (*_base.fields, FieldSpec("birth_date", "PB"), FieldSpec("expiry_date", "PA")))


def _answer(card: str, pin: str | None) -> dict:
    patron = PATRONS.get(card)
    if patron is None:
        return {"valid_patron": "N", "valid_patron_password": "N", "personal_name": "",
                "patron_status": CLEAR, "screen_message": ("Unknown patron",)}
    right_pin, name, status, message, _birth, _expiry = patron
    return {"valid_patron": "Y", "valid_patron_password": "Y" if pin == right_pin else "N",
            "personal_name": name, "patron_status": status,
            "screen_message": (message,) if message else ()}


def build(checksum: str, delimiter: str) -> SIP2Server:
    app = SIP2Server(institution_id=INSTITUTION, login_required=True, error_detection=checksum,
                     field_delimiter=delimiter, encoding="utf-8")

    @app.route(LOGIN)
    def login(req, ctx):  # type: ignore[no-untyped-def]
        ok = req.login_user_id == SIP_USER and req.login_password == SIP_PASSWORD
        return LoginResponse(ok="1" if ok else "0")

    @app.route(PATRON_INFORMATION)
    def information(req, ctx):  # type: ignore[no-untyped-def]
        answer = _answer(req.patron_identifier, req.patron_password)
        extra = PATRONS.get(req.patron_identifier)
        return InformationWithExtensions(
            language=req.language, transaction_date=ctx.now_18(), hold_items_count="0000",
            overdue_items_count="0000", charged_items_count="0000", fine_items_count="0000",
            recall_items_count="0000", unavailable_holds_count="0000",
            institution_id=req.institution_id, patron_identifier=req.patron_identifier,
            birth_date=extra[4] if extra else None, expiry_date=extra[5] if extra else None,
            **answer)

    @app.route(PATRON_STATUS)
    def status(req, ctx):  # type: ignore[no-untyped-def]
        return PatronStatusResponse(
            language=req.language, transaction_date=ctx.now_18(),
            institution_id=req.institution_id, patron_identifier=req.patron_identifier,
            **_answer(req.patron_identifier, req.patron_password))

    return app


async def main(checksum: str, delimiter: str) -> None:
    app = build(checksum, delimiter)
    async with app.start("127.0.0.1", 0) as port:
        print(f"PORT {port}", flush=True)
        await anyio.sleep_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checksum", choices=["auto", "required"], default="auto")
    parser.add_argument("--delimiter", default="|")
    args = parser.parse_args()
    try:
        anyio.run(main, args.checksum, args.delimiter)
    except KeyboardInterrupt:
        sys.exit(0)
