"""Forms of the card log-in and of finishing a new account."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional


class CardLoginForm(FlaskForm):
    card_number = StringField(
        _l("Library card number"), validators=[DataRequired(), Length(max=40)],
        description=_l("The number on your library card."),
        render_kw={"autocomplete": "username", "autocapitalize": "characters",
                   "spellcheck": "false"})
    pin = PasswordField(_l("PIN"), validators=[DataRequired(), Length(max=40)],
                        description=_l("The PIN you use at the library."),
                        render_kw={"autocomplete": "current-password", "inputmode": "numeric"})
    # Shown only where branches have a library system of their own (SIP2_BRANCHES).
    library = SelectField(_l("Your library"), choices=[], default="")
    next = HiddenField()


class DetailsForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    email = EmailField(
        _l("E-mail address (optional)"),
        validators=[Optional(), Email(), Length(max=254)],
        description=_l("For confirmations and reminders of your bookings. We send a link to "
                       "confirm it."),
        render_kw={"autocomplete": "email"})
    next = HiddenField()
