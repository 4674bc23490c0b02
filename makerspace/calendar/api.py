"""API routes of the calendar area, nested under /api/v1 (blueprint `api.calendar_api`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calendar_api", __name__)
