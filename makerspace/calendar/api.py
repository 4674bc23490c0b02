"""Calendar feed addresses in the API: the staff feed (staff) and one's own feed."""

from __future__ import annotations

from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import require_manager
from makerspace.branches.services import branch_by_slug
from makerspace.calendar import services
from makerspace.calendar.schemas import FeedAddressSchema, PersonalFeedSchema

bp = ApiBlueprint("calendar_api", __name__, "iCal feed addresses")
STAFF_ONLY = "Not staff of this branch (`forbidden`)"


@bp.route("/branches/<slug>/staff-calendar", methods=["GET"])
@bp.secured
@bp.response(200, FeedAddressSchema)
@bp.problems(403, 404, s403=STAFF_ONLY, s404="`unknown_branch`")
@bp.doc(operationId="getStaffCalendar",
        summary="The branch's staff iCal feed address (the branch's staff)")
def staff_calendar(slug: str):  # type: ignore[no-untyped-def]
    branch = require_manager(api_user(), branch_by_slug(slug))
    return {"url": services.staff_feed_url(branch)}


@bp.route("/branches/<slug>/staff-calendar", methods=["POST"])
@bp.secured
@bp.response(200, FeedAddressSchema)
@bp.problems(403, 404, s403=STAFF_ONLY, s404="`unknown_branch`")
@bp.doc(operationId="rotateStaffCalendar",
        summary="Rotate the staff feed address; the old one answers 404 at once")
def rotate_staff_calendar(slug: str):  # type: ignore[no-untyped-def]
    branch = require_manager(api_user(), branch_by_slug(slug))
    services.rotate_staff_token(branch)
    return {"url": services.staff_feed_url(branch)}


@bp.route("/me/calendar-token", methods=["POST"])
@bp.secured
@bp.response(200, PersonalFeedSchema)
@bp.doc(operationId="rotateCalendarToken",
        summary="Rotate the caller's personal feed address; the old one 404s at once")
def rotate_calendar_token():  # type: ignore[no-untyped-def]
    services.rotate_personal_token(api_user())
    return {"calendar_url": services.personal_feed_url(api_user())}
