"""Statistics in the API: GET /api/v1/stats."""

from __future__ import annotations

from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.stats import services
from makerspace.stats.schemas import StatsQuerySchema, StatsSchema

bp = ApiBlueprint("stats_api", __name__, "Usage statistics, without names")


@bp.route("/stats", methods=["GET"])
@bp.secured
@bp.arguments(StatsQuerySchema, location="query")
@bp.response(200, StatsSchema)
@bp.problems(403, 422, s403="`forbidden`: citizens see no statistics",
             s422="`invalid_period` (with `field`): `to` before `from`, or more than three "
                  "years; `invalid_input`")
@bp.doc(operationId="getStats",
        summary="Bookings, hours, utilisation, no-shows, cancellations and distinct citizens "
                "per branch, kind and month (staff: their branches; admins: all)")
def get_stats(query: dict):  # type: ignore[no-untyped-def]
    branches = services.branches_for(api_user())
    period = services.checked_period(query["from_"], query["to"])
    group = [g for g in query["group"].split(",") if g]
    return {"rows": services.api_rows(services.usage(branches, period, group))}
