"""Entry point for gunicorn (`gunicorn wsgi:app`) and for `flask` run from the repo root."""

from makerspace import create_app

app = create_app()
