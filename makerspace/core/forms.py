"""Forms used across areas, and the bounds of any date a person may enter."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField
from wtforms.meta import DefaultMeta
from wtforms.validators import ValidationError

# Beyond these, time arithmetic (a week ahead, a zone's offset) would overflow; pages and API
# alike refuse dates outside them.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def within_years(form: Any, field: Field) -> None:
    """A validator for a date or a date and time: between the years 2000 and 2999."""
    value = field.data
    day = value.date() if isinstance(value, datetime) else value
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValidationError(_("Choose a date in the coming years."))


def _render_field(meta: Any, field: Field, render_kw: dict[str, Any]) -> Any:
    """Render a field as WTForms does, but the CSRF token without an id: a page with several
    forms (a list of bookings, each with its cancel button) would repeat id="csrf_token"
    (WCAG 4.1.1). Nothing points at the token by id."""
    if field.type == "CSRFTokenField":
        render_kw = {"id": False, **render_kw}
    return DefaultMeta.render_field(meta, field, render_kw)


# Every FlaskForm of the app, whatever area defines it, renders through this Meta.
FlaskForm.Meta.render_field = _render_field  # type: ignore[method-assign]


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


class LanguageForm(FlaskForm):
    next = HiddenField()
