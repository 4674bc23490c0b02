"""Forms of the staff dashboard: the day's date, invitations, roles, a temporary closure."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from makerspace.branches.hours import local_to_utc
from makerspace.core.forms import within_years


class DayForm(FlaskForm):
    """The date picker of the day grid (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    date = DateField(_l("Go to date"), validators=[Optional(), within_years])


class CheckboxList(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(),
                                                         Length(max=254)],
                       render_kw={"autocomplete": "off"})
    role = SelectField(_l("Role"), choices=[SelectChoice("librarian", _l("Librarian")),
                                            SelectChoice("admin",
                                                         _l("County admin (all libraries)"))])
    branches = CheckboxList(_l("Libraries (for a librarian)"), choices=[], coerce=str)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[
        SelectChoice("librarian", _l("Librarian")),
        SelectChoice("admin", _l("County admin (all libraries)")),
        SelectChoice("citizen", _l("Not staff any more"))])


class BranchChoiceForm(FlaskForm):
    branch = SelectField(_l("Library"), choices=[])


class ClosureForm(FlaskForm):
    notice = TextAreaField(_l("Notice on the library's pages"),
                           validators=[DataRequired(), Length(max=500)],
                           description=_l("For example: “Closed for renovation. Welcome back "
                                          "in March!”"))
    from_date = DateField(_l("Closed from"), validators=[InputRequired(), within_years])
    until_date = DateField(_l("Open again on (optional)"),
                           validators=[Optional(), within_years],
                           description=_l("Leave empty for “until further notice”."))

    def period(self, timezone: str) -> tuple[datetime, datetime | None]:
        start = local_to_utc(self.from_date.data, "00:00", timezone)
        end = (local_to_utc(self.until_date.data, "00:00", timezone)
               if self.until_date.data else None)
        return start, end

