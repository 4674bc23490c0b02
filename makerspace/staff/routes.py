"""Staff pages: librarians at their branches, admins everywhere."""

from __future__ import annotations

from flask import Blueprint, render_template

from makerspace.auth import staff_required

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@staff_required
def index():  # type: ignore[no-untyped-def]
    return render_template("staff/index.html")
