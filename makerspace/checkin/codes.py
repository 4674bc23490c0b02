"""Check-in codes: opaque, unguessable, scanner-proof.

160 random bits in upper-case base32 (A–Z, 2–7): QR alphanumeric mode keeps the code small, and
no character a desk scanner could mangle through a foreign keyboard layout (`/ : - _`) is part
of the token itself. The token is found through a unique index and carries no personal data.
"""

from __future__ import annotations

import base64
import re
import secrets

TOKEN_LENGTH = 32  # 20 random bytes in base32, no padding
_TOKEN_IN_TEXT = re.compile(r"(?<![A-Z2-7])([A-Z2-7]{32})(?![A-Z2-7])")


def new_checkin_token() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def token_from_scan(scanned: str) -> str | None:
    """Pull the token out of whatever a scanner typed: the URL (even mangled by a keyboard
    layout), the bare token, with or without whitespace and in any case."""
    candidates = _TOKEN_IN_TEXT.findall(scanned.upper())
    return candidates[-1] if candidates else None
