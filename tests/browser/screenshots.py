"""Screenshots of the main pages for the README, made by the browser tests.

Written to docs/screenshots/<name>-desktop.png and <name>-phone.png, from the SQLite run only
(each test runs on both databases; the pictures would be the same). Commit them when they
change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


class Screenshots:
    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled

    def take(self, page: Any, name: str, size: str, *, top: str | None = None) -> None:
        """The visible part of the page; with `top`, scrolled so that element is at the top."""
        if not self.enabled:
            return
        if top:
            page.locator(top).first.evaluate(
                "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 12)")
        else:
            page.evaluate("window.scrollTo(0, 0)")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), animations="disabled",
                        caret="hide")
        page.evaluate("window.scrollTo(0, 0)")
