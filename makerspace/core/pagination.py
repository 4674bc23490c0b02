"""Pages of a long list: one query fetches a page and tells whether another follows.

Lists that grow with time (a person's past bookings, the course list, the outbox) are read a
page at a time, never cut off silently at some number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import request, url_for
from sqlalchemy import Select

from makerspace.extensions import db

T = TypeVar("T")
PER_PAGE = 50
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def paginate(query: Select[Any], *, page: int = 1, per_page: int = PER_PAGE) -> Page[Any]:
    """The `page`-th page (from 1) of an ordered query: one extra row says if one follows."""
    page = min(max(page, 1), MAX_PAGE)
    rows = list(db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)))
    return Page(rows[:per_page], page, per_page, len(rows) > per_page)


def page_url(number: int, param: str = "page") -> str:
    """This page's address with another page number (the other query arguments kept)."""
    args = {**request.args.to_dict(), param: number}
    return url_for(request.endpoint or "core.index", **(request.view_args or {}), **args)


def requested_page(name: str = "page") -> int:
    """The page number asked for in the query string (1 when missing or nonsense)."""
    raw = request.args.get(name, "")
    return min(int(raw), MAX_PAGE) if raw.isdigit() and int(raw) > 0 else 1
