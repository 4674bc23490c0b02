"""Courses, workshops and open-workshop hours, sign-ups and attendance in the API."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from makerspace import clock
from makerspace.api.auth import api_user
from makerspace.api.fields import Moment, PageQuery
from makerspace.api.pages import LINK_HEADER, link_header
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import known_person_or_refusal, require_manager
from makerspace.booking import guardians
from makerspace.branches.hours import local_moment
from makerspace.branches.services import branch_by_slug
from makerspace.certifications.services import certification_by_slug
from makerspace.checkin.services import checkin_link
from makerspace.events import services
from makerspace.events.models import Event, Signup, SignupStatus
from makerspace.events.schemas import (
    EventQuerySchema,
    EventSchema,
    NewEventSchema,
    NewSignupSchema,
    SignupSchema,
)

bp = ApiBlueprint("events_api", __name__, "Courses, workshops and open-workshop hours")


def events_out(found: list[Event]) -> list[dict[str, Any]]:
    counts = services.event_counts(found)
    return [_event_out(event, counts[event.id]) for event in found]


def _event_out(event: Event, counts: services.EventCounts) -> dict[str, Any]:
    granted, required = event.grants_certification, event.requires_certification
    return {"id": event.id, "branch": event.branch.slug, "title": event.title,
            "description": event.description, "description_nn": event.description_nn,
            "description_en": event.description_en, "category": event.category,
            "instructor": event.instructor,
            "start": event.start_at, "end": event.end_at, "capacity": event.capacity,
            "seats_left": event.seats_left(counts.confirmed),
            "waitlist_length": counts.waitlisted, "status": event.status.value,
            "min_age": event.min_age, "guardian_consent_under": event.guardian_consent_under,
            "signup_opens": event.signup_opens_at,
            "signup_closes": event.signup_deadline,
            "grants_certification": granted.slug if granted else None,
            "requires_certification": required.slug if required else None}


def signup_out(signup: Signup) -> dict[str, Any]:
    consent = guardians.consent_state(signup)
    pending = consent == "pending" and signup.status == SignupStatus.CONFIRMED
    return {"id": signup.id, "event_id": signup.event_id,
            "status": "pending_consent" if pending else signup.status.value,
            "guardian_consent": consent,
            "position": services.waitlist_position(signup), "attended_at": signup.attended_at,
            "checkin_url": checkin_link(signup.checkin_token)}


def _certification(slug: str | None):  # type: ignore[no-untyped-def]
    return certification_by_slug(slug) if slug else None


@bp.route("/events", methods=["GET"])
@bp.arguments(EventQuerySchema, location="query")
@bp.response(200, EventSchema(many=True), headers=LINK_HEADER)
@bp.problems(404, s404="`unknown_branch`")
@bp.doc(operationId="listEvents",
        summary="Events (courses, workshops, open hours), soonest first (public, in pages)")
def list_events(query: dict):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(query["branch"]) if query.get("branch") else None
    zone = ZoneInfo(branch.timezone if branch else current_app.config["BABEL_DEFAULT_TIMEZONE"])
    first = query.get("start") or clock.now().astimezone(zone).date()
    page = services.list_events(branch=branch, start=local_moment(first, 0, zone),
                                page=query["page"], per_page=query["per_page"])
    return events_out(page.items), 200, link_header(page)


@bp.route("/branches/<slug>/events", methods=["POST"])
@bp.secured
@bp.arguments(NewEventSchema)
@bp.response(201, EventSchema)
@bp.problems(400, 403, 404, 422, s404="`unknown_branch`, `unknown_certification`",
             s422="`invalid_event`, `invalid_input`")
@bp.doc(operationId="createEvent",
        summary="Create an event (admin or the branch's librarians)")
def create_event(body: dict, slug: str):  # type: ignore[no-untyped-def]
    branch = require_manager(api_user(), branch_by_slug(slug))
    zone = branch.timezone

    def moment(name: str):  # type: ignore[no-untyped-def]
        return Moment.parse(body[name], zone) if body.get(name) else None

    event = services.create_event(
        branch=branch, title=body["title"], start=moment("start"), end=moment("end"),
        capacity=body["capacity"], description=body["description"],
        description_nn=body["description_nn"], description_en=body["description_en"],
        category=body.get("category"),
        instructor=body["instructor"], min_age=body.get("min_age"),
        guardian_consent_under=body.get("guardian_consent_under"),
        signup_opens_at=moment("signup_opens"), signup_closes_at=moment("signup_closes"),
        grants_certification=_certification(body.get("grants_certification")),
        requires_certification=_certification(body.get("requires_certification")))
    return events_out([event])[0], 201


@bp.route("/events/<id:event_id>", methods=["GET"])
@bp.response(200, EventSchema)
@bp.problems(404)
@bp.doc(operationId="getEvent", summary="One event (public)")
def get_event(event_id: int):  # type: ignore[no-untyped-def]
    return events_out([services.event_by_id(event_id)])[0]


@bp.route("/events/<id:event_id>/signups", methods=["POST"])
@bp.secured
@bp.arguments(NewSignupSchema, required=False)
@bp.response(201, SignupSchema)
@bp.problems(400, 403, 404, 409, 422, s403="`not_certified`, `too_young`, or `forbidden`",
             s409="`already_signed_up`, `cancelled`",
             s422="`signup_closed`, `unknown_user`, `guardian_consent_required` (give "
                  "`guardian_email`)")
@bp.doc(operationId="signUp",
        summary="Sign up (yourself, or as branch staff for `user_email`)")
def sign_up(body: dict, event_id: int):  # type: ignore[no-untyped-def]
    event = services.event_by_id(event_id)
    user, by = api_user(), None
    email = body.get("user_email")
    if email and email.strip().lower() != user.email:
        require_manager(user, event.branch)
        by, user = user, known_person_or_refusal(user, email)
    return signup_out(services.sign_up(event=event, user=user, by=by,
                                       guardian_email=body.get("guardian_email"))), 201


@bp.route("/signups/<id:signup_id>", methods=["DELETE"])
@bp.secured
@bp.response(200, SignupSchema)
@bp.problems(404, 409, 422, s409="`not_confirmed`: attended already; `cancelled`",
             s422="`signup_closed`: it has started (ask the staff)")
@bp.doc(operationId="leaveSignup",
        summary="Leave (the owner or branch staff); the first on the waitlist moves up")
def leave(signup_id: int):  # type: ignore[no-untyped-def]
    signup = services.signup_visible_to(signup_id, api_user())
    services.leave(signup, by=api_user())
    return signup_out(signup)


@bp.route("/signups/<id:signup_id>/attendance", methods=["POST"])
@bp.secured
@bp.response(200, SignupSchema)
@bp.problems(404, 409, s409="`too_early` (before the check-in window opens), `not_confirmed`")
@bp.doc(operationId="markAttendance",
        summary="Mark as attended (branch staff); grants the event's certification")
def attendance(signup_id: int):  # type: ignore[no-untyped-def]
    signup = services.signup_visible_to(signup_id, api_user())
    services.mark_attendance(signup, by=api_user())
    return signup_out(signup)


@bp.route("/me/signups", methods=["GET"])
@bp.secured
@bp.arguments(PageQuery, location="query")
@bp.response(200, SignupSchema(many=True), headers=LINK_HEADER)
@bp.doc(operationId="listMySignups",
        summary="The caller's sign-ups: upcoming first, then past and left (in pages)")
def my_signups(query: dict):  # type: ignore[no-untyped-def]
    page = services.signups_of(api_user(), now=clock.now(), upcoming=None, **query)
    return [signup_out(s) for s in page], 200, link_header(page)
