"""Forms for the course and event pages, and the labels they show."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from makerspace.branches.forms import clock_text
from makerspace.branches.hours import local_to_utc, parse_clock
from makerspace.certifications.models import Certification
from makerspace.core.forms import EmptyForm, within_years
from makerspace.events.labels import AGE_GROUP_LABELS, CATEGORY_LABELS
from makerspace.events.models import Event

__all__ = ["EmptyForm", "EventFilterForm", "EventForm", "SeriesForm", "CancelEventForm",
           "SignupForm"]


def _guardian_age_field() -> IntegerField:
    return IntegerField(
        _l("Guardian's consent under this age (optional)"),
        validators=[Optional(), NumberRange(1, 100)],
        description=_l("Younger people name a guardian, who gets an e-mail and must agree once "
                       "for the course (for a series: once for all its dates). The seat is "
                       "kept, without a check-in code, until they do."),
        render_kw=_NUMBER_INPUT)

_TIME_INPUT = {"type": "time", "inputmode": "numeric"}
_NUMBER_INPUT = {"inputmode": "numeric"}


def _time_of_day(form: Any, field: StringField) -> None:
    """For series: a time on the day itself (24:00 is not a start or end of a weekly slot)."""
    if (field.data or "").strip() == "24:00":
        raise ValidationError(_("Choose a time between 00:00 and 23:59."))


def _local(moment: datetime | None, timezone: str) -> datetime | None:
    """A UTC moment as a naive wall-clock time at the branch (for datetime-local inputs)."""
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None) if moment else None


def _utc(wall: datetime | None, timezone: str) -> datetime | None:
    if wall is None:
        return None
    return local_to_utc(wall.date(), wall.strftime("%H:%M"), timezone)


class EventFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    branch = SelectField(_l("Library"), choices=[], validate_choice=False)
    category = SelectField(_l("Category"), validate_choice=False, choices=[])
    age = SelectField(_l("Age group"), validate_choice=False, choices=[])
    free = BooleanField(_l("Only with free seats"))
    start = DateField(_l("From date"), name="from", validators=[Optional(), within_years])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = [SelectChoice("", _("All categories"))] + [
            SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()]
        self.age.choices = [SelectChoice("", _("All ages"))] + [
            SelectChoice(value, label) for value, label in AGE_GROUP_LABELS.items()]

    def set_branches(self, branches: list[Any]) -> None:
        self.branch.choices = [SelectChoice("", _("All libraries"))] + [
            SelectChoice(b.slug, b.name) for b in branches]


class _CertificationChoices:
    requires_certification: SelectField
    grants_certification: SelectField

    def set_certifications(self, certifications: list[Certification]) -> None:
        choices = [SelectChoice(c.slug, c.name) for c in certifications]
        self.requires_certification.choices = [SelectChoice("", _("None")), *choices]
        self.grants_certification.choices = [SelectChoice("", _("None")), *choices]


def _category_field() -> SelectField:
    return SelectField(_l("Category"), choices=[SelectChoice("", _l("None"))] + [
        SelectChoice(c.value, label) for c, label in CATEGORY_LABELS.items()],
        default="", description=_l("People can filter the course list by it."))


def _description_fields() -> tuple[TextAreaField, TextAreaField, TextAreaField]:
    return (TextAreaField(_l("Description (bokmål)"), validators=[Length(max=5000)],
                          description=_l("Shown when there is none in the reader's language.")),
            TextAreaField(_l("Description (nynorsk, optional)"), validators=[Length(max=5000)]),
            TextAreaField(_l("Description (English, optional)"), validators=[Length(max=5000)]))


class _Languages:
    """The fields every course form shares besides its times: category and descriptions."""

    category: SelectField
    description_nn: TextAreaField
    description_en: TextAreaField

    def language_fields(self) -> dict[str, Any]:
        return {"category": self.category.data or None,
                "description_nn": self.description_nn.data or "",
                "description_en": self.description_en.data or ""}


class EventForm(_CertificationChoices, _Languages, FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    category = _category_field()
    description, description_nn, description_en = _description_fields()
    instructor = StringField(_l("Instructor (optional)"), validators=[Length(max=200)])
    day = DateField(_l("Date"), validators=[InputRequired(), within_years])
    start_time = StringField(_l("Start time"), validators=[clock_text()], render_kw=_TIME_INPUT)
    end_time = StringField(_l("End time"), validators=[clock_text()], render_kw=_TIME_INPUT)
    capacity = IntegerField(_l("Seats"), validators=[InputRequired(), NumberRange(0, 10_000)],
                            render_kw=_NUMBER_INPUT)
    min_age = IntegerField(
        _l("Age limit (optional)"), validators=[Optional(), NumberRange(0, 100)],
        description=_l("People may sign up from the year they turn this age."),
        render_kw=_NUMBER_INPUT)
    guardian_consent_under = _guardian_age_field()
    signup_opens_at = DateTimeLocalField(
        _l("Sign-up opens (optional)"), validators=[Optional(), within_years],
        description=_l("Leave empty to open sign-up at once."))
    signup_closes_at = DateTimeLocalField(
        _l("Sign-up closes (optional)"), validators=[Optional(), within_years],
        description=_l("Leave empty to close sign-up at the start."))
    requires_certification = SelectField(
        _l("Certification needed to join"), choices=[],
        description=_l("Only people who hold it may sign up."))
    grants_certification = SelectField(
        _l("Certification granted on attendance"), choices=[],
        description=_l("Everyone marked as attended receives it."))

    @classmethod
    def for_event(cls, event: Event) -> EventForm:
        """A form filled in from an event, in the branch's local time."""
        tz = event.branch.timezone
        zone = ZoneInfo(tz)
        start, end = event.start_at.astimezone(zone), event.end_at.astimezone(zone)
        return cls(
            title=event.title, description=event.description, instructor=event.instructor,
            description_nn=event.description_nn, description_en=event.description_en,
            category=event.category or "",
            day=start.date(), start_time=start.strftime("%H:%M"),
            end_time=end.strftime("%H:%M"), capacity=event.capacity, min_age=event.min_age,
            guardian_consent_under=event.guardian_consent_under,
            signup_opens_at=_local(event.signup_opens_at, tz),
            signup_closes_at=_local(event.signup_closes_at, tz),
            requires_certification=(event.requires_certification.slug
                                    if event.requires_certification else ""),
            grants_certification=(event.grants_certification.slug
                                  if event.grants_certification else ""))

    def event_fields(self, timezone: str) -> dict[str, Any]:
        """The fields for update_event (certifications aside); raises InvalidHours."""
        return {
            "title": self.title.data, "description": self.description.data or "",
            "instructor": self.instructor.data or "",
            "start_at": local_to_utc(self.day.data, self.start_time.data, timezone),
            "end_at": local_to_utc(self.day.data, self.end_time.data, timezone),
            "capacity": self.capacity.data, "min_age": self.min_age.data,
            "guardian_consent_under": self.guardian_consent_under.data,
            "signup_opens_at": _utc(self.signup_opens_at.data, timezone),
            "signup_closes_at": _utc(self.signup_closes_at.data, timezone),
            **self.language_fields(),
        }


class SeriesForm(_CertificationChoices, _Languages, FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    category = _category_field()
    description, description_nn, description_en = _description_fields()
    instructor = StringField(_l("Instructor (optional)"), validators=[Length(max=200)])
    first_day = DateField(_l("First day"), validators=[InputRequired(), within_years],
                          description=_l("The series repeats on this weekday."))
    start_time = StringField(_l("Start time"), validators=[clock_text(), _time_of_day],
                             render_kw=_TIME_INPUT)
    end_time = StringField(_l("End time"), validators=[clock_text(), _time_of_day],
                           render_kw=_TIME_INPUT)
    until = DateField(_l("Last day"), validators=[InputRequired(), within_years],
                      description=_l("At most a year after the first day."))
    capacity = IntegerField(_l("Seats"), validators=[InputRequired(), NumberRange(0, 10_000)],
                            render_kw=_NUMBER_INPUT)
    min_age = IntegerField(_l("Age limit (optional)"), validators=[Optional(), NumberRange(0, 100)],
                           render_kw=_NUMBER_INPUT)
    guardian_consent_under = _guardian_age_field()
    skip_closed_days = BooleanField(_l("Skip days the library is closed"), default=True)
    requires_certification = SelectField(_l("Certification needed to join"), choices=[])
    grants_certification = SelectField(_l("Certification granted on attendance"), choices=[])

    @staticmethod
    def _clock(text: str) -> time:
        minutes = parse_clock(text)
        return time(minutes // 60, minutes % 60)

    def series_fields(self) -> dict[str, Any]:
        """The arguments for create_weekly_series (certifications aside)."""
        return {
            "title": self.title.data, "description": self.description.data or "",
            "instructor": self.instructor.data or "", "first_day": self.first_day.data,
            "starts": self._clock(self.start_time.data), "ends": self._clock(self.end_time.data),
            "until": self.until.data, "capacity": self.capacity.data,
            "min_age": self.min_age.data, "skip_closed_days": self.skip_closed_days.data,
            "guardian_consent_under": self.guardian_consent_under.data,
            **self.language_fields(),
        }


class SignupForm(FlaskForm):
    # Shown when the course asks a guardian below an age (booking/guardians.py).
    guardian_email = EmailField(
        _l("Your guardian's e-mail address"), validators=[Optional(), Length(max=254)],
        description=_l("Needed if you are under the age shown above: we ask your guardian to "
                       "agree, and your seat is confirmed when they do."))


class CancelEventForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)],
                         description=_l("Everyone signed up will see it."))
