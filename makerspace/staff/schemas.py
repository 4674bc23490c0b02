"""API shapes of the desk's day (a public contract: GET /api/v1/branches/<slug>/day)."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Day, Input, Output, Stamp
from makerspace.booking.models import BookingStatus


class DayQuerySchema(Input):
    date = Day(metadata={"description": "The day (the branch's zone); default today"})


class DayBookingSchema(Output):
    id = ma.fields.Integer(required=True)
    start = Stamp(required=True)
    end = Stamp(required=True)
    status = ma.fields.String(required=True,
                              validate=ma.validate.OneOf([s.value for s in BookingStatus]))
    name = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "Who booked (an account's or a guest's name); null once anonymised"})


class DayEquipmentSchema(Output):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    bookings = ma.fields.List(ma.fields.Nested(DayBookingSchema), required=True)


class DayEventSchema(Output):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    start = Stamp(required=True)
    end = Stamp(required=True)
    capacity = ma.fields.Integer(required=True)
    confirmed = ma.fields.Integer(required=True)
    seats_left = ma.fields.Integer(required=True)
    waitlist_length = ma.fields.Integer(required=True)
    attended = ma.fields.Integer(required=True)


class DaySchema(Output):
    date = ma.fields.Date(required=True)
    equipment = ma.fields.List(ma.fields.Nested(DayEquipmentSchema), required=True)
    events = ma.fields.List(ma.fields.Nested(DayEventSchema), required=True)
