"""What the pages call weekdays and public holidays, and how they write a time of day."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from makerspace.branches.hours import WEEKDAYS, format_clock, public_holiday

WEEKDAY_LABELS = {
    "mon": _l("Monday"), "tue": _l("Tuesday"), "wed": _l("Wednesday"), "thu": _l("Thursday"),
    "fri": _l("Friday"), "sat": _l("Saturday"), "sun": _l("Sunday"),
}


def holiday_name(day: date) -> str | None:
    """The public holiday on that date in the page's language (English for en, else
    Norwegian)."""
    return public_holiday(day, str(get_locale()))


def weekday_names() -> list[tuple[str, str]]:
    """[("mon", "Monday"), …] in the page's language (Babel's names, Monday first)."""
    names = get_day_names("wide", "stand-alone", locale=get_locale())
    return [(key, names[index]) for index, key in enumerate(WEEKDAYS)]


TEMPLATE_GLOBALS: dict[str, Any] = {
    "weekday_labels": WEEKDAY_LABELS, "holiday_name": holiday_name,
    "format_clock": format_clock, "weekday_names": weekday_names,
}
