"""The desk's page for kit loans: to pick up today, due back today, overdue."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template

from makerspace.auth import managed_branch_or_404, staff_required
from makerspace.loans import services

bp = Blueprint("loans_staff", __name__)


@bp.get("/staff/<slug>/loans")
@staff_required
def desk(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    response = make_response(render_template("loans/desk.html", branch=branch,
                                             lists=services.desk_lists(branch)))
    response.headers["Cache-Control"] = "private, no-store"
    return response
