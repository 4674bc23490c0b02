"""OpenAPI paths served by the calendar area (merged into /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

_BEARER = [{"bearerAuth": []}]
_PROBLEM = {"content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/Problem"}}}}
_URL = {"description": "The secret feed address",
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["url"],
            "properties": {"url": {"type": "string", "format": "uri"}}}}}}
_SLUG = [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}]
_STAFF_ERRORS = {"401": {"description": "No valid token", **_PROBLEM},
                 "403": {"description": "Not staff of this branch (`forbidden`)", **_PROBLEM},
                 "404": {"description": "No such branch", **_PROBLEM}}

PATHS: dict[str, Any] = {
    "/branches/{slug}/staff-calendar": {
        "parameters": _SLUG,
        "get": {
            "summary": "The branch's staff iCal feed address (with names; the branch's staff)",
            "operationId": "getStaffCalendar",
            "security": _BEARER,
            "responses": {"200": _URL, **_STAFF_ERRORS},
        },
        "post": {
            "summary": "Rotate the staff feed address; the old one answers 404 at once",
            "operationId": "rotateStaffCalendar",
            "security": _BEARER,
            "responses": {"200": _URL, **_STAFF_ERRORS},
        },
    },
    "/me/calendar-token": {
        "post": {
            "summary": "Rotate the caller's personal feed address; the old one 404s at once",
            "operationId": "rotateCalendarToken",
            "security": _BEARER,
            "responses": {
                "200": {"description": "The new address", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["calendar_url"],
                               "properties": {"calendar_url": {"type": "string",
                                                               "format": "uri"}}}}}},
                "401": {"description": "No valid token", **_PROBLEM},
            },
        }
    },
}
