"""Branches and their weekly opening hours in the API."""

from __future__ import annotations

from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import require_admin, require_manager
from makerspace.branches import hours
from makerspace.branches.schemas import (
    BranchSchema,
    NewBranchSchema,
    NewWeeklyHoursSchema,
    WeeklyHoursSchema,
)
from makerspace.branches.services import all_branches, branch_by_slug, create_branch

bp = ApiBlueprint("branches_api", __name__, "Library branches and their opening hours")


@bp.route("/branches", methods=["GET"])
@bp.response(200, BranchSchema(many=True))
@bp.doc(operationId="listBranches", summary="All branches")
def list_branches():  # type: ignore[no-untyped-def]
    return all_branches()


@bp.route("/branches", methods=["POST"])
@bp.secured
@bp.arguments(NewBranchSchema)
@bp.response(201, BranchSchema)
@bp.problems(400, 403, 409, 422, s409="`branch_exists`",
             s422="`invalid_slug`, `unknown_timezone`, `invalid_input`")
@bp.doc(operationId="createBranch", summary="Create a branch (admin)")
def create_branch_view(body: dict):  # type: ignore[no-untyped-def]
    require_admin(api_user())
    return create_branch(**body)


@bp.route("/branches/<slug>", methods=["GET"])
@bp.response(200, BranchSchema)
@bp.problems(404, s404="`unknown_branch`")
@bp.doc(operationId="getBranch", summary="One branch")
def get_branch(slug: str):  # type: ignore[no-untyped-def]
    return branch_by_slug(slug)


@bp.route("/branches/<slug>/opening-hours", methods=["GET"])
@bp.response(200, WeeklyHoursSchema)
@bp.problems(404, s404="`unknown_branch`")
@bp.doc(operationId="getOpeningHours", summary="A branch's weekly opening hours")
def get_opening_hours(slug: str):  # type: ignore[no-untyped-def]
    return {"weekly": hours.weekly_hours(branch_by_slug(slug))}


@bp.route("/branches/<slug>/opening-hours", methods=["PUT"])
@bp.secured
@bp.arguments(NewWeeklyHoursSchema)
@bp.response(200, WeeklyHoursSchema)
@bp.problems(400, 403, 404, 422, s422="`invalid_hours`, `invalid_input`")
@bp.doc(operationId="putOpeningHours",
        summary="Replace the weekly opening hours (admin or the branch's librarians)")
def put_opening_hours(body: dict, slug: str):  # type: ignore[no-untyped-def]
    branch = require_manager(api_user(), branch_by_slug(slug))
    hours.set_weekly_hours(branch, body["weekly"])
    return {"weekly": hours.weekly_hours(branch)}
