"""`flask backup PATH`: a consistent copy of the database while the app runs.

SQLite: the online backup API copies the file page by page under a read lock, so bookings
made meanwhile are either in the copy or not, never half. The copy is written next to PATH
and renamed into place. PostgreSQL: `pg_dump --format=custom` (restore with `pg_restore`, see
docs/deploy.md); without pg_dump on PATH the command says how to install it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy.engine import make_url

from makerspace.extensions import db


class BackupError(RuntimeError):
    """The backup could not be made; the message says why, for the operator."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    kind: str  # "sqlite" or "pg_dump"


def make_backup(target: Path, *, url: str, overwrite: bool = False) -> Backup:
    if target.exists() and not overwrite:
        raise BackupError(_("%(path)s exists already. Give another path, or add "
                            "--overwrite.", path=target))
    if not target.parent.is_dir():
        raise BackupError(_("The folder %(folder)s does not exist.", folder=target.parent))
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_backup(target)
        return Backup(target, target.stat().st_size, "sqlite")
    _pg_dump(target, parsed.set(drivername="postgresql").render_as_string(hide_password=False))
    return Backup(target, target.stat().st_size, "pg_dump")


def _sqlite_backup(target: Path) -> None:
    partial = target.with_name(f".{target.name}.partial")
    raw = db.engine.raw_connection()
    try:
        copy = sqlite3.connect(partial)
        try:
            raw.driver_connection.backup(copy)  # type: ignore[union-attr]
        finally:
            copy.close()
    finally:
        raw.close()
    os.replace(partial, target)


def _pg_dump(target: Path, conninfo: str) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError(_(
            "pg_dump is not installed. On Debian, run: apt install postgresql-client (the "
            "same major version as the server, or newer). Then run flask backup again "
            "(docs/deploy.md)."))
    partial = target.with_name(f".{target.name}.partial")
    done = subprocess.run([program, "--format=custom", "--no-owner", "--file", str(partial),  # noqa: S603  (our arguments, no shell)
                           "--dbname", conninfo], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(_("pg_dump failed: %(detail)s", detail=detail))
    os.replace(partial, target)
