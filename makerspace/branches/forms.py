"""Forms for a branch's opening hours, closures and settings, and the HH:MM validator that
every form with a time of day uses."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Form,
    FormField,
    IntegerField,
    StringField,
    TelField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError
from wtforms.widgets import HiddenInput

from makerspace.branches.hours import WEEKDAYS, InvalidHours, parse_clock
from makerspace.branches.labels import WEEKDAY_LABELS
from makerspace.core.forms import within_years

CLOCK_HINT = _l("HH:MM, for example 08:30")
CLOCK_INPUT = {"inputmode": "numeric", "placeholder": "HH:MM", "size": 5, "maxlength": 5,
               "autocomplete": "off"}


def clock_text(required: bool = True):  # type: ignore[no-untyped-def]
    """A validator: the field holds HH:MM ('24:00' allowed); blank is fine unless required."""

    def check(form: Form, field: StringField) -> None:
        value = (field.data or "").strip()
        if not value:
            if required:
                raise ValidationError(_("Please give a time (HH:MM)."))
            return
        try:
            parse_clock(value)
        except InvalidHours as error:
            raise ValidationError(str(error.message)) from error

    return check


class DayHoursForm(Form):
    """Up to two opening intervals of one weekday; all blank means closed."""

    opens1 = StringField(_l("Opens"), validators=[clock_text(required=False)],
                         render_kw=CLOCK_INPUT)
    closes1 = StringField(_l("Closes"), validators=[clock_text(required=False)],
                          render_kw=CLOCK_INPUT)
    opens2 = StringField(_l("Opens again"), validators=[clock_text(required=False)],
                         render_kw=CLOCK_INPUT)
    closes2 = StringField(_l("Closes again"), validators=[clock_text(required=False)],
                          render_kw=CLOCK_INPUT)

    def intervals(self) -> list[list[str]]:
        pairs = [((self.opens1.data or "").strip(), (self.closes1.data or "").strip()),
                 ((self.opens2.data or "").strip(), (self.closes2.data or "").strip())]
        return [[o, c] for o, c in pairs if o or c]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for opens, closes in ((self.opens1, self.closes1), (self.opens2, self.closes2)):
            if bool((opens.data or "").strip()) != bool((closes.data or "").strip()):
                (closes if opens.data else opens).errors.append(
                    _("Give both an opening and a closing time, or neither."))
                ok = False
        return ok


class HoursForm(FlaskForm):
    mon = FormField(DayHoursForm, label=WEEKDAY_LABELS["mon"])
    tue = FormField(DayHoursForm, label=WEEKDAY_LABELS["tue"])
    wed = FormField(DayHoursForm, label=WEEKDAY_LABELS["wed"])
    thu = FormField(DayHoursForm, label=WEEKDAY_LABELS["thu"])
    fri = FormField(DayHoursForm, label=WEEKDAY_LABELS["fri"])
    sat = FormField(DayHoursForm, label=WEEKDAY_LABELS["sat"])
    sun = FormField(DayHoursForm, label=WEEKDAY_LABELS["sun"])
    closed_on_public_holidays = BooleanField(_l("Closed on public holidays"))
    max_upcoming_bookings = IntegerField(
        _l("Upcoming bookings per citizen"), validators=[InputRequired(), NumberRange(0, 100)],
        description=_l("How many bookings one person may hold at this library at a time."),
        render_kw={"inputmode": "numeric"})
    staff_feed_full_names = BooleanField(
        _l("Full names in the staff calendar"),
        description=_l("Off: the staff calendar shows initials and the booking number. On: "
                       "full names. Warning: a calendar you subscribe to in Google Calendar or "
                       "Outlook is stored on their servers, names included."))

    @staticmethod
    def initial(weekly: dict[str, list[tuple[str, str]]]) -> dict[str, dict[str, str]]:
        """Form data from branches.hours.weekly_hours()."""
        data = {}
        for day in WEEKDAYS:
            pairs = list(weekly.get(day, []))[:2] + [("", "")] * 2
            data[day] = {"opens1": pairs[0][0], "closes1": pairs[0][1],
                         "opens2": pairs[1][0], "closes2": pairs[1][1]}
        return data

    def weekly(self) -> dict[str, list[list[str]]]:
        """The hours for branches.hours.set_weekly_hours()."""
        return {day: self[day].form.intervals() for day in WEEKDAYS}


class ClosureForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired(), within_years])
    closed = BooleanField(_l("Closed all day"), default=True)
    opens = StringField(_l("Opens"), validators=[clock_text(required=False)],
                        description=CLOCK_HINT, render_kw=CLOCK_INPUT)
    closes = StringField(_l("Closes"), validators=[clock_text(required=False)],
                         description=CLOCK_HINT, render_kw=CLOCK_INPUT)
    reason = StringField(_l("Reason"), validators=[Length(max=200)],
                         description=_l("For example “Staff training” or “Christmas Eve”."))

    def validate_closes(self, field: StringField) -> None:
        if not self.closed.data and not (self.opens.data and field.data):
            raise ValidationError(_("Give the special hours, or tick “Closed all day”."))

    def intervals(self) -> list[list[str]] | None:
        return None if self.closed.data else [[self.opens.data, self.closes.data]]


class RemoveClosureForm(FlaskForm):
    day = DateField(widget=HiddenInput(), validators=[InputRequired()])


class BranchForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=64)],
                       description=_l("Used in addresses: a–z, 0–9 and hyphens, e.g. steinkjer."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    municipality = StringField(_l("Municipality"), validators=[DataRequired(), Length(max=100)])
    timezone = StringField(_l("Time zone"), default="Europe/Oslo",
                           validators=[DataRequired(), Length(max=64)])
    closed_on_public_holidays = BooleanField(_l("Closed on public holidays"), default=True)


class StaffedDayForm(DayHoursForm):
    """Up to two intervals of one weekday when staff are there; all blank means none."""

    opens1 = StringField(_l("Staff from"), validators=[clock_text(required=False)],
                         render_kw=CLOCK_INPUT)
    closes1 = StringField(_l("Staff until"), validators=[clock_text(required=False)],
                          render_kw=CLOCK_INPUT)
    opens2 = StringField(_l("Staff again from"), validators=[clock_text(required=False)],
                         render_kw=CLOCK_INPUT)
    closes2 = StringField(_l("Staff again until"), validators=[clock_text(required=False)],
                          render_kw=CLOCK_INPUT)


class BranchEditForm(FlaskForm):
    """Everything an admin says about a branch: names, where it is, how to reach it, and when
    staff are there (the opening hours themselves are on the hours page)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=64)],
                       description=_l("Used in addresses: a–z, 0–9 and hyphens. If you change "
                                      "it, old links and embedded views stop working."))
    municipality = StringField(_l("Municipality"), validators=[DataRequired(), Length(max=100)])
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)])
    address = StringField(_l("Address"), validators=[Length(max=300)],
                          render_kw={"autocomplete": "off"})
    map_url = URLField(_l("Link to a map"), validators=[Length(max=500)], description=_l(
        "A web address starting with https://, for example from OpenStreetMap. Shown as a "
        "plain link: no map is embedded in the page."))
    contact_email = EmailField(_l("Contact e-mail"), validators=[Length(max=254)])
    contact_phone = TelField(_l("Contact phone"), validators=[Length(max=40)])
    staffed_when_open = BooleanField(
        _l("Staff are there whenever the library is open"), default=True,
        description=_l("Untick it if the library is open without staff some of the time "
                       "(meråpent). Then give the hours when staff are there below."))
    mon = FormField(StaffedDayForm, label=WEEKDAY_LABELS["mon"])
    tue = FormField(StaffedDayForm, label=WEEKDAY_LABELS["tue"])
    wed = FormField(StaffedDayForm, label=WEEKDAY_LABELS["wed"])
    thu = FormField(StaffedDayForm, label=WEEKDAY_LABELS["thu"])
    fri = FormField(StaffedDayForm, label=WEEKDAY_LABELS["fri"])
    sat = FormField(StaffedDayForm, label=WEEKDAY_LABELS["sat"])
    sun = FormField(StaffedDayForm, label=WEEKDAY_LABELS["sun"])

    def staffed(self) -> dict[str, list[list[str]]] | None:
        """The staffed hours for branches.hours.set_staffed_hours()."""
        if self.staffed_when_open.data:
            return None
        return {day: self[day].form.intervals() for day in WEEKDAYS}
