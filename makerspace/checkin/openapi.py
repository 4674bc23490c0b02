"""OpenAPI paths served by the checkin area (merged into /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}


BEARER = [{"bearerAuth": []}]
UNAUTHORIZED = _problem("No valid bearer token (codes `unauthorized`, `invalid_token`).")
NOT_FOUND = _problem("No such object, or not one the caller may see (code `not_found`).")

CHECKIN_RESULT: dict[str, Any] = {
    "type": "object",
    "required": ["result", "kind", "id", "name", "what", "start", "end", "checked_in_at"],
    "properties": {
        "result": {"type": "string", "enum": ["checked_in", "already_checked_in"],
                   "description": "Scanning twice is harmless: the second answer is "
                                  "`already_checked_in` with the first check-in's time."},
        "kind": {"type": "string", "enum": ["booking", "signup"]},
        "id": {"type": "integer", "description": "The booking's or sign-up's id"},
        "name": {"type": "string", "description": "The person's name"},
        "what": {"type": "string", "description": "The machine's name or the event's title"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "checked_in_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def _qr(kind: str, what: str, param: str, media: str) -> dict[str, Any]:
    return {
        "parameters": [{"name": param, "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "get": {
            "summary": f"The check-in QR code of a {what} as {kind.upper()} (its owner or "
                       "the branch's staff). It encodes `<BASE_URL>/C/<TOKEN>`.",
            "operationId": f"get{what.title().replace('-', '')}Qr{kind.title()}",
            "security": BEARER,
            "responses": {
                "200": {"description": "The QR code",
                        "content": {media: {"schema": {"type": "string",
                                                       "format": "binary"}}}},
                "401": UNAUTHORIZED, "404": NOT_FOUND,
            },
        },
    }


PATHS: dict[str, Any] = {
    "/checkins": {
        "post": {
            "summary": "Check in a booking or an event sign-up by its scanned code (staff: "
                       "librarians at their branches, admins anywhere)",
            "operationId": "createCheckin",
            "security": BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["code"],
                "properties": {"code": {
                    "type": "string",
                    "description": "What the scanner read: the check-in URL (even with "
                                   "separators mangled by a keyboard layout) or the bare "
                                   "token.",
                    "examples": ["https://folkeverksted.no/c/"
                                 "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"]}}}}}},
            "responses": {
                "200": {"description": "Checked in, or already checked in",
                        "content": {"application/json": {"schema": CHECKIN_RESULT}}},
                "400": _problem("`invalid_code`: no booking or sign-up has this code "
                                "(unknown, altered or forged); `invalid_json`."),
                "401": UNAUTHORIZED,
                "403": _problem("`forbidden`: the caller is not staff; `wrong_branch` (with "
                                "`branch`): the code is for a branch the caller does not "
                                "manage."),
                "409": _problem("`cancelled`; `too_early` (with `opens_at`); `too_late` (with "
                                "`closed_at`; also for bookings already marked no-show); "
                                "`not_confirmed`: a sign-up still on the waitlist."),
                "422": _problem("`invalid_input`: `code` is missing or not a string."),
            },
        },
    },
    "/bookings/{booking_id}/qr.png": _qr("png", "booking", "booking_id", "image/png"),
    "/bookings/{booking_id}/qr.svg": _qr("svg", "booking", "booking_id", "image/svg+xml"),
    "/signups/{signup_id}/qr.png": _qr("png", "sign-up", "signup_id", "image/png"),
    "/signups/{signup_id}/qr.svg": _qr("svg", "sign-up", "signup_id", "image/svg+xml"),
}
