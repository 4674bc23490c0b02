"""Certifications in the API: the list, new ones (admins), grants (staff), one's own."""

from __future__ import annotations

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import (
    known_person_or_refusal,
    knows_person_at,
    require_admin,
    require_manager,
    require_staff,
)
from makerspace.branches.models import Branch
from makerspace.branches.services import branch_by_slug
from makerspace.certifications import services
from makerspace.certifications.schemas import (
    CertificationSchema,
    GrantSchema,
    HeldCertificationSchema,
    NewCertificationSchema,
    NewGrantSchema,
)

bp = ApiBlueprint("certifications_api", __name__, "Certifications: courses that unlock machines")


@bp.route("/certifications", methods=["GET"])
@bp.response(200, CertificationSchema(many=True))
@bp.doc(operationId="listCertifications", summary="All certifications")
def list_certifications():  # type: ignore[no-untyped-def]
    return services.all_certifications()


@bp.route("/certifications", methods=["POST"])
@bp.secured
@bp.arguments(NewCertificationSchema)
@bp.response(201, CertificationSchema)
@bp.problems(400, 403, 409, 422, s409="`certification_exists`",
             s422="`invalid_slug`, `invalid_input`")
@bp.doc(operationId="createCertification", summary="Create a certification (admin)")
def create_certification(body: dict):  # type: ignore[no-untyped-def]
    require_admin(api_user())
    return services.create_certification(**body), 201


def _granting_branch(slug: str | None, person: User) -> Branch | None:
    """Where a grant is made: the branch named (one the caller manages), else the caller's
    branch where the person is known; None for admins who name none."""
    caller = api_user()
    if slug:
        return require_manager(caller, branch_by_slug(slug))
    if caller.is_admin:
        return None
    return next((b for b in caller.branches if knows_person_at(person, b)), None)


@bp.route("/certifications/<slug>/grants", methods=["POST"])
@bp.secured
@bp.arguments(NewGrantSchema)
@bp.response(201, GrantSchema)
@bp.problems(400, 403, 404, 422, s404="`unknown_certification`, `unknown_branch`",
             s422="`unknown_user`: no one the caller's libraries know has this address")
@bp.doc(operationId="grantCertification",
        summary="Grant (or renew) a certification to a person the library knows (staff)")
def grant(body: dict, slug: str):  # type: ignore[no-untyped-def]
    staff = require_staff(api_user())
    certification = services.certification_by_slug(slug)
    person = known_person_or_refusal(staff, body["user_email"])
    held = services.grant_certification(
        user=person, certification=certification, granted_by=staff, note=body["note"],
        branch=_granting_branch(body.get("branch"), person))
    return {"certification": held.certification.slug, "user_email": person.email,
            "granted_at": held.granted_at, "expires_at": held.expires_at,
            "note": held.note}, 201


@bp.route("/me/certifications", methods=["GET"])
@bp.secured
@bp.response(200, HeldCertificationSchema(many=True))
@bp.doc(operationId="listMyCertifications", summary="The certifications the caller holds or held")
def my_certifications():  # type: ignore[no-untyped-def]
    now = clock.now()
    return [{"certification": h.certification.slug, "name": h.certification.name,
             "granted_at": h.granted_at, "expires_at": h.expires_at, "valid": h.valid_at(now)}
            for h in services.certifications_of(api_user())]
