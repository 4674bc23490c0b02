"""QR codes for check-in: pure functions, data in and bytes out (no queries, no app state).

The code encodes a URL, `<base>/C/<TOKEN>`. Scheme and host are case-insensitive, so they are
upper-cased too: then the whole URL (for a base without a path) fits QR alphanumeric mode
(0–9, A–Z, space, `$%*+-./:`), which needs about 5.5 bits a character instead of 8, and the
code stays at version 3 (29 × 29 modules) for a typical base URL, easy to scan off a phone
screen at arm's length. A path in the base URL keeps its case (paths are case-sensitive);
`qrcode` then encodes that part in byte mode and the rest alphanumerically.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

BORDER = 4  # the quiet zone the QR specification asks for, in modules
PNG_BOX_SIZE = 8  # pixels per module: 37 × 8 = 296 px for a version-3 code
SVG_BOX_SIZE = 10  # tenths of a millimetre per module: a version-3 code prints 37 mm wide


def checkin_url(base_url: str, token: str) -> str:
    """The link a person or a phone camera opens: `<base>/c/<token>`."""
    return f"{base_url.rstrip('/')}/c/{token}"


def qr_payload(base_url: str, token: str) -> str:
    """What the QR code holds: the check-in URL with scheme and host upper-cased."""
    parts = urlsplit(base_url.rstrip("/"))
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"BASE_URL must be an absolute URL, not {base_url!r}")
    return f"{parts.scheme.upper()}://{parts.netloc.upper()}{parts.path}/C/{token.upper()}"


def _code(data: str, box_size: int) -> Any:
    # qrcode and the Pillow it loads (3 MB) come when a code is first drawn
    import qrcode
    import qrcode.constants

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER,
                         box_size=box_size)
    code.add_data(data)  # optimised: alphanumeric where it can, bytes for the rest
    code.make(fit=True)
    return code


def qr_png(data: str, box_size: int = PNG_BOX_SIZE) -> bytes:
    """A black-on-white PNG of the QR code for `data`."""
    from qrcode.image.pil import PilImage

    code = _code(data, box_size)
    buffer = io.BytesIO()
    code.make_image(image_factory=PilImage).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def qr_svg(data: str) -> bytes:
    """An SVG of the QR code for `data` (one path; scales to any print size)."""
    from qrcode.image.svg import SvgPathImage

    buffer = io.BytesIO()
    _code(data, SVG_BOX_SIZE).make_image(image_factory=SvgPathImage).save(buffer)
    return buffer.getvalue()
