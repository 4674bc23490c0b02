"""Pages of the calendar area."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("calendar", __name__)
