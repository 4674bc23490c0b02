"""API shapes of the waits: a wait for a taken slot, and its hold."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Id, Input, Moment, Output, Stamp


class NewSlotWaitSchema(Input):
    equipment_id = Id(required=True)
    start = Moment(required=True)
    end = Moment(required=True)


class SlotWaitSchema(Output):
    """A wait for a taken slot: `waiting`, or `held` (until `hold_expires_at`; take it with
    POST /slot-waits/{id}/take)."""

    id = ma.fields.Integer(required=True)
    equipment_id = ma.fields.Integer(required=True)
    branch = ma.fields.String(required=True, metadata={"description": "The branch's slug"})
    start = Stamp(required=True)
    end = Stamp(required=True)
    created_at = Stamp(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(["waiting", "held"]))
    position = ma.fields.Integer(required=True, metadata={
        "description": "1 for the first in line among those waiting for an overlapping slot"})
    hold_expires_at = Stamp(required=True, allow_none=True, metadata={
        "description": "While held: when the hold runs out and goes to the next in line"})
