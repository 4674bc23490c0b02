"""Forms for granting certifications and for the county's list of them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional


class GrantForm(FlaskForm):
    email = EmailField(_l("The citizen's e-mail address"),
                       validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    certification = SelectField(_l("Certification"), choices=[])
    note = StringField(_l("Note (optional)"), validators=[Length(max=500)])


class CertificationForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=64)],
                       description=_l("a–z, 0–9 and hyphens, e.g. laser-basic."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    valid_months = IntegerField(_l("Valid for (months, optional)"),
                                validators=[Optional(), NumberRange(min=1, max=1200)],
                                description=_l("Leave empty if it never expires."),
                                render_kw={"inputmode": "numeric"})
