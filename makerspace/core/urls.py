"""Absolute links for things that leave the site: feeds, QR codes, e-mail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    """`BASE_URL` + the endpoint's path: the public address, whatever host the request used."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


# The largest id there is: a real row with it gets the same address either way.
_STAND_IN_ID = 2_147_483_647


def absolute_url_for_ids(endpoint: str, argument: str) -> Callable[[int], str]:
    """`absolute_url(endpoint, **{argument: id})` for many ids at the price of one: a feed
    links thousands of items to their pages."""
    head, _, tail = absolute_url(endpoint, **{argument: _STAND_IN_ID}).rpartition(
        str(_STAND_IN_ID))
    return lambda item_id: f"{head}{item_id}{tail}"
