"""Citizen pages for machines and bookings."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("booking", __name__)


@bp.get("/me/bookings")
@login_required
def my_bookings():  # type: ignore[no-untyped-def]
    return render_template("booking/my_bookings.html")
