"""API routes of the checkin area, nested under /api/v1 (blueprint `api.checkin_api`)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from makerspace.api.auth import api_user, token_required
from makerspace.api.inputs import field, json_body
from makerspace.booking.services import booking_visible_to
from makerspace.checkin.routes import qr_image
from makerspace.checkin.services import check_in
from makerspace.errors import Forbidden
from makerspace.events.services import signup_visible_to

bp = Blueprint("checkin_api", __name__)


@bp.post("/checkins")
@token_required
def create_checkin():  # type: ignore[no-untyped-def]
    user = api_user()
    if not user.is_staff:
        raise Forbidden()
    result = check_in(field(json_body(), "code", str), by=user)
    return jsonify(result.as_dict())


@bp.get("/bookings/<int:booking_id>/qr.png")
@token_required
def booking_qr_png(booking_id: int):  # type: ignore[no-untyped-def]
    return qr_image(booking_visible_to(booking_id, api_user()).checkin_token, "png")


@bp.get("/bookings/<int:booking_id>/qr.svg")
@token_required
def booking_qr_svg(booking_id: int):  # type: ignore[no-untyped-def]
    return qr_image(booking_visible_to(booking_id, api_user()).checkin_token, "svg")


@bp.get("/signups/<int:signup_id>/qr.png")
@token_required
def signup_qr_png(signup_id: int):  # type: ignore[no-untyped-def]
    return qr_image(signup_visible_to(signup_id, api_user()).checkin_token, "png")


@bp.get("/signups/<int:signup_id>/qr.svg")
@token_required
def signup_qr_svg(signup_id: int):  # type: ignore[no-untyped-def]
    return qr_image(signup_visible_to(signup_id, api_user()).checkin_token, "svg")
