"""A web worker loads only what serving needs: no Alembic, Mako or Pygments (11 MB), which
only the `flask db` commands use (/readyz finds the head revision without them), and none of
what only some requests or other processes need: Authlib and its JOSE library (an OpenID
log-in), requests (the machine poller), cryptography (a machine's key), qrcode and Pillow
(a QR code drawn), and on SQLite psycopg (the mail worker's PostgreSQL listener): 36 MB
in all (docs/performance.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from makerspace.core.health import MIGRATIONS, code_revision

REPO = Path(__file__).resolve().parent.parent


def test_the_head_revision_is_alembics_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert code_revision() == ScriptDirectory.from_config(config).get_current_head()


def _fresh_process(tmp_path: Path, *command: str) -> str:
    """What a new process prints, run as a worker would be (its own database file)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "SECRET_KEY": "k" * 64, "ENVIRONMENT": "development"}
    return subprocess.run(list(command), cwd=REPO, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=True).stdout


def _last_line(tmp_path: Path, script: str) -> str:
    return _fresh_process(tmp_path, sys.executable, "-c", script).strip().splitlines()[-1]


def test_a_web_worker_does_not_load_alembic(tmp_path: Path):
    assert _last_line(tmp_path, (
        "import sys, wsgi; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'alembic', 'mako', 'pygments', 'flask_migrate', 'authlib', 'joserfc', "
        "'requests', 'urllib3', 'cryptography', 'qrcode', 'PIL', 'psycopg'}))")) == "[]"


def test_norways_holidays_leave_the_other_countries_unloaded(tmp_path: Path):
    assert _last_line(tmp_path, (
        "import sys, datetime, wsgi; "
        "from makerspace.branches.hours import public_holiday; "
        "print(public_holiday(datetime.date(2026, 12, 25)), "
        "sum(m.startswith('holidays.countries') for m in sys.modules))")) == "Første juledag 0"


def test_the_flask_command_still_has_its_db_commands(tmp_path: Path):
    flask = Path(sys.executable).with_name("flask")
    printed = _fresh_process(tmp_path, str(flask), "--app", "makerspace", "db", "heads")
    assert code_revision() in printed


def test_the_api_document_shares_its_schemas_instead_of_copying_them(tmp_path: Path):
    """flask-smorest deep-copies each endpoint's doc at every decorator: with schemas copied
    too, a worker held 1,316 schema instances (1,089 of them the problem schema), 10 MB."""
    script = ("import gc, wsgi, marshmallow as ma; gc.collect(); "
              "from makerspace.api.problems import ProblemSchema; "
              "alive = [o for o in gc.get_objects() if isinstance(o, ma.Schema)]; "
              "print(sum(isinstance(o, ProblemSchema) for o in alive), "
              "len(alive), len({type(o) for o in alive}))")
    printed = _fresh_process(tmp_path, sys.executable, "-c", script)
    problems, alive, kinds = map(int, printed.split()[-3:])
    assert problems == 1
    assert alive < 3 * kinds  # 58 of 32 kinds: a schema named with other options is another


def test_large_blocks_are_given_back_where_the_c_library_is_glibc():
    import platform

    from makerspace.core.memory import give_large_blocks_back

    assert give_large_blocks_back() is (platform.libc_ver()[0] == "glibc")
