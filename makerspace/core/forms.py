"""Forms used across areas."""

from flask_wtf import FlaskForm
from wtforms import HiddenField


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""


class LanguageForm(FlaskForm):
    next = HiddenField()
