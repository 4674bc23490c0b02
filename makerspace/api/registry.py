"""/api/v1: every area's ApiBlueprint on one flask-smorest Api, bearer tokens read before any
of them, and the OpenAPI document they make together at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, request

from makerspace.accounts.api import bp as accounts_api
from makerspace.api.auth import load_api_user
from makerspace.api.fields import IdConverter, id_converter_schema
from makerspace.api.rest import ApiBlueprint, RestApi, document
from makerspace.booking.api import bp as booking_api
from makerspace.branches.api import bp as branches_api
from makerspace.calendar.api import bp as calendar_api
from makerspace.certifications.api import bp as certifications_api
from makerspace.checkin.api import bp as checkin_api
from makerspace.events.api import bp as events_api
from makerspace.extensions import csrf
from makerspace.identity.api import bp as identity_api
from makerspace.loans.api import bp as loans_api
from makerspace.machines.api import bp as machines_api
from makerspace.staff.api import bp as staff_api
from makerspace.stats.api import bp as stats_api
from makerspace.waits.api import bp as waits_api

bp = ApiBlueprint("api", __name__, "This document")

INFO: dict[str, Any] = {
    "title": "Folkeverksted API",
    "version": "1.0.0",
    "description": (
        "Booking of makerspace equipment and sessions in Trøndelag's libraries. Public data "
        "needs no token; personal and staff data need `Authorization: Bearer <token>` (create "
        "one on your profile page or with `flask create-token`). Errors are RFC 9457 problem "
        "documents with a machine-readable `code`. Lists that grow come in pages "
        "(`?page=N&per_page=M`, `Link` header)."),
}
AREAS = (branches_api, booking_api, certifications_api, events_api, checkin_api, calendar_api,
         accounts_api, identity_api, loans_api, machines_api, staff_api, stats_api,
         waits_api, bp)
API_NAMES = frozenset(area.name for area in AREAS)


@bp.route("/openapi.json", methods=["GET"])
@bp.doc(operationId="getOpenApi", summary="This document", responses={"200": {
    "description": "The OpenAPI 3.1 document",
    "content": {"application/json": {"schema": {"type": "object"}}}}})
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(document(current_app.extensions["rest_api"], INFO))


def openapi_document(app: Flask) -> dict[str, Any]:
    """The document as served (for tests and tools)."""
    return document(app.extensions["rest_api"], INFO)


def read_api_token() -> None:
    """Before every API view (registered by the app after the transaction's mode is set)."""
    if request.blueprint in API_NAMES:
        load_api_user()


def cors_origins(setting: str) -> frozenset[str]:
    """CORS_ORIGINS as a set of origins ("*": any)."""
    return frozenset(o.rstrip("/") for o in setting.replace(",", " ").split())


def _cors(response: Response) -> Response:
    """Let the allowed sites' scripts read the API's GET answers (the public read API): no
    credentials, and no preflight is answered, so a bearer token never travels this way."""
    if request.blueprint not in API_NAMES or request.method not in ("GET", "HEAD"):
        return response
    allowed = cors_origins(current_app.config["CORS_ORIGINS"])
    origin = request.headers.get("Origin", "")
    if "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.vary.add("Origin")
    else:
        return response
    response.headers["Access-Control-Expose-Headers"] = "ETag, Link"
    return response


def install_api(app: Flask) -> RestApi:
    """Put /api/v1 on the app (after the `id` converter is known to the URL map)."""
    app.config.setdefault("API_TITLE", INFO["title"])
    app.config.setdefault("API_VERSION", INFO["version"])
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    rest = RestApi(spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}}})
    rest.init_app(app)
    rest.register_converter(IdConverter, id_converter_schema)
    for area in AREAS:
        rest.register_blueprint(area)
        csrf.exempt(area)  # bearer tokens, never cookies: no CSRF
    app.after_request(_cors)
    app.extensions["rest_api"] = rest
    return rest
