"""Check-in in the API: the scan station's call, and the QR codes of bookings and sign-ups."""

from __future__ import annotations

from typing import Any

from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import require_staff
from makerspace.booking.services import booking_visible_to
from makerspace.checkin.qr_images import qr_image
from makerspace.checkin.schemas import CheckinResultSchema, ScanSchema
from makerspace.checkin.services import check_in
from makerspace.core.transaction import reads_first
from makerspace.events.services import signup_visible_to

bp = ApiBlueprint("checkin_api", __name__, "Check-in by QR code")


@bp.route("/checkins", methods=["POST"])
@reads_first  # most scans at a desk are repeats, which change nothing
@bp.secured
@bp.arguments(ScanSchema)
@bp.response(200, CheckinResultSchema)
@bp.problems(400, 403, 409, 422,
             s400="`invalid_code`: no booking or sign-up has this code (unknown, altered or "
                  "forged); `invalid_json`",
             s403="`forbidden`: the caller is not staff; `wrong_branch` (with `branch`): the "
                  "code is for a branch the caller does not manage",
             s409="`cancelled`; `too_early` (with `opens_at`; a kit loan: with "
                  "`pickup_date`); `too_late` (with `closed_at`; also for bookings already "
                  "marked no-show and loans whose pick-up day passed); `not_confirmed`: a "
                  "sign-up still on the waitlist; `already_returned`: a kit loan "
                  "already back",
             s422="`invalid_input`: a kit coming back damaged or incomplete needs a `note`")
@bp.doc(operationId="createCheckin",
        summary="Check in a booking or an event sign-up by its scanned code, or hand over "
                "or take back a kit on loan (staff: librarians at their branches, admins "
                "anywhere)")
def create_checkin(body: dict):  # type: ignore[no-untyped-def]
    return check_in(body["code"], by=require_staff(api_user()), return_loans=True,
                    condition=body["condition"], note=body["note"]).as_dict()


def _qr_doc(media: str, what: str) -> dict[str, Any]:
    return {"responses": {"200": {"description": f"The check-in QR code of the {what}; it "
                                                 "encodes `<BASE_URL>/C/<TOKEN>`",
                                  "content": {media: {"schema": {"type": "string",
                                                                 "format": "binary"}}}}}}


PNG, SVG = "image/png", "image/svg+xml"


@bp.route("/bookings/<id:booking_id>/qr.png", methods=["GET"])
@bp.secured
@bp.problems(404)
@bp.doc(operationId="getBookingQrPng", summary="A booking's QR code (its owner or staff)",
        **_qr_doc(PNG, "booking"))
def booking_qr_png(booking_id: int):  # type: ignore[no-untyped-def]
    return qr_image(booking_visible_to(booking_id, api_user()).checkin_token, "png")


@bp.route("/bookings/<id:booking_id>/qr.svg", methods=["GET"])
@bp.secured
@bp.problems(404)
@bp.doc(operationId="getBookingQrSvg", summary="A booking's QR code (its owner or staff)",
        **_qr_doc(SVG, "booking"))
def booking_qr_svg(booking_id: int):  # type: ignore[no-untyped-def]
    return qr_image(booking_visible_to(booking_id, api_user()).checkin_token, "svg")


@bp.route("/signups/<id:signup_id>/qr.png", methods=["GET"])
@bp.secured
@bp.problems(404)
@bp.doc(operationId="getSignUpQrPng", summary="A sign-up's QR code (its owner or staff)",
        **_qr_doc(PNG, "sign-up"))
def signup_qr_png(signup_id: int):  # type: ignore[no-untyped-def]
    return qr_image(signup_visible_to(signup_id, api_user()).checkin_token, "png")


@bp.route("/signups/<id:signup_id>/qr.svg", methods=["GET"])
@bp.secured
@bp.problems(404)
@bp.doc(operationId="getSignUpQrSvg", summary="A sign-up's QR code (its owner or staff)",
        **_qr_doc(SVG, "sign-up"))
def signup_qr_svg(signup_id: int):  # type: ignore[no-untyped-def]
    return qr_image(signup_visible_to(signup_id, api_user()).checkin_token, "svg")
