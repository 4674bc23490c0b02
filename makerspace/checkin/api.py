"""API routes of the checkin area, nested under /api/v1 (blueprint `api.checkin_api`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("checkin_api", __name__)
