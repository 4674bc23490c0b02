"""OpenAPI paths served by the calendar area (merged into /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

PATHS: dict[str, Any] = {}
