"""Booking forms: the citizen's booking form and cancel button, and the staff forms for
machines, outages, walk-ins and cancelling someone's booking."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
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
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from makerspace.booking.labels import KIND_LABELS, UNIT_LABELS, duration_label
from makerspace.booking.models import Equipment, EquipmentKind
from makerspace.booking.rules import EQUIPMENT_RULES, EquipmentRule
from makerspace.branches.forms import clock_text
from makerspace.branches.hours import format_clock, local_to_utc, parse_clock
from makerspace.core.forms import EmptyForm, within_years
from makerspace.errors import DomainError

TIME_INPUT = {"type": "time", "inputmode": "numeric"}


def start_times(step: int, weekly: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Grid times (HH:MM) between the earliest opening and the latest closing of the week;
    the whole day when the branch has no weekly hours."""
    intervals = [(parse_clock(o), parse_clock(c)) for pairs in weekly.values() for o, c in pairs]
    first = min((o for o, _c in intervals), default=0)
    last = max((c for _o, c in intervals), default=24 * 60)
    first = -(-first // step) * step
    return [format_clock(m) for m in range(first, last - step + 1, step)]


class BookingForm(FlaskForm):
    date = DateField(_l("Date"), validators=[InputRequired(), within_years])
    start = SelectField(_l("Start time"), validators=[DataRequired()])
    duration = SelectField(_l("Duration"), coerce=int, validators=[InputRequired()])
    # Shown when the machine asks a guardian below an age (booking/guardians.py).
    guardian_email = EmailField(
        _l("Your guardian's e-mail address"), validators=[Optional(), Length(max=254)],
        description=_l("Needed if you are under the age shown above: we ask your guardian to "
                       "agree, and your booking is confirmed when they do."))
    # Shown when the machine allows unattended jobs past closing (docs/booking.md).
    unattended = BooleanField(_l("Run unattended past closing"))
    estimated_minutes = IntegerField(
        _l("Estimated print time (minutes)"), validators=[Optional(), NumberRange(1, 24 * 60)],
        render_kw={"inputmode": "numeric"},
        description=_l("From the slicer, e.g. 580 for 9 h 40 min. The duration above is then "
                       "not used: the machine is yours until the job is done."))

    def validate(self, extra_validators: Any = None) -> bool:
        # Optional() stops the field's own chain when it is empty, so the "needed when
        # unattended" rule is checked here.
        valid = super().validate(extra_validators)
        if self.unattended.data and self.estimated_minutes.data is None \
                and not self.estimated_minutes.errors:
            self.estimated_minutes.errors = [_("Please give the estimated print time.")]
            return False
        return valid


class JobEndForm(EmptyForm):
    """Mark a job finished, failed or stopped early (the outcome is the button pressed)."""


class MaterialForm(FlaskForm):
    """The material a job used, in its machine's unit (jobs.record_material checks it)."""

    amount = StringField(_l("Amount used"), validators=[DataRequired(), Length(max=20)],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    material = StringField(_l("Material (optional)"), validators=[Optional(), Length(max=60)],
                           description=_l("E.g. PLA or PETG."))
    colour = StringField(_l("Colour (optional)"), validators=[Optional(), Length(max=60)])


def booking_form(equipment: Equipment, times: Iterable[str], extra_time: str | None = None,
                 **data: object) -> BookingForm:
    """A booking form with the machine's start times and durations as choices."""
    form = BookingForm(**data)
    choices = list(times)
    if extra_time and extra_time not in choices:  # a suggestion outside the usual week
        choices = sorted([*choices, extra_time])
    form.start.choices = [(t, t) for t in choices]
    form.duration.choices = [(m, duration_label(m)) for m in equipment.durations]
    return form


class CancelForm(EmptyForm):
    reason = TextAreaField(
        _l("Reason"), validators=[Optional(), Length(max=500)],
        description=_l("Required when you cancel someone else's booking; they will see it."))


def suggested_periods(refusal: DomainError | None, timezone: str) -> list[dict[str, Any]]:
    """The free periods a refusal offers instead (`suggestions`), with what a form needs to
    book one: start, end, the local date and time, the length in minutes."""
    return periods_from((refusal.extra.get("suggestions") if refusal else None) or [], timezone)


def periods_from(suggestions: list[dict[str, str]], timezone: str) -> list[dict[str, Any]]:
    """Suggested periods ({"start", "end"} in ISO) with what a booking form needs."""
    zone = ZoneInfo(timezone)
    periods = []
    for suggestion in suggestions:
        start = datetime.fromisoformat(suggestion["start"])
        end = datetime.fromisoformat(suggestion["end"])
        local = start.astimezone(zone)
        periods.append({"start": start, "end": end, "day": local.date().isoformat(),
                        "time": local.strftime("%H:%M"),
                        "minutes": int((end - start).total_seconds() // 60)})
    return periods


# -- staff --------------------------------------------------------------------------------

def _rule_field(rule: EquipmentRule) -> IntegerField:
    required = [InputRequired()] if rule.required and not rule.kits_only else [Optional()]
    return IntegerField(rule.label, validators=[*required, NumberRange(rule.low, rule.high)],
                        default=rule.default, description=rule.description,
                        render_kw={"inputmode": "numeric"})


class EquipmentForm(FlaskForm):
    """A machine's name, kind and booking rules (the rule fields come from booking.rules)."""

    RULE_NAMES = tuple(rule.name for rule in EQUIPMENT_RULES)

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, label)
                                            for k, label in KIND_LABELS.items()])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    requires_certification = SelectField(_l("Certification needed"), choices=[])

    def set_certifications(self, certifications: list[Any]) -> None:
        self.requires_certification.choices = [SelectChoice("", _("None"))] + [
            SelectChoice(c.slug, c.name) for c in certifications]

    def rule_fields(self) -> dict[str, Any]:
        """The machine's fields for create_equipment/update_equipment, certification aside."""
        return {"name": self.name.data.strip(), "kind": self.kind.data,
                "description": (self.description.data or "").strip(),
                **{rule.name: self[rule.name].data for rule in EQUIPMENT_RULES
                   if not (rule.kits_only and self[rule.name].data is None)}}


for _rule in EQUIPMENT_RULES:
    setattr(EquipmentForm, _rule.name, _rule_field(_rule))


class OutageForm(FlaskForm):
    from_date = DateField(_l("From date"), validators=[InputRequired(), within_years])
    from_time = StringField(_l("From time"), validators=[clock_text()], render_kw=TIME_INPUT)
    until_date = DateField(_l("Until date (optional)"), validators=[Optional(), within_years],
                           description=_l("Leave empty for “until further notice”."))
    until_time = StringField(_l("Until time"), validators=[clock_text(required=False)],
                             render_kw=TIME_INPUT)
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


class WalkInForm(FlaskForm):
    equipment = SelectField(_l("Machine"), coerce=int, choices=[])
    email = EmailField(_l("The citizen's e-mail address"),
                       validators=[DataRequired(), Email(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    day = DateField(_l("Date"), validators=[InputRequired(), within_years])
    start = StringField(_l("Start time"), validators=[clock_text()], render_kw=TIME_INPUT)
    minutes = IntegerField(_l("Duration (minutes)"), default=60,
                           validators=[InputRequired(), NumberRange(1, 24 * 60)],
                           render_kw={"inputmode": "numeric"})
    quota_override = StringField(
        _l("Reason for booking past the quota"), validators=[Optional(), Length(max=500)],
        description=_l("Only when the person has as many bookings as allowed. It is logged."))

    def period(self, timezone: str) -> tuple[datetime, datetime]:
        start = local_to_utc(self.day.data, self.start.data, timezone)
        return start, start + timedelta(minutes=self.minutes.data)


class GuestBookingForm(FlaskForm):
    """A walk-in without an account: by name (and phone) only."""

    equipment = SelectField(_l("Machine"), coerce=int, choices=[])
    day = DateField(_l("Date"), validators=[InputRequired(), within_years])
    start = StringField(_l("Start time"), validators=[clock_text()], render_kw=TIME_INPUT)
    minutes = SelectField(_l("Duration"), coerce=int, choices=[],
                          validators=[InputRequired()])
    name = StringField(_l("The guest's name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "off"},
                       description=_l("Only the library's staff see it. It is deleted with "
                                      "the booking's other personal data."))
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=40)],
                        render_kw={"autocomplete": "off", "type": "tel"})

    def set_machines(self, machines: list[Equipment], chosen: Equipment | None) -> None:
        self.equipment.choices = [SelectChoice(e.id, e.name) for e in machines]
        machine = chosen or (machines[0] if machines else None)
        self.minutes.choices = ([SelectChoice(m, duration_label(m)) for m in machine.durations]
                                if machine is not None else [])

    def period(self, timezone: str) -> tuple[datetime, datetime]:
        start = local_to_utc(self.day.data, self.start.data, timezone)
        return start, start + timedelta(minutes=self.minutes.data)


class RetireForm(FlaskForm):
    # Its own id: the out-of-service form on the same page has a `reason` too.
    reason = StringField(_l("Why is the machine retired?"), id="retire-reason",
                         validators=[DataRequired(), Length(max=500)],
                         description=_l("People whose coming bookings are cancelled will see "
                                        "it."))


class StaffCancelForm(FlaskForm):
    """Staff cancelling someone's booking say why (the citizen sees it)."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)],
                         description=_l("The citizen will see it."))


KRONER = r"^\s*\d{1,5}([.,]\d{1,2})?\s*$"


class MaterialPriceForm(FlaskForm):
    """The branch's price per unit, per kind of machine that counts material (fields
    `price_<kind>`, in kroner; 0 is free)."""

    def prices_ore(self) -> dict[str, int]:
        """{kind: øre} from the fields."""
        out = {}
        for name, field in self._fields.items():
            if name.startswith("price_"):
                kroner, _sep, ore = field.data.strip().replace(",", ".").partition(".")
                out[name.removeprefix("price_").replace("_", "-")] = (
                    int(kroner) * 100 + int((ore + "00")[:2]))
        return out


def material_price_form(units: dict[Any, Any], prices: dict[Any, int],
                        formdata: Any = None) -> MaterialPriceForm:
    """A price form with one field per kind (labelled with the kind and its unit)."""
    class Form(MaterialPriceForm):
        pass

    for kind, unit in units.items():
        setattr(Form, "price_" + kind.value.replace("-", "_"), StringField(
            _("%(kind)s: kroner per %(unit)s", kind=KIND_LABELS[kind], unit=UNIT_LABELS[unit]),
            validators=[DataRequired(), Regexp(KRONER, message=_(
                "Please give an amount in kroner, e.g. 0 or 1,50."))],
            default=f"{prices.get(kind, 0) / 100:.2f}".replace(".", ","),
            render_kw={"inputmode": "decimal"}))
    return Form(formdata=formdata)


class MaterialPeriodForm(FlaskForm):
    """The period of the accounts CSV (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    first = DateField(_l("From date"), name="from", validators=[InputRequired(), within_years])
    last = DateField(_l("To date"), name="to", validators=[InputRequired(), within_years])

    def validate_last(self, field: DateField) -> None:
        if self.first.data and field.data and field.data < self.first.data:
            raise ValidationError(_("The end must be later than the start."))
        if self.first.data and field.data and (field.data - self.first.data).days > 366:
            raise ValidationError(_("At most a year at a time."))


# -- finding free time ----------------------------------------------------------------------

FIND_DURATIONS = (30, 60, 90, 120, 180, 240)


class FindForm(FlaskForm):
    """The search for free time (GET, no CSRF: it changes nothing). Its names are the API's:
    kind, branch (repeated), date, from, to, duration."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Machine"), default="")
    branch = SelectMultipleField(_l("Libraries"), widget=ListWidget(prefix_label=False),
                                 option_widget=CheckboxInput(), validate_choice=True,
                                 description=_l("None ticked: every library."))
    date = DateField(_l("Date"), validators=[Optional(), within_years])
    earliest = SelectField(_l("From"), name="from", default="")
    latest = SelectField(_l("Until"), name="to", default="")
    duration = SelectField(_l("For how long"), default="")

    def validate_latest(self, field: SelectField) -> None:
        if self.earliest.data and field.data and parse_clock(field.data) <= parse_clock(
                self.earliest.data):
            raise ValidationError(_("The end must be later than the start."))

    def minutes(self) -> int | None:
        return int(self.duration.data) if self.duration.data else None

    def window(self) -> tuple[int, int]:
        """(earliest, latest) minutes after midnight."""
        return (parse_clock(self.earliest.data) if self.earliest.data else 0,
                parse_clock(self.latest.data) if self.latest.data else 24 * 60)


def find_form(branches: Iterable[Any], formdata: Any) -> FindForm:
    """The search form over these branches, filled from the query string."""
    form = FindForm(formdata=formdata)
    form.kind.choices = [("", _("Any machine"))] + [
        (kind.value, str(KIND_LABELS[kind])) for kind in EquipmentKind]
    form.branch.choices = [(b.slug, b.name) for b in branches]
    hours = [format_clock(m * 60) for m in range(25)]
    form.earliest.choices = [("", _("Opening time"))] + [(h, h) for h in hours[:-1]]
    form.latest.choices = [("", _("Closing time"))] + [(h, h) for h in hours[1:]]
    form.duration.choices = [("", _("The machine's shortest booking"))] + [
        (str(m), duration_label(m)) for m in FIND_DURATIONS]
    return form


def prefill_from_request(equipment: Equipment, zone: ZoneInfo) -> dict[str, Any]:
    """A booking form's values from ?start=<ISO moment>&minutes=N (links from the week view
    and from suggestions); on POST only the posted start time, if it lies on the machine's
    grid. The booking form and the wait form both start from these."""
    if request.method == "POST":
        time = request.form.get("start", "")
        return {"start": time} if on_grid(time, equipment.slot_minutes) else {}
    values: dict[str, Any] = {}
    minutes = request.args.get("minutes", type=int)
    values["duration"] = minutes if minutes in equipment.durations else equipment.min_minutes
    try:
        moment = datetime.fromisoformat(request.args.get("start", ""))
        local = moment.astimezone(zone) if moment.tzinfo else moment
    except (ValueError, OverflowError):
        return values
    time = f"{local.hour:02d}:{local.minute:02d}"
    if on_grid(time, equipment.slot_minutes):
        values.update(date=local.date(), start=time)
    return values


def on_grid(time: str, step: int) -> bool:
    try:
        minutes = parse_clock(time)
    except DomainError:
        return False
    return minutes < 24 * 60 and minutes % step == 0
