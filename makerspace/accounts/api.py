"""The token's owner: GET /api/v1/me."""

from __future__ import annotations

from makerspace.accounts.invitations import invite_staff
from makerspace.accounts.schemas import InvitationSchema, MeSchema, NewInvitationSchema
from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import require_admin
from makerspace.branches.services import branch_by_slug
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


@bp.route("/invitations", methods=["POST"])
@bp.secured
@bp.arguments(NewInvitationSchema)
@bp.response(201, InvitationSchema)
@bp.problems(400, 403, 404, 422, s403="`forbidden`: admins only", s404="`unknown_branch`",
             s422="`invalid_invitation` (with `field`), `invalid_input`")
@bp.doc(operationId="createInvitation",
        summary="Invite someone to work as a librarian (at the branches given) or admin; "
                "the e-mail with the link goes through the outbox (admins)")
def create_invitation(body: dict):  # type: ignore[no-untyped-def]
    by = require_admin(api_user())
    invitation = invite_staff(email=body["email"], role=body["role"],
                              branches=[branch_by_slug(s) for s in body["branches"]], by=by)
    return {"id": invitation.id, "email": invitation.email, "role": invitation.role.value,
            "branches": [b.slug for b in invitation.branches],
            "expires_at": invitation.expires_at}, 201
