"""Small helpers shared by test modules."""

from __future__ import annotations

import re

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def html_lang(body: bytes) -> str | None:
    match = re.search(rb'<html lang="([^"]+)"', body)
    return match.group(1).decode() if match else None
