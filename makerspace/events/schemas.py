"""API shapes of the events area (courses, workshops, open-workshop hours)."""

from __future__ import annotations

import marshmallow as ma

from makerspace.api.fields import Day, Input, Moment, Output, PageQuery, Stamp, Text
from makerspace.events.models import EventCategory, EventStatus, SignupStatus

_CATEGORIES = [c.value for c in EventCategory]


class EventSchema(Output):
    id = ma.fields.Integer(required=True)
    branch = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True, metadata={
        "description": "In bokmål; also what readers get where their language has none"})
    description_nn = ma.fields.String(required=True, metadata={
        "description": "In nynorsk; empty when not written"})
    description_en = ma.fields.String(required=True, metadata={
        "description": "In English; empty when not written"})
    category = ma.fields.String(required=True, allow_none=True,
                                validate=ma.validate.OneOf(_CATEGORIES))
    instructor = ma.fields.String(required=True)
    start = Stamp(required=True)
    end = Stamp(required=True)
    capacity = ma.fields.Integer(required=True)
    seats_left = ma.fields.Integer(required=True)
    waitlist_length = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True,
                              validate=ma.validate.OneOf([s.value for s in EventStatus]))
    min_age = ma.fields.Integer(required=True, allow_none=True)
    guardian_consent_under = ma.fields.Integer(required=True, allow_none=True, metadata={
        "description": "Below this age a guardian must consent (once per course or series)"})
    signup_opens = Stamp(required=True, allow_none=True)
    signup_closes = Stamp(required=True)
    grants_certification = ma.fields.String(required=True, allow_none=True)
    requires_certification = ma.fields.String(required=True, allow_none=True)


class NewEventSchema(Input):
    # The rules of an event (a start before its end, 0 to 10000 seats, an age limit of 0 to
    # 100) are the service's (`invalid_event`); the document shows their ranges.
    title = Text(required=True, max_length=200)
    start = Moment(required=True)
    end = Moment(required=True)
    capacity = ma.fields.Integer(required=True, strict=True,
                                 metadata={"minimum": 0, "maximum": 10_000})
    description = Text(max_length=5000, load_default="", metadata={
        "description": "In bokmål (the fallback for readers of other languages)"})
    description_nn = Text(max_length=5000, load_default="")
    description_en = Text(max_length=5000, load_default="")
    category = ma.fields.String(allow_none=True, load_default=None,
                                validate=ma.validate.OneOf(_CATEGORIES))
    instructor = Text(max_length=200, load_default="")
    min_age = ma.fields.Integer(strict=True, allow_none=True,
                                metadata={"minimum": 0, "maximum": 100})
    guardian_consent_under = ma.fields.Integer(strict=True, allow_none=True, metadata={
        "minimum": 1, "maximum": 100,
        "description": "Below this age a guardian must consent before a sign-up is confirmed"})
    signup_opens = Moment(allow_none=True)
    signup_closes = Moment(allow_none=True)
    grants_certification = ma.fields.String(allow_none=True,
                                            metadata={"description": "A certification slug"})
    requires_certification = ma.fields.String(allow_none=True, metadata={
        "description": "A certification slug"})


class EventQuerySchema(PageQuery):
    branch = ma.fields.String(metadata={"description": "A branch's slug"})
    start = Day(data_key="from", metadata={
        "description": "Events that end on or after this day; default today"})


class NewSignupSchema(Input):
    user_email = Text(max_length=254, metadata={
        "description": "Branch staff signing up someone their library knows"})
    guardian_email = Text(max_length=254, allow_none=True, metadata={
        "description": "A guardian's e-mail address, needed when the course asks for a "
                       "guardian's consent at the person's age (`guardian_consent_under`); "
                       "without it: 422 `guardian_consent_required`"})


class SignupSchema(Output):
    id = ma.fields.Integer(required=True)
    event_id = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(
        [s.value for s in SignupStatus] + ["pending_consent"]), metadata={
        "description": "`pending_consent`: the seat is taken but waits for the guardian's "
                       "consent (no check-in until then)"})
    guardian_consent = ma.fields.String(required=True, allow_none=True, validate=ma.validate.OneOf(
        ["pending", "given", "withdrawn"]), metadata={
        "description": "null when the sign-up needs no guardian's consent"})
    position = ma.fields.Integer(required=True, allow_none=True, metadata={
        "description": "Place on the waitlist (1 = next); null otherwise"})
    attended_at = Stamp(required=True, allow_none=True)
    checkin_url = ma.fields.Url(required=True, metadata={
        "description": "What the QR code holds: <base>/C/<TOKEN>"})
