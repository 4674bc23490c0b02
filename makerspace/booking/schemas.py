"""API shapes of the booking area. The machine's rules come from booking.rules: the document
shows their ranges, the service enforces them (refusing with `invalid_rules`)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from makerspace.api.fields import Day, Flag, Id, Input, Moment, Output, Stamp, Text, Whole
from makerspace.api.problems import IntervalSchema
from makerspace.booking.models import BookingStatus, EquipmentKind
from makerspace.booking.rules import EQUIPMENT_RULES, EquipmentRule
from makerspace.machines.schemas import ConnectionSchema, NewConnectionSchema

KINDS = [kind.value for kind in EquipmentKind]


def _rule_out(rule: EquipmentRule) -> ma.fields.Integer:
    return ma.fields.Integer(required=True, allow_none=not rule.required,
                             metadata={"description": str(rule.label)})


def _rule_in(rule: EquipmentRule) -> ma.fields.Integer:
    meta: dict[str, Any] = {"minimum": rule.low, "maximum": rule.high}
    if rule.default is not None:
        meta["default"] = rule.default
    return ma.fields.Integer(strict=True, allow_none=not rule.required, metadata=meta,
                             error_messages={"invalid": "must be a whole number."})


EquipmentSchema = Output.from_dict({
    "id": ma.fields.Integer(required=True),
    "branch": ma.fields.String(required=True, metadata={"description": "The branch's slug"}),
    "name": ma.fields.String(required=True),
    "kind": ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS)),
    "description": ma.fields.String(required=True),
    "status": ma.fields.String(required=True,
                               validate=ma.validate.OneOf(["in_service", "out_of_service"])),
    **{rule.name: _rule_out(rule) for rule in EQUIPMENT_RULES},
    "requires_certification": ma.fields.String(required=True, allow_none=True,
                                               metadata={"description": "A certification slug"}),
    "connection": ma.fields.Nested(ConnectionSchema, allow_none=True, metadata={
        "description": "Only for the branch's staff (with a token): the machine's OctoPrint, "
                       "Moonraker or PrusaLink, or null; see docs/machines.md"}),
}, name="Equipment")

NewEquipmentSchema = Input.from_dict({
    "name": Text(required=True, max_length=200),
    "kind": ma.fields.String(required=True, metadata={"enum": KINDS}),
    "description": Text(max_length=5000),
    **{rule.name: _rule_in(rule) for rule in EQUIPMENT_RULES},
    "requires_certification": ma.fields.String(allow_none=True, metadata={
        "description": "A certification slug"}),
    "connection": ma.fields.Nested(NewConnectionSchema, allow_none=True, metadata={
        "description": "Optional: the machine's OctoPrint, Moonraker or PrusaLink "
                       "(`api_key` is write-only)"}),
}, name="NewEquipment")


class AvailabilityQuerySchema(Input):
    start = Day(data_key="from", metadata={"description": "First day (branch's zone); "
                                                           "default today"})
    days = Whole(1, 62, strict=False, load_default=7)


class AvailabilitySchema(Output):
    """Free: bookable now. Busy: bookings (with buffers) and outages. Nothing about who."""

    free = ma.fields.List(ma.fields.Nested(IntervalSchema), required=True)
    busy = ma.fields.List(ma.fields.Nested(IntervalSchema), required=True)


# HH:MM from 00:00 to 24:00 (the end of the day).
CLOCK_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


def _clock(name: str, default: str, description: str) -> ma.fields.String:
    return ma.fields.String(
        data_key=name, load_default=default,
        validate=ma.validate.Regexp(CLOCK_PATTERN, error=_l("must be a time of day (HH:MM).")),
        metadata={"pattern": CLOCK_PATTERN, "default": default, "description": description})


class FreeTimeQuerySchema(Input):
    kind = ma.fields.String(validate=ma.validate.OneOf(
        KINDS, error=_l("must be one of: {choices}.")), metadata={
        "description": "The kind of machine; all kinds when left out"})
    branch = ma.fields.List(Text(min_length=1, max_length=64), validate=ma.validate.Length(
        max=50, error=_l("may be given at most {max} times.")), metadata={
        "description": "A branch's slug; repeat it for several, leave it out for all"})
    day = Day(data_key="date", metadata={
        "description": "The date (in each branch's zone); default each branch's today"})
    earliest = _clock("from", "00:00", "Free time from this time of day (branch's zone)")
    latest = _clock("to", "24:00", "Free time that ends by this time of day")
    duration = Whole(5, 1440, strict=False, metadata={
        "description": "Minutes; default each machine's shortest booking. Machines that "
                       "cannot be booked for this long are left out"})

    @ma.validates_schema
    def _from_before_to(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("earliest", "00:00") >= data.get("latest", "24:00"):
            raise ma.ValidationError(str(_l("must be later than “from”.")), field_name="to")


class FreeTimeSchema(Output):
    """One bookable period: book it with POST /bookings (equipment_id, start, end)."""

    equipment_id = ma.fields.Integer(required=True)
    branch = ma.fields.String(required=True, metadata={"description": "The branch's slug"})
    start = Stamp(required=True, metadata={"description": "In the branch's zone, with offset"})
    end = Stamp(required=True)


class FreeTimeResultsSchema(Output):
    """Soonest first (then by branch and machine name)."""

    results = ma.fields.List(ma.fields.Nested(FreeTimeSchema), required=True)


class NewBookingSchema(Input):
    equipment_id = Id(required=True)
    start = Moment(required=True)
    end = Moment(metadata={"description": "Required unless `unattended`"})
    user_email = Text(max_length=254, metadata={"description": "Staff booking for a citizen"})
    guardian_email = Text(max_length=254, allow_none=True, metadata={
        "description": "A guardian's e-mail address, needed when the machine asks for a "
                       "guardian's consent at the person's age (`guardian_consent_under`); "
                       "without it: 422 `guardian_consent_required`"})
    unattended = Flag(load_default=False, metadata={
        "description": "A job that may run past closing (machines with "
                       "`unattended_max_minutes` > 0); its end is start + `estimated_minutes`"})
    estimated_minutes = Whole(1, 1440, strict=True, metadata={
        "description": "The estimated print time (from the slicer); required with "
                       "`unattended`"})

    @ma.validates_schema(skip_on_field_errors=False)
    def _end_or_estimate(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("unattended"):
            if data.get("estimated_minutes") is None:
                raise ma.ValidationError(str(_l("required with “unattended”.")),
                                         field_name="estimated_minutes")
        elif data.get("end") is None:
            raise ma.ValidationError(str(_l("Missing data for required field.")),
                                     field_name="end")


class BookingSchema(Output):
    id = ma.fields.Integer(required=True)
    equipment_id = ma.fields.Integer(required=True)
    branch = ma.fields.String(required=True)
    start = Stamp(required=True)
    end = Stamp(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(
        [s.value for s in BookingStatus] + ["pending_consent"]), metadata={
        "description": "`pending_consent`: booked (the slot is held) but waiting for the "
                       "guardian's consent"})
    guardian_consent = ma.fields.String(required=True, allow_none=True, validate=ma.validate.OneOf(
        ["pending", "given", "withdrawn"]), metadata={
        "description": "null when the booking needs no guardian's consent"})
    cancel_reason = ma.fields.String(required=True, allow_none=True)
    unattended = ma.fields.Boolean(required=True)
    estimated_minutes = ma.fields.Integer(required=True, allow_none=True)
    pickup_from = Stamp(required=True, allow_none=True, metadata={
        "description": "An unattended job: when it can be picked up"})
    job_outcome = ma.fields.String(required=True, allow_none=True, validate=ma.validate.OneOf(
        ["finished", "failed", "stopped"]))
    checkin_url = ma.fields.Url(required=True, metadata={
        "description": "What the QR code holds: <base>/C/<TOKEN>"})


class CancelSchema(Input):
    reason = Text(max_length=500, metadata={
        "description": "Required when staff cancel someone else's booking"})


class NewGuestBookingSchema(Input):
    equipment_id = Id(required=True)
    start = Moment(required=True)
    end = Moment(required=True)
    name = Text(required=True, min_length=1, max_length=200,
                metadata={"description": "The guest's name (only the branch's staff see it)"})
    phone = Text(max_length=40, allow_none=True, metadata={"description": "Optional"})
