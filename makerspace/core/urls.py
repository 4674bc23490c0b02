"""Absolute links for things that leave the site: feeds, QR codes, e-mail."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    """`BASE_URL` + the endpoint's path: the public address, whatever host the request used."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)
