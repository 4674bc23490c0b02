"""The JSON API at /api/v1. Views are thin: read input, call a service, commit, answer."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.api.auth import api_user, load_api_user, token_required
from makerspace.api.inputs import field, json_body, parse_moment, query_date, query_int
from makerspace.api.openapi import openapi_document
from makerspace.api.serializers import (
    booking_json,
    branch_json,
    certification_json,
    equipment_json,
    event_json,
    grant_json,
    held_certification_json,
    interval_json,
    me_json,
    signup_json,
)
from makerspace.auth import known_person_by_email, knows_person_at, manages_branch
from makerspace.booking import services as booking
from makerspace.booking.availability import free_and_busy
from makerspace.booking.models import Equipment
from makerspace.branches import hours
from makerspace.branches.models import Branch
from makerspace.branches.services import all_branches, branch_by_slug, create_branch
from makerspace.calendar.api import bp as calendar_api_bp
from makerspace.calendar.services import personal_feed_url
from makerspace.certifications import services as certifications
from makerspace.checkin.api import bp as checkin_api_bp
from makerspace.errors import Forbidden, InvalidInput
from makerspace.events import services as events
from makerspace.events.models import Event, Signup

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(load_api_user)
bp.register_blueprint(checkin_api_bp)
bp.register_blueprint(calendar_api_bp)


class UnknownUser(InvalidInput):
    code = "unknown_user"
    title = _l("There is no account with that e-mail address.")


def _require_admin() -> User:
    user = api_user()
    if not user.is_admin:
        raise Forbidden()
    return user


def _require_manages(branch: Branch) -> User:
    user = api_user()
    if not manages_branch(user, branch):
        raise Forbidden()
    return user



def _equipment_out(equipment: Equipment) -> dict:
    status = "out_of_service" if booking.current_outage(equipment, clock.now()) else "in_service"
    return equipment_json(equipment, status)


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())


# -- branches -----------------------------------------------------------------------------

@bp.get("/branches")
def list_branches():  # type: ignore[no-untyped-def]
    return jsonify([branch_json(branch) for branch in all_branches()])


@bp.post("/branches")
@token_required
def create_branch_view():  # type: ignore[no-untyped-def]
    _require_admin()
    body = json_body()
    branch = create_branch(
        slug=field(body, "slug", str), name=field(body, "name", str),
        municipality=field(body, "municipality", str),
        timezone=field(body, "timezone", str, required=False, default="Europe/Oslo"),
        closed_on_public_holidays=field(body, "closed_on_public_holidays", bool,
                                        required=False, default=True))
    return jsonify(branch_json(branch)), 201


@bp.get("/branches/<slug>")
def get_branch(slug: str):  # type: ignore[no-untyped-def]
    return jsonify(branch_json(branch_by_slug(slug)))


@bp.get("/branches/<slug>/opening-hours")
def get_opening_hours(slug: str):  # type: ignore[no-untyped-def]
    return jsonify({"weekly": hours.weekly_hours(branch_by_slug(slug))})


@bp.put("/branches/<slug>/opening-hours")
@token_required
def put_opening_hours(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    _require_manages(branch)
    weekly = field(json_body(), "weekly", dict)
    if not all(isinstance(v, list) for v in weekly.values()):
        raise hours.InvalidHours(_("Each weekday needs a list of [opens, closes] pairs."))
    hours.set_weekly_hours(branch, {day: [tuple(map(str, pair)) for pair in pairs]
                                    for day, pairs in weekly.items()})
    return jsonify({"weekly": hours.weekly_hours(branch)})


# -- equipment ----------------------------------------------------------------------------

EQUIPMENT_FIELDS = {"name": str, "kind": str, "description": str, "slot_minutes": int,
                    "min_minutes": int, "max_minutes": int, "buffer_minutes": int,
                    "max_advance_days": int, "min_age": int}


@bp.get("/branches/<slug>/equipment")
def list_equipment(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    return jsonify([_equipment_out(e) for e in booking.equipment_at(branch)])


@bp.post("/branches/<slug>/equipment")
@token_required
def create_equipment_view(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    _require_manages(branch)
    body = json_body()
    fields = {name: field(body, name, kind, required=name in ("name", "kind"))
              for name, kind in EQUIPMENT_FIELDS.items() if name in body or name in
              ("name", "kind")}
    slug_needed = field(body, "requires_certification", str, required=False)
    if slug_needed:
        fields["requires_certification"] = certifications.certification_by_slug(slug_needed)
    equipment = booking.create_equipment(branch, **fields)
    return jsonify(_equipment_out(equipment)), 201


@bp.get("/equipment/<int:equipment_id>")
def get_equipment(equipment_id: int):  # type: ignore[no-untyped-def]
    return jsonify(_equipment_out(booking.equipment_by_id(equipment_id)))


@bp.get("/equipment/<int:equipment_id>/availability")
def availability(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = booking.equipment_by_id(equipment_id)
    now = clock.now()
    today = now.astimezone(ZoneInfo(equipment.branch.timezone)).date()
    first = query_date("from", today)
    days = query_int("days", 7, 1, 62)
    free, busy = free_and_busy(equipment, first, days, now)
    return jsonify({"free": [interval_json(i) for i in free],
                    "busy": [interval_json(i) for i in busy]})


# -- certifications -----------------------------------------------------------------------

@bp.get("/certifications")
def list_certifications():  # type: ignore[no-untyped-def]
    return jsonify([certification_json(c) for c in certifications.all_certifications()])


@bp.post("/certifications")
@token_required
def create_certification_view():  # type: ignore[no-untyped-def]
    _require_admin()
    body = json_body()
    certification = certifications.create_certification(
        slug=field(body, "slug", str), name=field(body, "name", str),
        valid_months=field(body, "valid_months", int, required=False))
    return jsonify(certification_json(certification)), 201


@bp.post("/certifications/<slug>/grants")
@token_required
def grant_certification_view(slug: str):  # type: ignore[no-untyped-def]
    if not api_user().is_staff:
        raise Forbidden()
    certification = certifications.certification_by_slug(slug)
    body = json_body()
    user = _known_user_by_email(field(body, "user_email", str))
    branch_slug = field(body, "branch", str, required=False)
    held = certifications.grant_certification(
        user=user, certification=certification, granted_by=api_user(),
        note=field(body, "note", str, required=False, default=""),
        branch=_granting_branch(branch_slug, user))
    return jsonify(grant_json(held)), 201


def _known_user_by_email(email: str) -> User:
    """The person, if the caller (staff) may see them; the same refusal for an address
    without an account and for someone the caller's libraries do not know."""
    user = known_person_by_email(api_user(), email)
    if user is None:
        raise UnknownUser(field="user_email")
    return user


def _granting_branch(slug: str | None, person: User) -> Branch | None:
    """Where a grant is made: the branch named (one the caller manages), else the caller's
    branch where the person is known; None for admins who name none."""
    caller = api_user()
    if slug:
        named = branch_by_slug(slug)
        _require_manages(named)
        return named
    if caller.is_admin:
        return None
    return next((b for b in caller.branches if knows_person_at(person, b)), None)


# -- bookings -----------------------------------------------------------------------------

@bp.post("/bookings")
@token_required
def create_booking_view():  # type: ignore[no-untyped-def]
    body = json_body()
    equipment = booking.equipment_by_id(field(body, "equipment_id", int))
    zone = equipment.branch.timezone
    start = parse_moment(field(body, "start", str), zone, "start")
    end = parse_moment(field(body, "end", str), zone, "end")
    user, booked_by = api_user(), None
    email = field(body, "user_email", str, required=False)
    if email and email.strip().lower() != user.email:
        booked_by = _require_manages(equipment.branch)
        user = _known_user_by_email(email)
    created = booking.create_booking(user=user, equipment=equipment, start=start, end=end,
                                     booked_by=booked_by)
    return jsonify(booking_json(created)), 201


@bp.get("/bookings/<int:booking_id>")
@token_required
def get_booking(booking_id: int):  # type: ignore[no-untyped-def]
    return jsonify(booking_json(booking.booking_visible_to(booking_id, api_user())))


@bp.delete("/bookings/<int:booking_id>")
@token_required
def cancel_booking_view(booking_id: int):  # type: ignore[no-untyped-def]
    found = booking.booking_visible_to(booking_id, api_user())
    body = request.get_json(silent=True) if request.data else {}
    reason = (body or {}).get("reason") or request.args.get("reason", "")
    booking.cancel_booking(found, by=api_user(), reason=str(reason))
    return jsonify(booking_json(found))


# -- events -------------------------------------------------------------------------------

def _events_out(found: list[Event]) -> list[dict]:
    counts = events.event_counts(found)
    return [event_json(event, counts[event.id]) for event in found]


def _signup_out(signup: Signup) -> dict:
    return signup_json(signup, events.waitlist_position(signup))


def _optional_certification(body: dict, name: str):  # type: ignore[no-untyped-def]
    slug = field(body, name, str, required=False)
    return certifications.certification_by_slug(slug) if slug else None


@bp.get("/events")
def list_events():  # type: ignore[no-untyped-def]
    branch = branch_by_slug(request.args["branch"]) if request.args.get("branch") else None
    zone = ZoneInfo(branch.timezone if branch else "Europe/Oslo")
    first = query_date("from", clock.now().astimezone(zone).date())
    start = hours.local_moment(first, 0, zone)
    return jsonify(_events_out(events.list_events(branch=branch, start=start).items))


@bp.post("/branches/<slug>/events")
@token_required
def create_event_view(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    _require_manages(branch)
    body = json_body()
    zone = branch.timezone
    opens, closes = (field(body, name, str, required=False)
                     for name in ("signup_opens", "signup_closes"))
    event = events.create_event(
        branch=branch, title=field(body, "title", str),
        start=parse_moment(field(body, "start", str), zone, "start"),
        end=parse_moment(field(body, "end", str), zone, "end"),
        capacity=field(body, "capacity", int),
        description=field(body, "description", str, required=False, default=""),
        instructor=field(body, "instructor", str, required=False, default=""),
        min_age=field(body, "min_age", int, required=False),
        signup_opens_at=parse_moment(opens, zone, "signup_opens") if opens else None,
        signup_closes_at=parse_moment(closes, zone, "signup_closes") if closes else None,
        grants_certification=_optional_certification(body, "grants_certification"),
        requires_certification=_optional_certification(body, "requires_certification"))
    return jsonify(_events_out([event])[0]), 201


@bp.get("/events/<int:event_id>")
def get_event(event_id: int):  # type: ignore[no-untyped-def]
    return jsonify(_events_out([events.event_by_id(event_id)])[0])


@bp.post("/events/<int:event_id>/signups")
@token_required
def sign_up_view(event_id: int):  # type: ignore[no-untyped-def]
    event = events.event_by_id(event_id)
    body = request.get_json(silent=True) if request.data else {}
    if not isinstance(body, dict):
        raise InvalidInput(_("The request body must be a JSON object."))
    user, by = api_user(), None
    email = field(body, "user_email", str, required=False)
    if email and email.strip().lower() != user.email:
        by = _require_manages(event.branch)
        user = _known_user_by_email(email)
    signup = events.sign_up(event=event, user=user, by=by)
    return jsonify(_signup_out(signup)), 201


@bp.delete("/signups/<int:signup_id>")
@token_required
def leave_view(signup_id: int):  # type: ignore[no-untyped-def]
    signup = events.signup_visible_to(signup_id, api_user())
    events.leave(signup, by=api_user())
    return jsonify(_signup_out(signup))


@bp.post("/signups/<int:signup_id>/attendance")
@token_required
def attendance_view(signup_id: int):  # type: ignore[no-untyped-def]
    signup = events.signup_visible_to(signup_id, api_user())
    events.mark_attendance(signup, by=api_user())
    return jsonify(_signup_out(signup))


@bp.get("/me/signups")
@token_required
def my_signups():  # type: ignore[no-untyped-def]
    now = clock.now()
    found = events.signups_of(api_user(), now=now, upcoming=None)
    return jsonify([_signup_out(s) for s in found])


@bp.get("/me/certifications")
@token_required
def my_certifications():  # type: ignore[no-untyped-def]
    now = clock.now()
    return jsonify([held_certification_json(h, now)
                    for h in certifications.certifications_of(api_user())])


@bp.get("/me")
@token_required
def me():  # type: ignore[no-untyped-def]
    return jsonify({**me_json(api_user()), "calendar_url": personal_feed_url(api_user())})


@bp.get("/me/bookings")
@token_required
def my_bookings():  # type: ignore[no-untyped-def]
    now = clock.now()
    found = booking.bookings_of(api_user(), upcoming=None, now=now)
    return jsonify([booking_json(b) for b in found])


