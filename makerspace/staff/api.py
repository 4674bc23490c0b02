"""The desk's day in the API: a branch's machines with their bookings (with names) and the
day's courses, for the branch's staff and admins only."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from makerspace import clock
from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import manages_branch
from makerspace.branches.services import branch_by_slug
from makerspace.errors import NotFound
from makerspace.staff.schemas import DayQuerySchema, DaySchema
from makerspace.staff.services import day_view

bp = ApiBlueprint("staff_api", __name__, "The desk: a branch's day")


@bp.route("/branches/<slug>/day", methods=["GET"])
@bp.secured
@bp.arguments(DayQuerySchema, location="query")
@bp.response(200, DaySchema)
@bp.problems(404, s404="`unknown_branch`, or `not_found` for anyone but the branch's staff "
                       "and admins")
@bp.doc(operationId="getBranchDay",
        summary="A branch's day: machines with their bookings (names included) and courses "
                "(the branch's staff and admins)")
def branch_day(query: dict, slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    if not manages_branch(api_user(), branch):
        raise NotFound()  # names are at stake: nobody else learns anything here
    now = clock.now()
    day = query.get("date") or now.astimezone(ZoneInfo(branch.timezone)).date()
    view = day_view(branch, day, now)
    return {
        "date": day,
        "equipment": [{"id": row.equipment.id, "name": row.equipment.name, "bookings": [
            {"id": b.id, "start": b.start_at, "end": b.end_at, "status": b.status.value,
             "name": b.person_name} for b in row.bookings]}
            for row in view.rows],
        "events": [{"id": e.event.id, "title": e.event.title, "start": e.event.start_at,
                    "end": e.event.end_at, "capacity": e.event.capacity,
                    "confirmed": e.confirmed, "seats_left": e.seats_left,
                    "waitlist_length": e.waitlisted, "attended": e.attended}
                   for e in view.events],
    }
