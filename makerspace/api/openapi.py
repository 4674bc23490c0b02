"""The OpenAPI 3.1 description of /api/v1. A test keeps it in step with the routes."""

from __future__ import annotations

import copy
from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


BEARER = [{"bearerAuth": []}]
UNAUTHORIZED = _problem("No valid bearer token (codes `unauthorized`, `invalid_token`).")
NOT_FOUND = _problem("No such object, or not one the caller may see (code `not_found`).")

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details with a machine-readable `code`.",
        "required": ["type", "status", "title", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "integer"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
        },
    },
    "Branch": {
        "type": "object",
        "required": ["slug", "name", "municipality", "timezone"],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string", "examples": ["steinkjer"]},
            "name": {"type": "string"},
            "municipality": {"type": "string"},
            "timezone": {"type": "string", "examples": ["Europe/Oslo"]},
        },
    },
    "Me": {
        "type": "object",
        "required": ["email", "name", "role", "branches"],
        "properties": {
            "email": {"type": "string", "format": "email"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["citizen", "librarian", "admin"]},
            "branches": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Slugs of the branches a librarian works at.",
            },
        },
    },
}

PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "operationId": "getOpenApi",
            "responses": {"200": {"description": "The OpenAPI document"}},
        }
    },
    "/branches": {
        "get": {
            "summary": "All branches",
            "operationId": "listBranches",
            "responses": {"200": _json({"type": "array", "items": _ref("Branch")}, "Branches")},
        }
    },
    "/branches/{slug}": {
        "parameters": [{"name": "slug", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "get": {
            "summary": "One branch",
            "operationId": "getBranch",
            "responses": {"200": _json(_ref("Branch"), "The branch"), "404": NOT_FOUND},
        },
    },
    "/me": {
        "get": {
            "summary": "The token's owner",
            "operationId": "getMe",
            "security": BEARER,
            "responses": {"200": _json(_ref("Me"), "The caller"), "401": UNAUTHORIZED},
        }
    },
}


def openapi_document() -> dict[str, Any]:
    """The whole document, built fresh (callers may not mutate the shared parts)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Folkeverksted API",
            "version": "1.0.0",
            "description": (
                "Booking of makerspace equipment and sessions in Trøndelag's libraries. "
                "Public data needs no token; personal and staff data need "
                "`Authorization: Bearer <token>` (create one on your profile page or with "
                "`flask create-token`). Errors are RFC 9457 problem documents with a `code`."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": copy.deepcopy(PATHS),
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
