"""API shapes of a machine's connection. The API key is write-only: it goes in, and only
`has_api_key` comes out."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from makerspace.api.fields import Flag, Input, Output, Stamp, Text
from makerspace.machines import services
from makerspace.machines.models import (
    ConnectionKind,
    JobState,
    MachineConnection,
    MachineJob,
    MachineStatus,
)

KINDS = [kind.value for kind in ConnectionKind]


class JobSchema(Output):
    """The job the machine runs or ran last."""

    state = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in JobState]))
    started = Stamp(required=True)
    ended = Stamp(required=True, allow_none=True)
    progress = ma.fields.Float(required=True, allow_none=True,
                               metadata={"description": "Percent, 0–100"})
    estimated_end = Stamp(required=True, allow_none=True)
    booking_id = ma.fields.Integer(required=True, allow_none=True, metadata={
        "description": "None: the machine runs without a booking"})
    filament_grams = ma.fields.Float(required=True, allow_none=True)


class ConnectionSchema(Output):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    url = ma.fields.String(required=True)
    has_api_key = ma.fields.Boolean(required=True, metadata={
        "description": "The key itself is never returned"})
    check_in_on_start = ma.fields.Boolean(required=True)
    finish_on_end = ma.fields.Boolean(required=True)
    status = ma.fields.String(required=True,
                              validate=ma.validate.OneOf([s.value for s in MachineStatus]))
    printer_state = ma.fields.String(required=True)
    last_seen_at = Stamp(required=True, allow_none=True)
    error = ma.fields.String(required=True, allow_none=True)
    job = ma.fields.Nested(JobSchema, required=True, allow_none=True)


class NewConnectionSchema(Input):
    kind = ma.fields.String(required=True, metadata={"enum": KINDS})
    url = Text(required=True, min_length=1, max_length=500, metadata={
        "description": "The machine software's base address, e.g. http://10.0.0.12"})
    api_key = Text(max_length=500, allow_none=True, load_only=True, metadata={
        "description": "Write-only, stored encrypted. Left out or null: keep the saved key; "
                       "\"\": remove it. PrusaLink also takes \"user:password\" (digest)"})
    check_in_on_start = Flag(load_default=True, metadata={
        "description": "A job starting in the check-in window checks the booking in"})
    finish_on_end = Flag(load_default=True, metadata={
        "description": "A job ending marks the outcome and frees the rest of the slot"})


def job_out(job: MachineJob | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {"state": job.state.value, "started": job.started_at, "ended": job.ended_at,
            "progress": job.progress, "estimated_end": job.estimated_end_at,
            "booking_id": job.booking_id, "filament_grams": job.filament_grams}


def connection_out(connection: MachineConnection) -> dict[str, Any]:
    return {"kind": connection.kind.value, "url": connection.url,
            "has_api_key": services.has_key(connection),
            "check_in_on_start": connection.check_in_on_start,
            "finish_on_end": connection.finish_on_end, "status": connection.status.value,
            "printer_state": connection.printer_state, "last_seen_at": connection.last_seen_at,
            "error": connection.last_error or None,
            "job": job_out(services.latest_job(connection.equipment_id))}
