"""Small guards shared by views."""

from __future__ import annotations


def safe_next_path(target: str | None, default: str = "/") -> str:
    """A local path to go back to, or `default`: never another site (no open redirects)."""
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return default
    if any(ch in target for ch in "\r\n\\") or any(ord(ch) < 32 for ch in target):
        return default
    return target
