"""Log in with a library card through the API: card number and PIN for an API token.

It fits the token model the API already has: what a person gets from the profile page or
`flask create-token`, revocable on the profile. ID-porten and Feide need a browser (redirects
to the provider), so they are not offered here."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _

from makerspace.accounts.services import issue_api_token
from makerspace.api.rest import ApiBlueprint
from makerspace.extensions import limiter
from makerspace.identity import services
from makerspace.identity.schemas import CardTokenRequestSchema, CardTokenSchema

bp = ApiBlueprint("identity_api", __name__, "Log-in with a library card")


def _guessing_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["ACCOUNT_RATE_LIMIT"]


def _posted_card() -> str:
    body = request.get_json(silent=True)
    card = body.get("card_number") if isinstance(body, dict) else None
    return "card:" + services.card_digest(card[:40] if isinstance(card, str) else "")


@bp.route("/tokens/card", methods=["POST"])
@limiter.limit(_guessing_limit)
@limiter.limit(_account_limit, key_func=_posted_card)
@bp.arguments(CardTokenRequestSchema)
@bp.response(201, CardTokenSchema)
@bp.problems(400, 403, 404, 422, 429, 503,
             s429="`rate_limited`: too many tries from this address or for this card",
             s403="`card_expired`, or `card_blocked` (with the library system's message)",
             s404="`card_login_off`: no library system is connected (or not for `library`)",
             s422="`card_refused`: the card number or the PIN is wrong (the same for both); "
                  "also `invalid_input`",
             s503="`library_system_unavailable`: the library system does not answer; or "
                  "`unavailable` (the database)")
@bp.doc(operationId="createCardToken", summary="An API token for a library card and PIN")
def card_token(body: dict):  # type: ignore[no-untyped-def]
    result = services.log_in_with_card(card_number=body["card_number"], pin=body["pin"],
                                       branch_slug=body.get("library") or None)
    if result.blocked is not None:
        raise result.blocked
    token, raw = issue_api_token(result.user, name=body.get("name") or _("Library card"))
    return {"token": raw, "name": token.name}, 201
