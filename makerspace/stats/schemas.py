"""API shapes of the statistics."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from makerspace.api.fields import Day, Input, Output
from makerspace.booking.models import EquipmentKind
from makerspace.stats.services import GROUPS

GROUP_PATTERN = "^(({g})(,({g}))*)?$".format(g="|".join(GROUPS))


class StatsQuerySchema(Input):
    from_ = Day(required=True, data_key="from",
                metadata={"description": "First day of the period (in the branch's zone)"})
    to = Day(required=True, metadata={"description": "Last day of the period, included"})
    group = ma.fields.String(load_default="", validate=ma.validate.Regexp(
        GROUP_PATTERN, error=_l("must be a comma-separated list of branch, kind, month.")),
        metadata={"description": "What the rows are per: any of `branch`, `kind`, `month`, "
                                 "comma-separated; left out: one row for the whole county "
                                 "(or the caller's branches)",
                  "examples": ["branch,kind,month"]})


class _PeopleCount(ma.fields.Field):
    """A count of distinct people, or "<N" when it is below STATS_MIN_COUNT."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value


PEOPLE_COUNT_DOC = {"oneOf": [
    {"type": "integer", "minimum": 0},
    {"type": "string", "pattern": "^<[0-9]+$",
     "description": "Fewer than STATS_MIN_COUNT (default 5) people: not shown"}]}


class StatsRowSchema(Output):
    branch = ma.fields.String(metadata={"description": "The branch's slug (only when grouped "
                                                      "by branch)"})
    kind = ma.fields.String(validate=ma.validate.OneOf([k.value for k in EquipmentKind]),
                            metadata={"description": "Kind of machine (only when grouped by "
                                                     "kind)"})
    month = ma.fields.String(metadata={"pattern": "^[0-9]{4}-[0-9]{2}$", "description":
                                       "YYYY-MM in the branch's zone (only when grouped by "
                                       "month)"})
    bookings = ma.fields.Integer(required=True, metadata={
        "minimum": 0, "description": "Bookings that start in the period, every status"})
    booked_hours = ma.fields.Float(required=True, metadata={
        "minimum": 0, "description": "Hours of the bookings that held a machine (not "
                                     "cancelled, not no-shows)"})
    utilisation = ma.fields.Float(required=True, allow_none=True, metadata={
        "minimum": 0, "description": "booked_hours ÷ bookable opening hours of the machines "
                                     "in service; null when nothing was bookable"})
    no_shows = ma.fields.Integer(required=True, metadata={"minimum": 0})
    cancellations = ma.fields.Integer(required=True, metadata={"minimum": 0})
    distinct_citizens = _PeopleCount(required=True, metadata={
        **PEOPLE_COUNT_DOC, "description": "Different people with an account who booked "
                                           "(guest bookings not counted)"})


class StatsSchema(Output):
    rows = ma.fields.List(ma.fields.Nested(StatsRowSchema), required=True)
