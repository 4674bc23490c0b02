"""The token's owner: GET /api/v1/me."""

from __future__ import annotations

from makerspace.accounts.schemas import MeSchema
from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.calendar.services import personal_feed_url

bp = ApiBlueprint("accounts_api", __name__, "The caller")


@bp.route("/me", methods=["GET"])
@bp.secured
@bp.response(200, MeSchema)
@bp.doc(operationId="getMe", summary="The token's owner")
def me():  # type: ignore[no-untyped-def]
    user = api_user()
    return {"email": user.email, "name": user.name, "role": user.role.value,
            "branches": [branch.slug for branch in user.branches],
            "calendar_url": personal_feed_url(user)}
