"""API shapes of kit loans."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Day, Id, Input, Output, Stamp
from makerspace.loans.models import LoanStatus


class NewLoanSchema(Input):
    equipment_id = Id(required=True, metadata={"description": "A kit (equipment of kind `kit`)"})
    pickup_date = Day(required=True, metadata={
        "description": "The day to pick the kit up at the desk (the branch's zone)"})
    return_date = Day(required=True, metadata={
        "description": "The day to bring it back; the loan lasts return_date − pickup_date "
                       "days, at most the kit's `max_loan_days`"})


class LoanSchema(Output):
    id = ma.fields.Integer(required=True)
    equipment_id = ma.fields.Integer(required=True)
    branch = ma.fields.String(required=True, metadata={"description": "The branch's slug"})
    pickup_date = ma.fields.Date(required=True)
    return_date = ma.fields.Date(required=True)
    status = ma.fields.String(required=True,
                              validate=ma.validate.OneOf([s.value for s in LoanStatus]))
    picked_up_at = Stamp(required=True, allow_none=True)
    returned_at = Stamp(required=True, allow_none=True)
    checkin_url = ma.fields.Url(required=True, metadata={
        "description": "What the loan's QR code holds: <base>/C/<TOKEN>; scanned at the desk "
                       "on pick-up and on return"})


class PickupDaySchema(Output):
    date = ma.fields.Date(required=True)
    open = ma.fields.Boolean(required=True, metadata={
        "description": "Whether the library is open (and the kit in service) that day"})
    free = ma.fields.Integer(required=True, metadata={"description": "Copies free that day"})
    longest_days = ma.fields.Integer(required=True, metadata={
        "description": "The longest loan picked up that day (0: it cannot be picked up)"})
    latest_return = ma.fields.Date(required=True, allow_none=True, metadata={
        "description": "The return day of that longest loan"})


class LoanAvailabilitySchema(Output):
    """From today to the last day the kit may be picked up (its `max_advance_days`)."""

    quantity = ma.fields.Integer(required=True)
    max_loan_days = ma.fields.Integer(required=True)
    days = ma.fields.List(ma.fields.Nested(PickupDaySchema), required=True)
