"""Every API answer in the suite is checked against the OpenAPI document the app serves: its
status must be documented for the operation, its content type too, and a JSON body must match
the schema (output schemas forbid additional properties)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from flask.testing import FlaskClient

from makerspace.api.registry import openapi_document
from makerspace.api.rest import PREFIX

_PATTERNS: dict[int, list[tuple[re.Pattern[str], dict]]] = {}


def _operations(document: dict) -> list[tuple[re.Pattern[str], dict]]:
    if id(document) not in _PATTERNS:
        _PATTERNS[id(document)] = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), item)
            for path, item in document["paths"].items()]
    return _PATTERNS[id(document)]


def check_api_response(document: dict, method: str, path: str, response: Any) -> None:
    relative = path.split("?", 1)[0].removeprefix(PREFIX)
    matching = [item for pattern, item in _operations(document) if pattern.match(relative)]
    operation = next((item[method.lower()] for item in matching if method.lower() in item),
                     None)
    if operation is None:
        if response.status_code in (404, 405):
            return  # an address or method the API does not have: no operation to check
        raise AssertionError(f"{method} {path}: not in the OpenAPI document")
    responses = operation["responses"]
    spec = responses.get(str(response.status_code)) or responses.get("default")
    assert spec is not None, (f"{method} {path}: status {response.status_code} is not "
                              f"documented ({sorted(responses)})")
    content = spec.get("content") or {}
    if not content:
        return
    mimetype = response.mimetype
    assert mimetype in content, f"{method} {path}: {mimetype} not documented ({list(content)})"
    if not mimetype.endswith("json"):
        return
    schema = {**content[mimetype]["schema"], "components": document["components"]}
    jsonschema.validate(response.get_json(force=True), schema,
                        cls=jsonschema.Draft202012Validator)


class ApiCheckingClient(FlaskClient):
    """A test client that checks every /api/v1 answer against the served document."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        response = super().open(*args, **kwargs)
        request = response.request
        if request.path.startswith(PREFIX + "/") and request.path != PREFIX + "/openapi.json":
            document = self.application.extensions.get("checked_document")
            if document is None:
                with self.application.app_context():
                    document = openapi_document(self.application)
                self.application.extensions["checked_document"] = document
            check_api_response(document, request.method, request.path, response)
        return response
