"""Helpers for the browser tests: logging in through the form, axe-core, focus checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PASSWORD

AXE_JS = Path(__file__).resolve().parent.parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def submit(page: Any, action: Any) -> None:
    """Do what sends a form (a click, Enter) and wait for the next page to have loaded."""
    with page.expect_navigation():
        action()


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form, as a person would."""
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    submit(page, page.locator("main form button[type=submit]").click)
    assert "/login" not in page.url, f"login as {email} failed"


AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
# Start axe without waiting for it, so that several pages (each its own renderer process) are
# checked at once; then collect the violations, the parts worth printing only.
START_AXE = "options => { window.__axeResult = axe.run(document, options); }"
COLLECT_AXE = """() => window.__axeResult.then(result => result.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
  nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary})),
})))"""


def load_axe(context: Any) -> None:
    """Put axe-core into every page the context opens (an init script, which the site's
    Content Security Policy does not block, unlike a script tag)."""
    if not AXE_JS.exists():
        pytest.skip(f"axe-core is not installed ({AXE_JS}): run `npm ci` in tests/js "
                    "(`make test` does)")
    context.add_init_script(path=str(AXE_JS))


def axe_violations(*pages: Any) -> list[list[dict[str, Any]]]:
    """Run axe-core on the pages as they are now, all at once; the violations of WCAG 2.1 A
    and AA of each."""
    for page in pages:
        page.evaluate(START_AXE, AXE_OPTIONS)
    return [page.evaluate(COLLECT_AXE) for page in pages]


def describe_violations(label: str, violations: list[dict[str, Any]]) -> str:
    """Violations as readable text: rule, impact, what to do, and where."""
    lines = [f"== {label}: {len(violations)} rule(s) violated"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:8]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    … and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


REFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1)
    .slice(-6)
    .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
               `${el.className ? '.' + String(el.className).split(' ').join('.') : ''}` +
               ` (right edge at ${Math.round(el.getBoundingClientRect().right)} px)`);
}"""


class AxeReport:
    """Collects violations over many pages so one run shows every problem at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.scanned: list[str] = []

    def scan(self, label: str, *pages: Any) -> None:
        """Check the pages (e.g. the same address at desktop and phone size) at once."""
        for page, violations in zip(pages, axe_violations(*pages), strict=True):
            width = page.viewport_size["width"]
            self.scanned.append(f"{label} at {width} px")
            if violations:
                self.problems.append(describe_violations(
                    f"{label} at {width} px ({page.url})", violations))

    def reflow(self, label: str, page: Any) -> None:
        """WCAG 1.4.10 (which axe does not check): at 320 CSS px nothing may need scrolling
        sideways. Narrows the (phone) page for a moment and measures."""
        size = page.viewport_size
        page.set_viewport_size({"width": 320, "height": 640})
        try:
            found = page.evaluate(REFLOW)
        finally:
            page.set_viewport_size(size)
        if found:
            self.problems.append(f"== {label} at 320 px ({page.url}): wider than the screen "
                                 "(WCAG 1.4.10 Reflow):\n" +
                                 "\n".join(f"    at {where}" for where in found))

    def check(self) -> None:
        assert self.scanned, "no page was scanned"
        if self.problems:
            pytest.fail("axe-core found WCAG 2.1 A/AA violations:\n\n" +
                        "\n\n".join(self.problems), pytrace=False)


FOCUS_STYLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 60),
    href: el.getAttribute('href'),
    focusVisible: el.matches(':focus-visible'),
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== 'none',
  };
}"""


def focused(page: Any) -> dict[str, Any]:
    """What has the keyboard focus, and whether its focus is visible."""
    info = page.evaluate(FOCUS_STYLE)
    assert info is not None, "nothing has the focus"
    return info


def assert_focus_visible(page: Any) -> dict[str, Any]:
    """The focused element shows the focus ring (an outline or a box shadow). Checked on the
    computed style, not only the :focus-visible state: Chromium drops that state while Tab
    walks through the parts of a date input, and the ring must stay."""
    info = focused(page)
    assert info["outline"] or info["shadow"], f"focus on {info} shows no outline or shadow"
    return info
