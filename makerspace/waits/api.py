"""Waiting for a taken slot in the API: wait, list, stop waiting, take a hold."""

from __future__ import annotations

from typing import Any

from makerspace import clock
from makerspace.api.auth import api_user
from makerspace.api.fields import Moment
from makerspace.api.rest import ApiBlueprint
from makerspace.booking.answers import booking_out
from makerspace.booking.schemas import BookingSchema
from makerspace.booking.services import equipment_by_id
from makerspace.waits import services
from makerspace.waits.models import SlotWait
from makerspace.waits.schemas import NewSlotWaitSchema, SlotWaitSchema

bp = ApiBlueprint("waits_api", __name__, "Waiting for a taken slot, and holds")

WAIT_REFUSALS_422 = ("The time could not be booked at all: `outside_opening_hours`, "
                     "`off_grid`, `too_short`, `too_long`, `in_past`, `too_far_ahead`, "
                     "`out_of_service`; `invalid_input`")
WAIT_REFUSALS_409 = ("`slot_free`: nothing keeps the time, book it; `already_waiting`; "
                     "`too_many_waits` (MAX_SLOT_WAITS open waits already)")


def wait_out(wait: SlotWait) -> dict[str, Any]:
    held = wait.is_held and wait.hold_expires_at is not None
    return {"id": wait.id, "equipment_id": wait.equipment_id,
            "branch": wait.equipment.branch.slug, "start": wait.start_at, "end": wait.end_at,
            "created_at": wait.created_at, "status": "held" if held else "waiting",
            "position": services.position_of(wait),
            "hold_expires_at": wait.hold_expires_at if held else None}


@bp.route("/slot-waits", methods=["POST"])
@bp.secured
@bp.arguments(NewSlotWaitSchema)
@bp.response(201, SlotWaitSchema)
@bp.problems(400, 403, 404, 409, 422,
             s403="`not_certified`, `too_young`, `blocked`, `card_blocked`, "
                  "`email_not_verified`",
             s409=WAIT_REFUSALS_409, s422=WAIT_REFUSALS_422)
@bp.doc(operationId="createSlotWait",
        summary="Wait for a taken slot of a machine: when it comes free, it is held for the "
                "first in line, who gets an e-mail with a link to take it")
def create_wait(body: dict):  # type: ignore[no-untyped-def]
    equipment = equipment_by_id(body["equipment_id"])
    zone = equipment.branch.timezone
    start, end = Moment.parse(body["start"], zone), Moment.parse(body["end"], zone)
    return wait_out(services.create_wait(user=api_user(), equipment=equipment, start=start,
                                         end=end)), 201


@bp.route("/slot-waits", methods=["GET"])
@bp.secured
@bp.response(200, SlotWaitSchema(many=True))
@bp.doc(operationId="listSlotWaits",
        summary="The caller's waits and holds whose slot is still ahead, soonest first")
def list_waits():  # type: ignore[no-untyped-def]
    return [wait_out(w) for w in services.waits_of(api_user(), clock.now())]


@bp.route("/slot-waits/<id:wait_id>", methods=["GET"])
@bp.secured
@bp.response(200, SlotWaitSchema)
@bp.problems(404)
@bp.doc(operationId="getSlotWait", summary="One of the caller's waits")
def get_wait(wait_id: int):  # type: ignore[no-untyped-def]
    return wait_out(services.wait_of(api_user(), wait_id))


@bp.route("/slot-waits/<id:wait_id>", methods=["DELETE"])
@bp.secured
@bp.response(204)
@bp.problems(404)
@bp.doc(operationId="deleteSlotWait",
        summary="Stop waiting; a hold the caller had goes to the next in line at once")
def delete_wait(wait_id: int):  # type: ignore[no-untyped-def]
    services.cancel_wait(services.wait_of(api_user(), wait_id))
    return "", 204


@bp.route("/slot-waits/<id:wait_id>/take", methods=["POST"])
@bp.secured
@bp.response(201, BookingSchema)
@bp.problems(403, 404, 409, 422,
             s403="`blocked`, `card_blocked`, … (the booking rules about the person)",
             s409="`not_held`: still waiting; `hold_expired`: the hold ran out and went to "
                  "the next in line",
             s422="`quota_exceeded`")
@bp.doc(operationId="takeSlotHold",
        summary="Take the slot held for the caller: it becomes their confirmed booking")
def take_hold(wait_id: int):  # type: ignore[no-untyped-def]
    wait = services.wait_of(api_user(), wait_id)
    return booking_out(services.take_hold_of_wait(wait, user=api_user())), 201
