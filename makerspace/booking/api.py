"""Machines, their availability and bookings in the API."""

from __future__ import annotations

import hashlib
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, g, request

from makerspace import clock
from makerspace.api.auth import api_user
from makerspace.api.fields import Moment, PageQuery
from makerspace.api.pages import LINK_HEADER, link_header
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import known_person_or_refusal, manages_branch, require_manager
from makerspace.booking import errors, services, versions
from makerspace.booking.answers import booking_out
from makerspace.booking.availability import FreeStart, free_and_busy, next_whole_minute
from makerspace.booking.models import Equipment, EquipmentKind
from makerspace.booking.rules import RULE_DEFAULTS
from makerspace.booking.schemas import (
    AvailabilityQuerySchema,
    AvailabilitySchema,
    BookingSchema,
    CancelSchema,
    EquipmentSchema,
    FreeTimeQuerySchema,
    FreeTimeResultsSchema,
    NewBookingSchema,
    NewEquipmentSchema,
    NewGuestBookingSchema,
)
from makerspace.branches.hours import parse_clock
from makerspace.branches.services import branch_by_slug
from makerspace.certifications.services import certification_by_slug
from makerspace.machines import services as machines
from makerspace.machines.schemas import connection_out

bp = ApiBlueprint("booking_api", __name__, "Machines, their availability and bookings")

BOOKING_RULES = ("A booking rule refuses it: `outside_opening_hours`, `off_grid`, `too_short`, "
                 "`too_long`, `in_past`, `too_far_ahead`, `out_of_service`, `quota_exceeded`, "
                 "`guardian_consent_required` (give `guardian_email`); "
                 "an unattended job: `unattended_not_allowed`, `unattended_too_long`, "
                 "`unattended_start_unstaffed`, `unattended_ends_too_late`, "
                 "`unattended_before_closed_day`, `unattended_night_full`; "
                 "also `invalid_input`, `unknown_user`. Refusals about the time carry "
                 "`suggestions`: the nearest free periods.")
BOOKING_FORBIDDEN = ("`not_certified` (with `certification`), `too_young`, `blocked` (with "
                     "`until`), `email_not_verified`, or `forbidden` (booking for someone else "
                     "without being staff of the branch)")


def equipment_out(equipment: Equipment) -> dict[str, Any]:
    certification = equipment.requires_certification
    out = services.current_outage(equipment, clock.now())
    shown = {"id": equipment.id, "branch": equipment.branch.slug, "name": equipment.name,
             "kind": equipment.kind.value, "description": equipment.description,
             "status": "out_of_service" if out else "in_service",
             **{name: getattr(equipment, name) for name in RULE_DEFAULTS},
             "requires_certification": certification.slug if certification else None}
    viewer = g.get("api_user")
    if viewer is not None and manages_branch(viewer, equipment.branch):
        connection = machines.connection_of(equipment)
        shown["connection"] = connection_out(connection) if connection else None
    return shown


@bp.route("/branches/<slug>/equipment", methods=["GET"])
@bp.response(200, EquipmentSchema(many=True))
@bp.problems(404, s404="`unknown_branch`")
@bp.doc(operationId="listEquipment", summary="A branch's machines with their booking rules")
def list_equipment(slug: str):  # type: ignore[no-untyped-def]
    return [equipment_out(e) for e in services.equipment_at(branch_by_slug(slug))]


@bp.route("/branches/<slug>/equipment", methods=["POST"])
@bp.secured
@bp.arguments(NewEquipmentSchema)
@bp.response(201, EquipmentSchema)
@bp.problems(400, 403, 404, 422, s404="`unknown_branch`, `unknown_certification`",
             s422="`invalid_rules` (with `field`), `invalid_connection` (with `field`), "
                  "`invalid_input`")
@bp.doc(operationId="createEquipment",
        summary="Add a machine (admin or the branch's librarians)")
def create_equipment(body: dict, slug: str):  # type: ignore[no-untyped-def]
    branch = require_manager(api_user(), branch_by_slug(slug))
    needed = body.pop("requires_certification", None)
    connection = body.pop("connection", None)
    if needed:
        body["requires_certification"] = certification_by_slug(needed)
    equipment = services.create_equipment(branch, **body)
    if connection:
        machines.set_connection(equipment, now=clock.now(), **connection)
    return equipment_out(equipment), 201


@bp.route("/equipment/<id:equipment_id>", methods=["GET"])
@bp.response(200, EquipmentSchema)
@bp.problems(404)
@bp.doc(operationId="getEquipment", summary="One machine")
def get_equipment(equipment_id: int):  # type: ignore[no-untyped-def]
    return equipment_out(services.equipment_by_id(equipment_id))


@bp.route("/equipment/<id:equipment_id>/availability", methods=["GET"])
@bp.arguments(AvailabilityQuerySchema, location="query")
@bp.response(200, AvailabilitySchema, headers={"ETag": {
    "description": "Changes when the answer does; send it back in `If-None-Match`",
    "schema": {"type": "string"}}})
@bp.alt_response(304, description="Not modified: the answer is still the one with this "
                                  "`If-None-Match` ETag")
@bp.problems(404)
@bp.doc(operationId="getAvailability",
        summary="Free and busy periods (public, no personal data)")
def availability(query: dict, equipment_id: int):  # type: ignore[no-untyped-def]
    now = next_whole_minute(clock.now())
    asked = versions.query_key(request.args)
    # The change tokens are read before the database (see booking/versions.py).
    tag = versions.tag_before_reading(equipment_id, now, asked)
    equipment = services.equipment_by_id(equipment_id)
    if not versions.confirm_branch(equipment_id, equipment.branch_id):
        tag = None
    first = query.get("start") or now.astimezone(ZoneInfo(equipment.branch.timezone)).date()
    free, busy = free_and_busy(equipment, first, query["days"], now)
    # The answer's own fingerprint, exact whatever changed: the ETag when there are no
    # tokens (or the machine's branch was not known yet), and still honoured after that.
    own = hashlib.blake2b(repr((free, busy)).encode(), digest_size=16).hexdigest()
    etag = tag or own
    headers = {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
    if request.if_none_match.contains(etag) or request.if_none_match.contains(own):
        return Response(status=304, headers=headers)
    answer = current_app.json.response(_AVAILABILITY_OUT.dump({
        "free": [{"start": i.start, "end": i.end} for i in free],
        "busy": [{"start": i.start, "end": i.end} for i in busy]}))
    answer.headers.update(headers)
    if tag:  # kept for the next request with the same tokens (fast_answers.py serves it)
        versions.kept_pages().put(versions.answer_key(tag), answer.get_data())
    return answer


_AVAILABILITY_OUT = AvailabilitySchema()


@bp.route("/availability", methods=["GET"])
@bp.arguments(FreeTimeQuerySchema, location="query")
@bp.response(200, FreeTimeResultsSchema)
@bp.problems(404, 422, s404="`unknown_branch`")
@bp.doc(operationId="searchAvailability",
        summary="Free time across machines: every bookable start of a kind of machine at "
                "one, several or all branches on one date, soonest first (public)")
def search_availability(query: dict):  # type: ignore[no-untyped-def]
    branches = [branch_by_slug(slug) for slug in dict.fromkeys(query.get("branch", []))]
    found = services.search_free_time(
        now=clock.now(), kind=EquipmentKind(query["kind"]) if "kind" in query else None,
        branches=branches, day=query.get("day"), earliest=parse_clock(query["earliest"]),
        latest=parse_clock(query["latest"]), minutes=query.get("duration"))
    return {"results": [free_time_out(f) for f in found]}


def free_time_out(found: FreeStart) -> dict[str, Any]:
    zone = ZoneInfo(found.equipment.branch.timezone)
    return {"equipment_id": found.equipment.id, "branch": found.equipment.branch.slug,
            "start": found.start.astimezone(zone), "end": found.end.astimezone(zone)}


@bp.route("/bookings", methods=["POST"])
@bp.secured
@bp.arguments(NewBookingSchema)
@bp.response(201, BookingSchema)
@bp.problems(400, 403, 404, 409, 422, s403=BOOKING_FORBIDDEN,
             s409="`conflict`: the machine is taken then (with `suggestions`)",
             s422=BOOKING_RULES)
@bp.doc(operationId="createBooking",
        summary="Book a machine (for yourself, or as staff for a citizen)")
def create_booking(body: dict):  # type: ignore[no-untyped-def]
    equipment = services.equipment_by_id(body["equipment_id"])
    zone = equipment.branch.timezone
    start = Moment.parse(body["start"], zone)
    end = Moment.parse(body["end"], zone) if body.get("end") is not None else None
    user, booked_by = api_user(), None
    email = body.get("user_email")
    if email and email.strip().lower() != user.email:
        require_manager(user, equipment.branch)
        booked_by, user = user, known_person_or_refusal(user, email)
    return booking_out(services.create_booking(
        user=user, equipment=equipment, start=start, end=end, booked_by=booked_by,
        guardian_email=body.get("guardian_email"),
        unattended=body["unattended"], estimated_minutes=body.get("estimated_minutes"))), 201


@bp.route("/branches/<slug>/guest-bookings", methods=["POST"])
@bp.secured
@bp.arguments(NewGuestBookingSchema)
@bp.response(201, BookingSchema)
@bp.problems(400, 403, 404, 409, 422,
             s403="`forbidden` (not staff of the branch), `not_certified` (guests cannot book "
                  "a machine that needs a certification)",
             s404="`unknown_branch`; `not_found`: no such machine at this branch",
             s409="`conflict`: the machine is taken then (with `suggestions`)",
             s422="The same time rules as other bookings: `outside_opening_hours`, "
                  "`off_grid`, `too_short`, `too_long`, `in_past`, `too_far_ahead`, "
                  "`out_of_service` (with `suggestions`); `invalid_input`")
@bp.doc(operationId="createGuestBooking",
        summary="Book a machine for a walk-in without an account, by name (the branch's "
                "staff); the answer's `checkin_url` is what the slip's QR code holds")
def create_guest_booking(body: dict, slug: str):  # type: ignore[no-untyped-def]
    branch = require_manager(api_user(), branch_by_slug(slug))
    equipment = services.equipment_by_id(body["equipment_id"])
    if equipment.branch_id != branch.id:
        raise errors.EquipmentNotFound()
    start = Moment.parse(body["start"], branch.timezone)
    end = Moment.parse(body["end"], branch.timezone)
    return booking_out(services.create_guest_booking(
        equipment=equipment, start=start, end=end, name=body["name"],
        phone=body.get("phone") or "", by=api_user())), 201


@bp.route("/bookings/<id:booking_id>", methods=["GET"])
@bp.secured
@bp.response(200, BookingSchema)
@bp.problems(404)
@bp.doc(operationId="getBooking", summary="One booking (its owner or the branch's staff)")
def get_booking(booking_id: int):  # type: ignore[no-untyped-def]
    return booking_out(services.booking_visible_to(booking_id, api_user()))


@bp.route("/bookings/<id:booking_id>", methods=["DELETE"])
@bp.secured
@bp.arguments(CancelSchema, location="query", arg_name="query")
@bp.arguments(CancelSchema, location="json", required=False, arg_name="body")
@bp.response(200, BookingSchema)
@bp.problems(400, 404, 409, 422, s409="`not_cancellable`: the booking is no longer active",
             s422="`too_late_to_cancel`, `reason_required`")
@bp.doc(operationId="cancelBooking",
        summary="Cancel: the owner before the start; branch staff any time, with a "
                "`reason` (JSON body or query) when it is someone else's")
def cancel_booking(booking_id: int, query: dict, body: dict):  # type: ignore[no-untyped-def]
    found = services.booking_visible_to(booking_id, api_user())
    reason = body.get("reason") or query.get("reason") or ""
    return booking_out(services.cancel_booking(found, by=api_user(), reason=reason))


@bp.route("/me/bookings", methods=["GET"])
@bp.secured
@bp.arguments(PageQuery, location="query")
@bp.response(200, BookingSchema(many=True), headers=LINK_HEADER)
@bp.doc(operationId="listMyBookings",
        summary="The caller's bookings: upcoming first, then past (a page at a time)")
def my_bookings(query: dict):  # type: ignore[no-untyped-def]
    page = services.bookings_of(api_user(), upcoming=None, now=clock.now(), **query)
    return [booking_out(b) for b in page], 200, link_header(page)
