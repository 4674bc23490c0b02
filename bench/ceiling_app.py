"""The ceiling for bench/throughput.py: a bare Flask + SQLAlchemy + Jinja app.

`GET /items/<id>` reads one row by primary key through an ORM session and renders a template;
`GET /hello` returns a short string; `GET /healthz` says it runs. No sessions, no logging,
no extensions: what any Flask app on this machine, database and gunicorn can do at best.

The database is CEILING_DATABASE_URL (SQLite or PostgreSQL, the kind the measured row uses);
the app makes its one table itself when a worker starts (safe with several workers at once).

    CEILING_DATABASE_URL=sqlite:////tmp/ceiling.sqlite3 \\
        .venv/bin/gunicorn --workers 2 --chdir bench ceiling_app:app
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from flask import Flask, abort, render_template
from jinja2 import DictLoader
from sqlalchemy import Integer, String, Text, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ROWS = 100
PAGE = """<!doctype html>
<html lang="nb">
<head><meta charset="utf-8"><title>{{ item.name }}</title></head>
<body>
<main>
  <h1>{{ item.name }}</h1>
  <p>{{ item.description }}</p>
  <ul>{% for word in item.description.split()[:12] %}<li>{{ word | upper }}</li>{% endfor %}</ul>
</main>
</body>
</html>
"""


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "ceiling_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)


def _wal(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):  # as the project runs SQLite
        dbapi_connection.execute("PRAGMA journal_mode = WAL")
        dbapi_connection.execute("PRAGMA synchronous = NORMAL")


def make_schema(engine: Any) -> None:
    """The table and its rows, whichever worker gets here first (IF NOT EXISTS, ON CONFLICT)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # two workers at once: IF NOT EXISTS races
            connection.execute(text("SELECT pg_advisory_xact_lock(20251201)"))
        connection.execute(text(
            "CREATE TABLE IF NOT EXISTS ceiling_items (id INTEGER PRIMARY KEY, "
            "name VARCHAR(200) NOT NULL, description TEXT NOT NULL)"))
        connection.execute(text(
            "INSERT INTO ceiling_items (id, name, description) VALUES (:id, :name, :description) "
            "ON CONFLICT (id) DO NOTHING"),
            [{"id": n, "name": f"Prusa MK4 #{n}",
              "description": "En 3D-skriver for PLA og PETG, opptil 25 × 21 × 22 cm. " * 3}
             for n in range(1, ROWS + 1)])


def create_app(url: str) -> Flask:
    engine = create_engine(url)
    event.listen(engine, "connect", _wal)
    make_schema(engine)
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"item.html": PAGE})

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.get("/hello")
    def hello() -> str:
        return "Hello, world!"

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> str:
        with Session(engine) as session:
            found = session.get(Item, item_id)
            if found is None:
                abort(404)
            return render_template("item.html", item=found)

    return app


if not os.environ.get("CEILING_DATABASE_URL"):
    raise SystemExit("Set CEILING_DATABASE_URL (sqlite:///… or postgresql+psycopg://…)")
app = create_app(os.environ["CEILING_DATABASE_URL"])
