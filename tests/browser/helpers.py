"""Helpers for the browser tests: logging in through the form, the accessibility engines
(axe-core and HTML_CodeSniffer), the 320 px reflow check, focus checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PASSWORD

NODE_MODULES = Path(__file__).resolve().parent.parent / "js" / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
# HTML_CodeSniffer as pa11y runs it (pa11y's own build of it; pa11y itself would download a
# browser): a second opinion beside axe, with rules axe lacks (repeated ids, forms, headings).
HTMLCS_JS = NODE_MODULES / "@pa11y" / "html_codesniffer" / "build" / "HTMLCS.js"
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
    """Put both engines, axe-core and HTML_CodeSniffer, into every page the context opens (init
    scripts, which the site's Content Security Policy does not block, unlike a script tag)."""
    for script in (AXE_JS, HTMLCS_JS):
        if not script.exists():
            pytest.skip(f"{script.name} is not installed ({script}): run `npm ci` in tests/js "
                        "(`make test` does)")
        context.add_init_script(path=str(script))


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


# HTML_CodeSniffer's WCAG 2.x AA standard, as pa11y runs it; errors only (type 1: warnings and
# notices are for a person to judge). Started without waiting, like axe, then collected.
HTMLCS_STANDARD = "WCAG2AA"
START_HTMLCS = """standard => {
  window.__htmlcsResult = new Promise((resolve, reject) => {
    HTMLCS.process(standard, document, () => resolve(HTMLCS.getMessages()),
                   () => reject(new Error('HTML_CodeSniffer failed')), 'en');
  });
}"""
COLLECT_HTMLCS = """() => window.__htmlcsResult.then(messages => messages
  .filter(m => m.type === 1)
  .map(m => {
    const el = m.element;
    let where = '';
    if (el && el.tagName) {
      where = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.getAttribute && el.getAttribute('class')
          ? '.' + el.getAttribute('class').trim().split(/\\s+/).join('.') : '');
      const html = el.outerHTML || '';
      where += ' ' + html.slice(0, 160).replace(/\\s+/g, ' ');
    }
    return {code: m.code, msg: m.msg, where};
  }))"""


def htmlcs_errors(*pages: Any) -> list[list[dict[str, str]]]:
    """Run HTML_CodeSniffer (WCAG2AA) on the pages as they are now, all at once; the errors of
    each, grouped by rule."""
    for page in pages:
        page.evaluate(START_HTMLCS, HTMLCS_STANDARD)
    return [page.evaluate(COLLECT_HTMLCS) for page in pages]


def describe_htmlcs(label: str, errors: list[dict[str, str]]) -> str:
    by_code: dict[str, list[dict[str, str]]] = {}
    for error in errors:
        by_code.setdefault(error["code"], []).append(error)
    lines = [f"== {label}: HTML_CodeSniffer, {len(by_code)} rule(s) broken"]
    for code, found in by_code.items():
        lines.append(f"- {code}: {found[0]['msg'][:300]}")
        lines.extend(f"    at {error['where']}" for error in found[:8])
        if len(found) > 8:
            lines.append(f"    … and {len(found) - 8} more")
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
    """Collects what the engines find over many pages so one run shows every problem at once:
    axe-core and HTML_CodeSniffer on every page scanned, and the 320 px reflow check."""

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
        for page, errors in zip(pages, htmlcs_errors(*pages), strict=True):
            if errors:
                self.problems.append(describe_htmlcs(
                    f"{label} at {page.viewport_size['width']} px ({page.url})", errors))

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
            language = page.evaluate("() => document.documentElement.lang")
            self.problems.append(f"== {label} at 320 px, {language} ({page.url}): wider than "
                                 "the screen "
                                 "(WCAG 1.4.10 Reflow):\n" +
                                 "\n".join(f"    at {where}" for where in found))

    def check(self) -> None:
        assert self.scanned, "no page was scanned"
        if self.problems:
            pytest.fail("axe-core, HTML_CodeSniffer or the reflow check found WCAG 2.1 A/AA "
                        "problems:\n\n" +
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
