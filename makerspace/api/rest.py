"""The API's frame: flask-smorest (marshmallow schemas declare each resource once; they check
the input, shape the output and make the OpenAPI document), with our errors and our auth.

Each area owns `api.py` (an ApiBlueprint) and `schemas.py`; this module and `makerspace.api`
keep only what is shared: bearer tokens, problem documents and the document itself.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

import flask_smorest
from apispec.utils import deepupdate
from flask_smorest.utils import prepare_response

from makerspace.api.auth import token_required
from makerspace.api.problems import PROBLEM_JSON, ProblemSchema

BEARER = [{"bearerAuth": []}]
PREFIX = "/api/v1"
# What each error status means everywhere; an endpoint adds its own codes to the description.
STATUS_MEANING = {
    400: "`invalid_json`: the body is not a JSON object",
    401: "No valid bearer token (`unauthorized`, `invalid_token`)",
    403: "The token's owner may not do this (`forbidden`)",
    404: "No such object, or not one the caller may see (`not_found`)",
    409: "It conflicts with what exists",
    413: "The body is larger than MAX_CONTENT_LENGTH (`too_large`)",
    422: "Invalid input (`invalid_input`, with `field` and `errors`)",
    503: "The database is not reachable (`unavailable`); try again after Retry-After",
}
# One instance for every error answer of every endpoint (a class would be made into a new
# instance, every field copied, at each of them).
PROBLEM = ProblemSchema()


class RestApi(flask_smorest.Api):
    """flask-smorest's Api with RFC 9457 problems as the error responses it documents, and
    no error handler of its own (makerspace.core.errors answers every error)."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        pass

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)


class ApiBlueprint(flask_smorest.Blueprint):
    """An area's part of /api/v1, with two helpers for what every endpoint declares."""

    def __init__(self, name: str, import_name: str, description: str) -> None:
        super().__init__(name, import_name, url_prefix=PREFIX, description=description)

    def problems(self, *statuses: int, **codes: str) -> Callable[[Any], Any]:
        """Document the error answers: `problems(404, 422, s422="`quota_exceeded`, …")`."""

        def decorate(view: Any) -> Any:
            for status in statuses:
                meaning = codes.get(f"s{status}") or STATUS_MEANING.get(status, "")
                view = self.alt_response(status, schema=PROBLEM, description=meaning,
                                         content_type=PROBLEM_JSON)(view)
            return view

        return decorate

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any
                  ) -> Callable[[Any], Any]:
        """flask-smorest's arguments; a JSON body also brings the answers about the body
        itself (400 `invalid_json`, 413 `too_large`). A schema class is made into its instance
        here, once: webargs would make a new one, every field copied, for each request."""
        if isinstance(schema, type):
            schema = schema()
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse
        return lambda view: self.problems(400, 413)(parse(view))

    def secured(self, view: Any) -> Any:
        """A bearer token is required (401 without one), and the document says so."""
        guarded = token_required(view)
        guarded = self.doc(security=BEARER)(guarded)
        return self.problems(401)(guarded)


def document(api: RestApi, info: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as /api/v1/openapi.json serves it: paths relative to the server
    `/api/v1`, as the document always had them."""
    spec = api.spec.to_dict()
    spec["paths"] = {path.removeprefix(PREFIX): item for path, item in spec["paths"].items()}
    spec["servers"] = [{"url": PREFIX}]
    deepupdate(spec, {"info": info})
    return spec
