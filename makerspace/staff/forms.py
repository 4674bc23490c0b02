"""Staff forms, and the one place where form input becomes UTC moments."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from makerspace.booking.models import EquipmentKind
from makerspace.branches.hours import (
    MINUTES_PER_DAY,
    WEEKDAYS,
    InvalidHours,
    local_moment,
    parse_clock,
)

KIND_LABELS = {
    EquipmentKind.PRINTER_3D: _l("3D printer"),
    EquipmentKind.LASER_CUTTER: _l("Laser cutter"),
    EquipmentKind.VR_KIT: _l("VR headset"),
    EquipmentKind.VINYL_CUTTER: _l("Vinyl cutter"),
    EquipmentKind.SEWING_MACHINE: _l("Sewing or embroidery machine"),
    EquipmentKind.PODCAST_STUDIO: _l("Podcast studio"),
    EquipmentKind.DIGITISATION_STATION: _l("Digitisation station"),
    EquipmentKind.OTHER: _l("Other"),
}

WEEKDAY_LABELS = {
    "mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"), "thu": _l("Thursday"),
    "fri": _l("Friday"), "sat": _l("Saturday"), "sun": _l("Sunday"),
}

CLOCK_HINT = _l("HH:MM, for example 08:30")
_TIME_INPUT = {"type": "time", "inputmode": "numeric"}
_CLOCK_INPUT = {"inputmode": "numeric", "placeholder": "HH:MM", "size": 5, "maxlength": 5,
                "autocomplete": "off"}


# -- time conversion ----------------------------------------------------------------------

def local_to_utc(day: date, clock_text: str, timezone: str) -> datetime:
    """A date and an 'HH:MM' entered in the branch's zone, as an aware UTC datetime.

    Raises InvalidHours (a DomainError) when the time is not a time of day."""
    return local_moment(day, parse_clock(clock_text), ZoneInfo(timezone))


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of a local date, in UTC; 23 or 25 hours long across DST."""
    zone = ZoneInfo(timezone)
    return local_moment(day, 0, zone), local_moment(day, MINUTES_PER_DAY, zone)


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def suggested_periods(extra: dict[str, Any], timezone: str) -> list[dict[str, Any]]:
    """The free periods a refusal offers instead (`suggestions` of BookingRefused), with the
    local date, start time and length a walk-in form needs to book one of them."""
    zone = ZoneInfo(timezone)
    periods = []
    for suggestion in extra.get("suggestions") or []:
        start = datetime.fromisoformat(suggestion["start"])
        end = datetime.fromisoformat(suggestion["end"])
        local = start.astimezone(zone)
        periods.append({"start": start, "end": end, "day": local.date().isoformat(),
                        "time": local.strftime("%H:%M"),
                        "minutes": int((end - start).total_seconds() // 60)})
    return periods


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


# -- equipment ----------------------------------------------------------------------------

class EquipmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, label)
                                            for k, label in KIND_LABELS.items()])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    slot_minutes = IntegerField(
        _l("Time step (minutes)"), validators=[InputRequired()], default=30,
        description=_l("Bookings start and end on these steps."),
        render_kw={"inputmode": "numeric"})
    min_minutes = IntegerField(_l("Shortest booking (minutes)"), validators=[InputRequired()],
                               default=60, render_kw={"inputmode": "numeric"})
    max_minutes = IntegerField(_l("Longest booking (minutes)"), validators=[InputRequired()],
                               default=240, render_kw={"inputmode": "numeric"})
    buffer_minutes = IntegerField(
        _l("Buffer after each booking (minutes)"), validators=[InputRequired()], default=0,
        description=_l("Time for cooling or cleaning before the next booking."),
        render_kw={"inputmode": "numeric"})
    max_advance_days = IntegerField(_l("Bookable days ahead"), validators=[InputRequired()],
                                    default=14, render_kw={"inputmode": "numeric"})
    min_age = IntegerField(
        _l("Age limit (optional)"), validators=[Optional()],
        description=_l("People may book from the year they turn this age."),
        render_kw={"inputmode": "numeric"})
    requires_certification = SelectField(_l("Certification needed"), choices=[])

    def set_certifications(self, certifications: list[Any]) -> None:
        self.requires_certification.choices = [SelectChoice("", _("None"))] + [
            SelectChoice(c.slug, c.name) for c in certifications]

    def rule_fields(self) -> dict[str, Any]:
        """The machine's fields for create_equipment/update_equipment, certification aside."""
        return {"name": self.name.data.strip(), "kind": self.kind.data,
                "description": (self.description.data or "").strip(),
                "slot_minutes": self.slot_minutes.data, "min_minutes": self.min_minutes.data,
                "max_minutes": self.max_minutes.data,
                "buffer_minutes": self.buffer_minutes.data,
                "max_advance_days": self.max_advance_days.data, "min_age": self.min_age.data}


class OutageForm(FlaskForm):
    from_date = DateField(_l("From date"), validators=[InputRequired()])
    from_time = StringField(_l("From time"), validators=[clock_text()], render_kw=_TIME_INPUT)
    until_date = DateField(_l("Until date (optional)"), validators=[Optional()],
                           description=_l("Leave empty for “until further notice”."))
    until_time = StringField(_l("Until time"), validators=[clock_text(required=False)],
                             render_kw=_TIME_INPUT)
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)],
                         description=_l("Citizens whose bookings are cancelled will see it."))

    def validate_until_time(self, field: StringField) -> None:
        if self.until_date.data and not (field.data or "").strip():
            raise ValidationError(_("Please give a time (HH:MM)."))

    def period(self, timezone: str) -> tuple[datetime, datetime | None]:
        start = local_to_utc(self.from_date.data, self.from_time.data, timezone)
        if not self.until_date.data:
            return start, None
        return start, local_to_utc(self.until_date.data, self.until_time.data, timezone)


# -- opening hours ------------------------------------------------------------------------

class DayHoursForm(Form):
    """Up to two opening intervals of one weekday; all blank means closed."""

    opens1 = StringField(_l("Opens"), validators=[clock_text(required=False)],
                         render_kw=_CLOCK_INPUT)
    closes1 = StringField(_l("Closes"), validators=[clock_text(required=False)],
                          render_kw=_CLOCK_INPUT)
    opens2 = StringField(_l("Opens again"), validators=[clock_text(required=False)],
                         render_kw=_CLOCK_INPUT)
    closes2 = StringField(_l("Closes again"), validators=[clock_text(required=False)],
                          render_kw=_CLOCK_INPUT)

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
    day = DateField(_l("Date"), validators=[InputRequired()])
    closed = BooleanField(_l("Closed all day"), default=True)
    opens = StringField(_l("Opens"), validators=[clock_text(required=False)],
                        description=CLOCK_HINT, render_kw=_CLOCK_INPUT)
    closes = StringField(_l("Closes"), validators=[clock_text(required=False)],
                         description=CLOCK_HINT, render_kw=_CLOCK_INPUT)
    reason = StringField(_l("Reason"), validators=[Length(max=200)],
                         description=_l("For example “Staff training” or “Christmas Eve”."))

    def validate_closes(self, field: StringField) -> None:
        if not self.closed.data and not (self.opens.data and field.data):
            raise ValidationError(_("Give the special hours, or tick “Closed all day”."))

    def intervals(self) -> list[list[str]] | None:
        return None if self.closed.data else [[self.opens.data, self.closes.data]]


class RemoveClosureForm(FlaskForm):
    day = DateField(widget=HiddenInput(), validators=[InputRequired()])


# -- bookings and people ------------------------------------------------------------------

class WalkInForm(FlaskForm):
    equipment = SelectField(_l("Machine"), coerce=int, choices=[])
    email = EmailField(_l("The citizen's e-mail address"),
                       validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    day = DateField(_l("Date"), validators=[InputRequired()])
    start = StringField(_l("Start time"), validators=[clock_text()], render_kw=_TIME_INPUT)
    minutes = IntegerField(_l("Duration (minutes)"), default=60,
                           validators=[InputRequired(), NumberRange(1, 24 * 60)],
                           render_kw={"inputmode": "numeric"})

    def period(self, timezone: str) -> tuple[datetime, datetime]:
        start = local_to_utc(self.day.data, self.start.data, timezone)
        return start, start + timedelta(minutes=self.minutes.data)


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)],
                         description=_l("The citizen will see it."))


class GrantForm(FlaskForm):
    email = EmailField(_l("The citizen's e-mail address"),
                       validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    certification = SelectField(_l("Certification"), choices=[])
    note = StringField(_l("Note (optional)"), validators=[Length(max=500)])


class PersonSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])


# -- admin --------------------------------------------------------------------------------

class BranchForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=64)],
                       description=_l("Used in addresses: a–z, 0–9 and hyphens, e.g. steinkjer."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    municipality = StringField(_l("Municipality"), validators=[DataRequired(), Length(max=100)])
    timezone = StringField(_l("Time zone"), default="Europe/Oslo",
                           validators=[DataRequired(), Length(max=64)])
    closed_on_public_holidays = BooleanField(_l("Closed on public holidays"), default=True)


class CertificationForm(FlaskForm):
    slug = StringField(_l("Short name"), validators=[DataRequired(), Length(max=64)],
                       description=_l("a–z, 0–9 and hyphens, e.g. laser-basic."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    valid_months = IntegerField(_l("Valid for (months, optional)"),
                                validators=[Optional(), NumberRange(min=1)],
                                description=_l("Leave empty if it never expires."),
                                render_kw={"inputmode": "numeric"})
