"""A machine's connection in the API (the branch's staff and admins; others get 404)."""

from __future__ import annotations

from makerspace import clock
from makerspace.api.auth import api_user
from makerspace.api.rest import ApiBlueprint
from makerspace.auth import manages_branch
from makerspace.booking.errors import EquipmentNotFound
from makerspace.booking.models import Equipment
from makerspace.booking.services import equipment_by_id
from makerspace.machines import services
from makerspace.machines.schemas import ConnectionSchema, NewConnectionSchema, connection_out

bp = ApiBlueprint("machines_api", __name__, "Machines that report their jobs")


def _managed(equipment_id: int) -> Equipment:
    equipment = equipment_by_id(equipment_id)
    if not manages_branch(api_user(), equipment.branch):
        raise EquipmentNotFound()  # the address and state are for the branch's staff
    return equipment


@bp.route("/equipment/<id:equipment_id>/connection", methods=["GET"])
@bp.secured
@bp.response(200, ConnectionSchema)
@bp.problems(404, s404="`not_found`: no such machine, not staff of its branch, or no "
                       "connection")
@bp.doc(operationId="getConnection",
        summary="A machine's connection and what the poller last saw (the branch's staff)")
def get_connection(equipment_id: int):  # type: ignore[no-untyped-def]
    connection = services.connection_of(_managed(equipment_id))
    if connection is None:
        raise services.ConnectionNotFound()
    return connection_out(connection)


@bp.route("/equipment/<id:equipment_id>/connection", methods=["PUT"])
@bp.secured
@bp.arguments(NewConnectionSchema)
@bp.response(200, ConnectionSchema)
@bp.problems(400, 404, 422, s422="`invalid_connection` (with `field`), `invalid_input`")
@bp.doc(operationId="setConnection",
        summary="Connect a machine to its OctoPrint, Moonraker or PrusaLink (the branch's "
                "staff); `api_key` is write-only")
def set_connection(body: dict, equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = _managed(equipment_id)
    return connection_out(services.set_connection(equipment, now=clock.now(), **body))


@bp.route("/equipment/<id:equipment_id>/connection", methods=["DELETE"])
@bp.secured
@bp.response(204)
@bp.problems(404)
@bp.doc(operationId="removeConnection", summary="Disconnect a machine (the branch's staff)")
def remove_connection(equipment_id: int):  # type: ignore[no-untyped-def]
    services.remove_connection(_managed(equipment_id))
    return "", 204
