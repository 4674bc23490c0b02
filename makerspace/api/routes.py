"""The JSON API at /api/v1."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from makerspace.api.auth import api_user, load_api_user, token_required
from makerspace.api.openapi import openapi_document
from makerspace.api.serializers import branch_json, me_json
from makerspace.branches.models import Branch
from makerspace.branches.services import branch_by_slug
from makerspace.extensions import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(load_api_user)


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())


@bp.get("/branches")
def list_branches():  # type: ignore[no-untyped-def]
    branches = db.session.scalars(select(Branch).order_by(Branch.name)).all()
    return jsonify([branch_json(branch) for branch in branches])


@bp.get("/branches/<slug>")
def get_branch(slug: str):  # type: ignore[no-untyped-def]
    return jsonify(branch_json(branch_by_slug(slug)))


@bp.get("/me")
@token_required
def me():  # type: ignore[no-untyped-def]
    return jsonify(me_json(api_user()))
