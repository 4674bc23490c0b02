"""The statistics page and its CSV downloads (admins: all branches; librarians: theirs)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("stats", __name__, url_prefix="/staff/statistics")
