"""Whether this process can serve: the database answers, at the schema this code expects.

Asked by /readyz (a load balancer's health check) and `flask` commands; one connection from
the pool, no ORM session, two small queries.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from functools import cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from makerspace.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


@cache
def code_revision() -> str:
    """The newest migration this code has (read once): the revision no other migration
    revises. Read from the files' `revision`/`down_revision` lines, without Alembic (and
    Mako), which a web worker would otherwise load for this alone."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            revised.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    heads = sorted(revisions - revised)
    return heads[0] if len(heads) == 1 else ""


def database_revision() -> str | None:
    """The migration the database is at; None when it has none."""
    bind = db.engine
    # (the test suite runs the app on one open connection instead of the engine)
    with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as connection:
        tables = db.inspect(connection).get_table_names()
        if "alembic_version" not in tables:
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def readiness_problem() -> str | None:
    """What keeps the app from serving, in a few words for an operator; None when ready."""
    try:
        revision = database_revision()
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        return f"database unreachable: {type(cause).__name__}"
    if revision is None:
        return "database has no schema: run `flask db upgrade`"
    if revision != code_revision():
        return (f"database schema is at {revision}, the code needs {code_revision()}: "
                "run `flask db upgrade`")
    return None
