"""Booking forms and the labels the booking pages show."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from makerspace.booking.models import BookingStatus, Equipment, EquipmentKind
from makerspace.branches.hours import format_clock, parse_clock, public_holiday
from makerspace.core.forms import EmptyForm

KIND_LABELS = {
    EquipmentKind.PRINTER_3D: _l("3D printer"),
    EquipmentKind.LASER_CUTTER: _l("Laser cutter"),
    EquipmentKind.VR_KIT: _l("VR headset"),
    EquipmentKind.VINYL_CUTTER: _l("Vinyl cutter"),
    EquipmentKind.SEWING_MACHINE: _l("Sewing machine"),
    EquipmentKind.PODCAST_STUDIO: _l("Podcast studio"),
    EquipmentKind.DIGITISATION_STATION: _l("Digitisation station"),
    EquipmentKind.OTHER: _l("Other equipment"),
}

STATUS_LABELS = {
    BookingStatus.CONFIRMED: _l("Confirmed"),
    BookingStatus.CHECKED_IN: _l("Checked in"),
    BookingStatus.COMPLETED: _l("Completed"),
    BookingStatus.CANCELLED: _l("Cancelled"),
    BookingStatus.NO_SHOW: _l("No-show"),
}

SLOT_LABELS = {
    "free": _l("Free"),
    "busy": _l("Booked"),
    "past": _l("Past"),
    "closed": _l("Not bookable yet"),
    "short": _l("Too short a gap"),
}


def holiday_name(day: date) -> str | None:
    """The public holiday on that date in the page's language (English for en, else
    Norwegian)."""
    return public_holiday(day, str(get_locale()))


def duration_label(minutes: int) -> str:
    """90 -> '1 h 30 min' (in the page's language)."""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest)
    if hours:
        return _("%(hours)s h", hours=hours)
    return _("%(minutes)s min", minutes=rest)


def durations(equipment: Equipment) -> list[int]:
    """The booking lengths the machine allows, in minutes."""
    step = equipment.slot_minutes
    return list(range(equipment.min_minutes, equipment.max_minutes + 1, step))


def start_times(step: int, weekly: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Grid times (HH:MM) between the earliest opening and the latest closing of the week;
    the whole day when the branch has no weekly hours."""
    intervals = [(parse_clock(o), parse_clock(c)) for pairs in weekly.values() for o, c in pairs]
    first = min((o for o, _c in intervals), default=0)
    last = max((c for _o, c in intervals), default=24 * 60)
    first = -(-first // step) * step
    return [format_clock(m) for m in range(first, last - step + 1, step)]


EARLIEST, LATEST = date(2000, 1, 1), date(9000, 1, 1)  # beyond these, time arithmetic overflows


class BookingForm(FlaskForm):
    date = DateField(_l("Date"), validators=[InputRequired()])
    start = SelectField(_l("Start time"), validators=[DataRequired()])
    duration = SelectField(_l("Duration"), coerce=int, validators=[InputRequired()])

    def validate_date(self, field: DateField) -> None:
        if field.data is not None and not EARLIEST <= field.data <= LATEST:
            raise ValidationError(_("Choose a date in the coming weeks."))


def booking_form(equipment: Equipment, times: Iterable[str], extra_time: str | None = None,
                 **data: object) -> BookingForm:
    """A booking form with the machine's start times and durations as choices."""
    form = BookingForm(**data)
    choices = list(times)
    if extra_time and extra_time not in choices:  # a suggestion outside the usual week
        choices = sorted([*choices, extra_time])
    form.start.choices = [(t, t) for t in choices]
    form.duration.choices = [(m, duration_label(m)) for m in durations(equipment)]
    return form


class CancelForm(EmptyForm):
    reason = TextAreaField(
        _l("Reason"), validators=[Optional(), Length(max=500)],
        description=_l("Required when you cancel someone else's booking; they will see it."))
