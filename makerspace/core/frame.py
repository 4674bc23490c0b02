"""Parts of every page's frame (the menu, the language picker's buttons, the footer) that
are the same for everyone on the same page in the same language: rendered once per process
and kept, instead of once per page (a dozen translated strings and URLs each).

What a part may depend on is its key: the template, the language, the page (endpoint and
blueprint, for `aria-current`) and the site's path prefix. Anything about the visitor (the
CSRF token, the page's own address, who is logged in) stays in base.html, around the parts.
"""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

KEPT_AT_MOST = 4096  # templates × languages × pages: a few hundred in practice


def kept_frame(template: str) -> Markup:
    kept: dict[tuple[str, ...], Markup] = current_app.extensions["kept_frame"]
    key = (template, str(get_locale()), request.endpoint or "", request.blueprint or "",
           request.script_root)
    part = kept.get(key)
    if part is None:
        part = Markup(render_template(template))  # noqa: S704 (Jinja output, escaped as rendered)
        if len(kept) < KEPT_AT_MOST:
            kept[key] = part
    return part


def install(app: Flask) -> None:
    app.extensions["kept_frame"] = {}
    app.add_template_global(kept_frame)
