"""Check-in codes: opaque, unguessable, scanner-proof.

160 random bits in upper-case base32 (A–Z, 2–7): QR alphanumeric mode keeps the code small, and
no character a desk scanner could mangle through a foreign keyboard layout (`/ : - _`) is part
of the token itself. The token is found through a unique index and carries no personal data.

Where a QR code is shown, the same token is shown to be typed by hand, in groups of four
(`typed_code`: "ABCD EFGH … 4567"). The scan station takes it back with or without the spaces
(or hyphens), in either case, and with the digits people type for look-alike letters (0 for O,
1 for I, 8 for B): base32 has no 0, 1, 8 or 9, so those can only be mistyped letters.
"""

from __future__ import annotations

import base64
import re
import secrets

TOKEN_LENGTH = 32  # 20 random bytes in base32, no padding
GROUP = 4  # characters per group when the code is shown to be typed
_TOKEN_IN_TEXT = re.compile(r"(?<![A-Z2-7])([A-Z2-7]{32})(?![A-Z2-7])")
_TYPING_GAPS = re.compile(r"[\s\-\u00a0\u2009\u202f]+")
_LOOK_ALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})


def new_checkin_token() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def typed_code(token: str) -> str:
    """The token as a person reads it aloud or types it: groups of four, "ABCD EFGH …"."""
    return " ".join(token[i:i + GROUP] for i in range(0, len(token), GROUP))


def token_from_scan(scanned: str) -> str | None:
    """Pull the token out of whatever a scanner or a person typed: the URL (even mangled by a
    keyboard layout), the bare token, or the grouped code, with or without the spaces, in any
    case."""
    text = scanned.upper()
    candidates = _TOKEN_IN_TEXT.findall(text)
    if not candidates:  # typed by hand: "abcd efgh-ijkl …", perhaps a 0 for an O
        candidates = _TOKEN_IN_TEXT.findall(_TYPING_GAPS.sub("", text).translate(_LOOK_ALIKES))
    return candidates[-1] if candidates else None
