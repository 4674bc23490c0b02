"""Public pages about branches."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from makerspace.branches.models import Branch
from makerspace.branches.services import branch_by_slug
from makerspace.extensions import db

bp = Blueprint("branches", __name__, url_prefix="/branches")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    branches = db.session.scalars(select(Branch).order_by(Branch.name)).all()
    return render_template("branches/index.html", branches=branches)


@bp.get("/<slug>")
def show(slug: str):  # type: ignore[no-untyped-def]
    return render_template("branches/show.html", branch=branch_by_slug(slug))
