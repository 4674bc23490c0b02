"""The QR code of a check-in token as an HTTP answer (PNG or SVG), for pages and the API."""

from __future__ import annotations

from flask import Response

from makerspace.checkin.qr import qr_png, qr_svg
from makerspace.checkin.services import qr_data

QR_MAX_AGE = 3600  # the token never changes; the image may be kept a while, privately


def qr_image(token: str, kind: str) -> Response:
    """The QR code of a check-in token as PNG or SVG."""
    data = qr_data(token)
    response = (Response(qr_png(data), mimetype="image/png") if kind == "png"
                else Response(qr_svg(data), mimetype="image/svg+xml"))
    response.headers["Cache-Control"] = f"private, max-age={QR_MAX_AGE}"
    return response
