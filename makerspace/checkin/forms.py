"""Forms of the checkin area."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class ScanForm(FlaskForm):
    """The scan station's one input: what a desk scanner types (the URL, then Enter), or a
    code typed by hand. Whatever arrives is handed to the service, which finds the token."""

    code = StringField(
        _l("Scan or type the code"),
        validators=[DataRequired(_l("Scan a code or type it.")), Length(max=500)],
        render_kw={"autofocus": True, "autocomplete": "off", "autocapitalize": "characters",
                   "autocorrect": "off", "spellcheck": "false", "enterkeyhint": "go"},
    )


class AnywayForm(FlaskForm):
    """Check in someone early or late anyway: the code again, and why (audited)."""

    # Its own id: the scan form on the same page has a `code` too.
    code = StringField(id="anyway-code", validators=[DataRequired(), Length(max=500)])
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Please give a short reason.")),
                                                   Length(max=500)],
                         description=_l("For example: “the printer was free”. It is logged."))
