"""A page of a list in the API: the body stays a JSON array; RFC 8288 Link headers name the
next and previous pages."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from makerspace.core.pagination import Page

LINK_HEADER = {"Link": {"description": "RFC 8288 links to the `next` and `prev` pages",
                        "schema": {"type": "string"}}}


def link_header(page: Page[Any]) -> dict[str, str]:
    """{'Link': '<…?page=3>; rel="next", …'} for a page that has neighbours, else {}."""
    links = []
    for rel, number, wanted in (("prev", page.number - 1, page.has_previous),
                                ("next", page.number + 1, page.has_next)):
        if wanted:
            args = {**request.args.to_dict(), "page": number, "per_page": page.per_page}
            target = url_for(request.endpoint or "", **(request.view_args or {}), **args)
            links.append(f'<{target}>; rel="{rel}"')
    return {"Link": ", ".join(links)} if links else {}
