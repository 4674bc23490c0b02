"""The OpenAPI 3.1 description of /api/v1. A test keeps it in step with the routes."""

from __future__ import annotations

import copy
from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


BEARER = [{"bearerAuth": []}]
UNAUTHORIZED = _problem("No valid bearer token (codes `unauthorized`, `invalid_token`).")
FORBIDDEN = _problem("The token's owner may not do this (code `forbidden`).")
NOT_FOUND = _problem("No such object, or not one the caller may see (code `not_found`).")
INVALID = _problem("Invalid input (codes `invalid_json`, `invalid_input` and others).")
CONFLICT = _problem("It exists already (e.g. `branch_exists`, `certification_exists`).")
BOOKING_RULES = _problem(
    "A booking rule refuses it: `outside_opening_hours`, `off_grid`, `too_short`, `too_long`, "
    "`in_past`, `too_far_ahead`, `out_of_service`, `quota_exceeded`; also `invalid_input`, "
    "`unknown_user`. Refusals about the time carry `suggestions`: the nearest free periods."
)
BOOKING_FORBIDDEN = _problem(
    "`not_certified` (with `certification`: the slug needed), `too_young`, `blocked` (with "
    "`until`), `email_not_verified` (follow the link in the verification e-mail first), or "
    "`forbidden` (booking for someone else without being staff of the branch)."
)
BOOKING_CONFLICT = _problem(
    "`conflict`: the machine is taken then (with `suggestions`); "
    "`not_cancellable` when cancelling a booking that is no longer active."
)
INTERVAL = {"type": "object", "required": ["start", "end"],
            "properties": {"start": {"type": "string", "format": "date-time"},
                           "end": {"type": "string", "format": "date-time"}}}

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details with a machine-readable `code`.",
        "required": ["type", "status", "title", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "integer"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
        },
    },
    "Branch": {
        "type": "object",
        "required": ["slug", "name", "municipality", "timezone"],
        "properties": {
            "slug": {"type": "string", "examples": ["steinkjer"]},
            "name": {"type": "string"},
            "municipality": {"type": "string"},
            "timezone": {"type": "string", "examples": ["Europe/Oslo"]},
            "closed_on_public_holidays": {"type": "boolean"},
            "max_upcoming_bookings": {"type": "integer"},
        },
    },
    "NewBranch": {
        "type": "object",
        "required": ["slug", "name", "municipality"],
        "properties": {
            "slug": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
            "name": {"type": "string"},
            "municipality": {"type": "string"},
            "timezone": {"type": "string", "default": "Europe/Oslo"},
            "closed_on_public_holidays": {"type": "boolean", "default": True},
        },
    },
    "WeeklyHours": {
        "type": "object",
        "required": ["weekly"],
        "properties": {
            "weekly": {
                "type": "object",
                "description": "Weekday (mon…sun) to a list of [opens, closes] in HH:MM; "
                               "24:00 allowed; a weekday left out or empty is closed.",
                "propertyNames": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
                "additionalProperties": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "string"},
                              "minItems": 2, "maxItems": 2},
                },
            }
        },
        "examples": [{"weekly": {"mon": [["08:00", "20:00"]], "sun": []}}],
    },
    "Equipment": {
        "type": "object",
        "required": ["id", "branch", "name", "kind", "status", "slot_minutes", "min_minutes",
                     "max_minutes", "buffer_minutes", "max_advance_days", "min_age",
                     "requires_certification"],
        "properties": {
            "id": {"type": "integer"},
            "branch": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["3d-printer", "laser-cutter", "vr-kit",
                                                "vinyl-cutter", "sewing-machine",
                                                "podcast-studio", "digitisation-station",
                                                "other"]},
            "description": {"type": "string"},
            "status": {"type": "string", "enum": ["in_service", "out_of_service"]},
            "slot_minutes": {"type": "integer"},
            "min_minutes": {"type": "integer"},
            "max_minutes": {"type": "integer"},
            "buffer_minutes": {"type": "integer"},
            "max_advance_days": {"type": "integer"},
            "min_age": {"type": ["integer", "null"]},
            "requires_certification": {"type": ["string", "null"],
                                       "description": "A certification slug"},
        },
    },
    "NewEquipment": {
        "type": "object",
        "required": ["name", "kind"],
        "properties": {
            "name": {"type": "string"}, "kind": {"type": "string"},
            "description": {"type": "string"},
            "slot_minutes": {"type": "integer", "default": 30},
            "min_minutes": {"type": "integer", "default": 60},
            "max_minutes": {"type": "integer", "default": 240},
            "buffer_minutes": {"type": "integer", "default": 0},
            "max_advance_days": {"type": "integer", "default": 14},
            "min_age": {"type": ["integer", "null"]},
            "requires_certification": {"type": ["string", "null"]},
        },
    },
    "Availability": {
        "type": "object",
        "required": ["free", "busy"],
        "description": "Free: bookable now. Busy: bookings (with buffers) and outages. "
                       "Nothing about who booked.",
        "properties": {"free": {"type": "array", "items": INTERVAL},
                       "busy": {"type": "array", "items": INTERVAL}},
    },
    "Certification": {
        "type": "object",
        "required": ["slug", "name", "valid_months"],
        "properties": {"slug": {"type": "string"}, "name": {"type": "string"},
                       "valid_months": {"type": ["integer", "null"]}},
    },
    "Grant": {
        "type": "object",
        "required": ["certification", "user_email", "granted_at", "expires_at", "note"],
        "properties": {"certification": {"type": "string"}, "user_email": {"type": "string"},
                       "granted_at": {"type": "string", "format": "date-time"},
                       "expires_at": {"type": ["string", "null"], "format": "date-time"},
                       "note": {"type": "string"}},
    },
    "NewBooking": {
        "type": "object",
        "required": ["equipment_id", "start", "end"],
        "properties": {
            "equipment_id": {"type": "integer"},
            "start": {"type": "string", "description": "ISO 8601; without an offset the "
                                                      "time is read in the branch's zone"},
            "end": {"type": "string"},
            "user_email": {"type": "string", "description": "Staff booking for a citizen"},
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "branch", "title", "start", "end", "capacity", "seats_left",
                     "waitlist_length", "grants_certification"],
        "properties": {
            "id": {"type": "integer"}, "branch": {"type": "string"},
            "title": {"type": "string"}, "description": {"type": "string"},
            "instructor": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "capacity": {"type": "integer"}, "seats_left": {"type": "integer"},
            "waitlist_length": {"type": "integer"},
            "status": {"type": "string", "enum": ["scheduled", "cancelled"]},
            "min_age": {"type": ["integer", "null"]},
            "signup_opens": {"type": ["string", "null"], "format": "date-time"},
            "signup_closes": {"type": "string", "format": "date-time"},
            "grants_certification": {"type": ["string", "null"]},
            "requires_certification": {"type": ["string", "null"]},
        },
    },
    "NewEvent": {
        "type": "object",
        "required": ["title", "start", "end", "capacity"],
        "properties": {
            "title": {"type": "string"}, "start": {"type": "string"}, "end": {"type": "string"},
            "capacity": {"type": "integer"}, "description": {"type": "string"},
            "instructor": {"type": "string"}, "min_age": {"type": "integer"},
            "signup_opens": {"type": "string"}, "signup_closes": {"type": "string"},
            "grants_certification": {"type": "string"},
            "requires_certification": {"type": "string"},
        },
    },
    "Signup": {
        "type": "object",
        "required": ["id", "event_id", "status", "position"],
        "properties": {
            "id": {"type": "integer"}, "event_id": {"type": "integer"},
            "status": {"type": "string", "enum": ["confirmed", "waitlisted", "cancelled"]},
            "position": {"type": ["integer", "null"],
                         "description": "Place on the waitlist (1 = next); null otherwise"},
            "attended_at": {"type": ["string", "null"], "format": "date-time"},
            "checkin_url": {"type": "string", "format": "uri",
                            "description": "What the QR code holds: <base>/C/<TOKEN>"},
        },
    },
    "HeldCertification": {
        "type": "object",
        "required": ["certification", "name", "granted_at", "expires_at", "valid"],
        "properties": {
            "certification": {"type": "string"}, "name": {"type": "string"},
            "granted_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": ["string", "null"], "format": "date-time"},
            "valid": {"type": "boolean"},
        },
    },
    "Booking": {
        "type": "object",
        "required": ["id", "equipment_id", "start", "end", "status"],
        "properties": {
            "id": {"type": "integer"},
            "equipment_id": {"type": "integer"},
            "branch": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"},
            "status": {"type": "string", "enum": ["confirmed", "checked_in", "completed",
                                                  "cancelled", "no_show"]},
            "cancel_reason": {"type": ["string", "null"]},
            "checkin_url": {"type": "string", "format": "uri",
                            "description": "What the QR code holds: <base>/C/<TOKEN>"},
        },
    },
    "Me": {
        "type": "object",
        "required": ["email", "name", "role", "branches", "calendar_url"],
        "properties": {
            "calendar_url": {"type": "string", "format": "uri",
                             "description": "Secret iCal feed of the caller's bookings and "
                                            "sign-ups"},
            "email": {"type": "string", "format": "email"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["citizen", "librarian", "admin"]},
            "branches": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Slugs of the branches a librarian works at.",
            },
        },
    },
}

PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "operationId": "getOpenApi",
            "responses": {"200": {"description": "The OpenAPI document"}},
        }
    },
    "/branches": {
        "get": {
            "summary": "All branches",
            "operationId": "listBranches",
            "responses": {"200": _json({"type": "array", "items": _ref("Branch")}, "Branches")},
        },
        "post": {
            "summary": "Create a branch (admin)",
            "operationId": "createBranch",
            "security": BEARER,
            "requestBody": _body(_ref("NewBranch")),
            "responses": {"201": _json(_ref("Branch"), "Created"), "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "409": CONFLICT, "422": INVALID},
        },
    },
    "/branches/{slug}": {
        "parameters": [_path_param("slug")],
        "get": {
            "summary": "One branch",
            "operationId": "getBranch",
            "responses": {"200": _json(_ref("Branch"), "The branch"), "404": NOT_FOUND},
        },
    },
    "/branches/{slug}/opening-hours": {
        "parameters": [_path_param("slug")],
        "get": {
            "summary": "A branch's weekly opening hours",
            "operationId": "getOpeningHours",
            "responses": {"200": _json(_ref("WeeklyHours"), "Weekly hours"), "404": NOT_FOUND},
        },
        "put": {
            "summary": "Replace the weekly opening hours (admin or the branch's librarians)",
            "operationId": "putOpeningHours",
            "security": BEARER,
            "requestBody": _body(_ref("WeeklyHours")),
            "responses": {"200": _json(_ref("WeeklyHours"), "Saved"), "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": NOT_FOUND, "422": INVALID},
        },
    },
    "/branches/{slug}/equipment": {
        "parameters": [_path_param("slug")],
        "get": {
            "summary": "A branch's machines with their booking rules",
            "operationId": "listEquipment",
            "responses": {"200": _json({"type": "array", "items": _ref("Equipment")},
                                       "Machines"), "404": NOT_FOUND},
        },
        "post": {
            "summary": "Add a machine (admin or the branch's librarians)",
            "operationId": "createEquipment",
            "security": BEARER,
            "requestBody": _body(_ref("NewEquipment")),
            "responses": {"201": _json(_ref("Equipment"), "Created"), "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": NOT_FOUND, "422": INVALID},
        },
    },
    "/equipment/{equipment_id}": {
        "parameters": [_path_param("equipment_id", "integer")],
        "get": {
            "summary": "One machine",
            "operationId": "getEquipment",
            "responses": {"200": _json(_ref("Equipment"), "The machine"), "404": NOT_FOUND},
        },
    },
    "/equipment/{equipment_id}/availability": {
        "parameters": [
            _path_param("equipment_id", "integer"),
            {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
             "description": "First day (branch's zone); default today"},
            {"name": "days", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 62, "default": 7}},
        ],
        "get": {
            "summary": "Free and busy periods (public, no personal data)",
            "operationId": "getAvailability",
            "responses": {"200": _json(_ref("Availability"), "Free and busy"),
                          "404": NOT_FOUND, "422": INVALID},
        },
    },
    "/certifications": {
        "get": {
            "summary": "All certifications",
            "operationId": "listCertifications",
            "responses": {"200": _json({"type": "array", "items": _ref("Certification")},
                                       "Certifications")},
        },
        "post": {
            "summary": "Create a certification (admin)",
            "operationId": "createCertification",
            "security": BEARER,
            "requestBody": _body({"type": "object", "required": ["slug", "name"],
                                  "properties": {"slug": {"type": "string"},
                                                 "name": {"type": "string"},
                                                 "valid_months": {"type": "integer"}}}),
            "responses": {"201": _json(_ref("Certification"), "Created"),
                          "401": UNAUTHORIZED, "403": FORBIDDEN, "409": CONFLICT,
                          "422": INVALID},
        },
    },
    "/certifications/{slug}/grants": {
        "parameters": [_path_param("slug")],
        "post": {
            "summary": "Grant (or renew) a certification to a person (staff)",
            "operationId": "grantCertification",
            "security": BEARER,
            "requestBody": _body({"type": "object", "required": ["user_email"],
                                  "properties": {"user_email": {"type": "string"},
                                                 "note": {"type": "string"}}}),
            "responses": {"201": _json(_ref("Grant"), "Granted"), "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": NOT_FOUND, "422": INVALID},
        },
    },
    "/bookings": {
        "post": {
            "summary": "Book a machine (for yourself, or as staff for a citizen)",
            "operationId": "createBooking",
            "security": BEARER,
            "requestBody": _body(_ref("NewBooking")),
            "responses": {"201": _json(_ref("Booking"), "Booked"), "401": UNAUTHORIZED,
                          "403": BOOKING_FORBIDDEN, "404": NOT_FOUND,
                          "409": BOOKING_CONFLICT, "422": BOOKING_RULES},
        },
    },
    "/bookings/{booking_id}": {
        "parameters": [_path_param("booking_id", "integer")],
        "get": {
            "summary": "One booking (its owner or the branch's staff)",
            "operationId": "getBooking",
            "security": BEARER,
            "responses": {"200": _json(_ref("Booking"), "The booking"), "401": UNAUTHORIZED,
                          "404": NOT_FOUND},
        },
        "delete": {
            "summary": "Cancel: the owner before the start; branch staff any time, with a "
                       "`reason` (JSON body or query) when it is someone else's",
            "operationId": "cancelBooking",
            "security": BEARER,
            "responses": {"200": _json(_ref("Booking"), "Cancelled"), "401": UNAUTHORIZED,
                          "404": NOT_FOUND, "409": BOOKING_CONFLICT,
                          "422": _problem("`too_late_to_cancel`, `reason_required`")},
        },
    },
    "/me": {
        "get": {
            "summary": "The token's owner",
            "operationId": "getMe",
            "security": BEARER,
            "responses": {"200": _json(_ref("Me"), "The caller"), "401": UNAUTHORIZED},
        }
    },
    "/events": {
        "get": {
            "summary": "Events (courses, workshops, open hours), soonest first (public)",
            "operationId": "listEvents",
            "parameters": [
                {"name": "branch", "in": "query", "schema": {"type": "string"}},
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"},
                 "description": "Events that end on or after this day; default today"},
            ],
            "responses": {"200": _json({"type": "array", "items": _ref("Event")}, "Events"),
                          "404": NOT_FOUND, "422": INVALID},
        }
    },
    "/branches/{slug}/events": {
        "parameters": [_path_param("slug")],
        "post": {
            "summary": "Create an event (admin or the branch's librarians)",
            "operationId": "createEvent",
            "security": BEARER,
            "requestBody": _body(_ref("NewEvent")),
            "responses": {"201": _json(_ref("Event"), "Created"), "401": UNAUTHORIZED,
                          "403": FORBIDDEN, "404": NOT_FOUND, "422": INVALID},
        },
    },
    "/events/{event_id}": {
        "parameters": [_path_param("event_id", "integer")],
        "get": {
            "summary": "One event (public)",
            "operationId": "getEvent",
            "responses": {"200": _json(_ref("Event"), "The event"), "404": NOT_FOUND},
        },
    },
    "/events/{event_id}/signups": {
        "parameters": [_path_param("event_id", "integer")],
        "post": {
            "summary": "Sign up (yourself, or as branch staff for `user_email`)",
            "operationId": "signUp",
            "security": BEARER,
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"user_email": {"type": "string"}}}}}},
            "responses": {
                "201": _json(_ref("Signup"), "Confirmed, or waitlisted with a position"),
                "401": UNAUTHORIZED,
                "403": _problem("`not_certified`, `too_young`, or `forbidden`"),
                "404": NOT_FOUND,
                "409": _problem("`already_signed_up`, `cancelled`"),
                "422": _problem("`signup_closed`, `unknown_user`"),
            },
        },
    },
    "/signups/{signup_id}": {
        "parameters": [_path_param("signup_id", "integer")],
        "delete": {
            "summary": "Leave (the owner or branch staff); the first on the waitlist moves up",
            "operationId": "leaveSignup",
            "security": BEARER,
            "responses": {"200": _json(_ref("Signup"), "Cancelled"), "401": UNAUTHORIZED,
                          "404": NOT_FOUND},
        },
    },
    "/signups/{signup_id}/attendance": {
        "parameters": [_path_param("signup_id", "integer")],
        "post": {
            "summary": "Mark as attended (branch staff); grants the event's certification",
            "operationId": "markAttendance",
            "security": BEARER,
            "responses": {"200": _json(_ref("Signup"), "Marked"), "401": UNAUTHORIZED,
                          "404": NOT_FOUND,
                          "409": _problem("`too_early` (before the check-in window opens), "
                                          "`not_confirmed`")},
        },
    },
    "/me/signups": {
        "get": {
            "summary": "The caller's sign-ups: upcoming first, then past and cancelled",
            "operationId": "listMySignups",
            "security": BEARER,
            "responses": {"200": _json({"type": "array", "items": _ref("Signup")}, "Sign-ups"),
                          "401": UNAUTHORIZED},
        }
    },
    "/me/certifications": {
        "get": {
            "summary": "The certifications the caller holds or held",
            "operationId": "listMyCertifications",
            "security": BEARER,
            "responses": {"200": _json({"type": "array", "items": _ref("HeldCertification")},
                                       "Certifications"), "401": UNAUTHORIZED},
        }
    },
    "/me/bookings": {
        "get": {
            "summary": "The caller's bookings: upcoming first, then past",
            "operationId": "listMyBookings",
            "security": BEARER,
            "responses": {"200": _json({"type": "array", "items": _ref("Booking")},
                                       "Bookings"), "401": UNAUTHORIZED},
        }
    },
}


def _area_paths() -> dict[str, Any]:
    """Paths described next to the areas that serve them (check-in, calendars)."""
    from makerspace.calendar.openapi import PATHS as CALENDAR_PATHS
    from makerspace.checkin.openapi import PATHS as CHECKIN_PATHS

    return {**CHECKIN_PATHS, **CALENDAR_PATHS}


def openapi_document() -> dict[str, Any]:
    """The whole document, built fresh (callers may not mutate the shared parts)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Folkeverksted API",
            "version": "1.0.0",
            "description": (
                "Booking of makerspace equipment and sessions in Trøndelag's libraries. "
                "Public data needs no token; personal and staff data need "
                "`Authorization: Bearer <token>` (create one on your profile page or with "
                "`flask create-token`). Errors are RFC 9457 problem documents with a `code`."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": copy.deepcopy({**PATHS, **_area_paths()}),
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
