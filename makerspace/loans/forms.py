"""Loan forms: the citizen's loan form, and the desk's form for a kit coming back."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length

from makerspace.core.forms import within_years
from makerspace.loans.labels import CONDITION_LABELS


class LoanForm(FlaskForm):
    pickup_date = DateField(_l("Pick-up day"), validators=[InputRequired(), within_years],
                            description=_l("Pick the kit up at the desk during opening hours."))
    return_date = DateField(_l("Return day"), validators=[InputRequired(), within_years],
                            description=_l("Bring it back to the same library, during "
                                           "opening hours."))


class LendForm(LoanForm):
    """Staff lend a kit over the desk to someone their library knows (by e-mail)."""

    kit = SelectField(_l("Kit"), coerce=int, validators=[InputRequired()])
    email = EmailField(_l("The citizen's e-mail address"),
                       validators=[DataRequired(), Length(max=254)])


class ReturnForm(FlaskForm):
    """A kit coming back at the scan station: its code, its state, and what staff noticed."""

    code = StringField(id="return-code", validators=[DataRequired(), Length(max=500)])
    condition = RadioField(_l("State of the kit"), default="complete",
                           choices=[SelectChoice(k.value, v) for k, v in CONDITION_LABELS.items()],
                           validators=[InputRequired()])
    note = TextAreaField(_l("Damage or missing parts"), validators=[Length(max=1000)],
                         description=_l("Needed unless everything came back whole."))
