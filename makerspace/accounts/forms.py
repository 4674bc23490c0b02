"""Account forms."""

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional

LOCALE_CHOICES = [
    SelectChoice("", _l("Same as the browser")),
    SelectChoice("nb", "Norsk bokmål", render_kw={"lang": "nb"}),
    SelectChoice("nn", "Norsk nynorsk", render_kw={"lang": "nn"}),
    SelectChoice("en", "English", render_kw={"lang": "en"}),
]


class RegisterForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    birth_year = IntegerField(
        _l("Birth year"),
        validators=[DataRequired(), NumberRange(min=1900, max=2100)],
        description=_l("Some machines and courses have an age limit."),
        render_kw={"inputmode": "numeric", "autocomplete": "bday-year"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=10, max=200)],
        description=_l("At least 10 characters."),
        render_kw={"autocomplete": "new-password"},
    )
    password_again = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class ProfileForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    birth_year = IntegerField(_l("Birth year"), validators=[Optional(), NumberRange(1900, 2100)],
                              render_kw={"inputmode": "numeric"})
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)


class HomeLibraryForm(FlaskForm):
    """The home library, its own small form (on the profile page, and offered on a booking's
    page). Its hidden fields are written without ids: other forms on the page have them."""

    home_branch = SelectField(_l("Home library"), default="", description=_l(
        "Lists, the search for free time and the front page start at this library."))
    next = HiddenField()


def home_library_form(branches: list[Any], chosen: str = "", formdata: Any = None
                      ) -> HomeLibraryForm:
    form = HomeLibraryForm(formdata=formdata, home_branch=chosen)
    form.home_branch.choices = [("", _("No home library"))] + [(b.slug, b.name)
                                                                 for b in branches]
    return form


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=10, max=200)],
        description=_l("At least 10 characters. A few words that do not belong together are "
                       "easy to remember and hard to guess."),
        render_kw={"autocomplete": "new-password"},
    )
    password_again = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class TokenForm(FlaskForm):
    """Its fields are prefixed ("token-name"): it shares the profile page with ProfileForm."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, prefix="token", **kwargs)  # type: ignore[arg-type]

    name = StringField(
        _l("Name of the token"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("For example the name of the script or web site that will use it."),
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "email"})


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=10, max=200)],
        description=_l("At least 10 characters."),
        render_kw={"autocomplete": "new-password"},
    )
    password_again = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password"), validators=[DataRequired()],
        description=_l("To make sure it is you. This cannot be undone."),
        render_kw={"autocomplete": "current-password"},
    )


class ConfirmDeleteForm(FlaskForm):
    """For accounts without a password (library card, ID-porten): a fresh log-in instead."""

    confirm = BooleanField(_l("Yes, delete my account and my data"),
                           validators=[DataRequired()])


class PersonSearchForm(FlaskForm):
    """Staff look up a person by e-mail (only people their library knows are found)."""

    class Meta:
        csrf = False  # a GET search changes nothing

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])


class DeskVerifyForm(FlaskForm):
    """Staff confirm a person's e-mail address at the desk."""

    email = EmailField(_l("The person's e-mail address"),
                       validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("Ask the person to show you the address, for example "
                                      "in their e-mail app, before you confirm it."),
                       render_kw={"autocomplete": "off"})
