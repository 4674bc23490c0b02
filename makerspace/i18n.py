"""Language choice and locale-aware formatting in a branch's time zone."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import current_app, g, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_login import current_user

LANGUAGE_COOKIE = "lang"
# Each language named in itself, so a person finds their own whatever the page is in.
LANGUAGE_NAMES = {"nb": "Norsk bokmål", "nn": "Norsk nynorsk", "en": "English"}
# Browsers say "no" (Norwegian) as often as "nb"; both mean Bokmål here.
_ACCEPT_ALIASES = {"no": "nb"}


def select_locale() -> str:
    """The person's saved choice, else the language cookie, else the browser's, else nb."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # command line, background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.blueprint == "embed":
        # The embedding page says its language (?lang=nb); nothing is stored, and the
        # reader's log-in on our site is not asked (no cookie travels into an iframe).
        asked = request.args.get("lang", "")
        if asked in languages:
            return asked
        best = request.accept_languages.best_match([*languages, *_ACCEPT_ALIASES])
        return _ACCEPT_ALIASES.get(best, best) if best else current_app.config[
            "BABEL_DEFAULT_LOCALE"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in languages:
        return cookie
    best = request.accept_languages.best_match([*languages, *_ACCEPT_ALIASES])
    if best:
        return _ACCEPT_ALIASES.get(best, best)
    return current_app.config["BABEL_DEFAULT_LOCALE"]


# How dates, times and numbers are written per page language. English pages are read in
# Norway: CLDR's en_NO writes a 24-hour clock and the day before the month ("2 Dec 2026,
# 16:30"), not the US "Dec 2, 2026, 4:30 PM" of plain "en".
FORMAT_LOCALES = {"en": "en_NO"}


def format_locale() -> str:
    """The Babel locale for formatting in the page's language (en → en_NO)."""
    language = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    return FORMAT_LOCALES.get(language, language)


def _zone(tz: str | None) -> ZoneInfo:
    return ZoneInfo(tz or current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_datetime(value: datetime, tz: str | None = None, fmt: str = "medium") -> str:
    """Format a UTC datetime in the given zone (a branch's) and the page's language."""
    return babel_dates.format_datetime(value, fmt, tzinfo=_zone(tz), locale=format_locale())


def local_date(value: datetime | date, tz: str | None = None, fmt: str = "medium") -> str:
    """Format the date of a moment (as seen in the zone), or a plain date."""
    if isinstance(value, datetime):
        value = value.astimezone(_zone(tz)).date()
    return _date_text(value, fmt, format_locale())


def local_time(value: datetime, tz: str | None = None, fmt: str = "short") -> str:
    """Format the time of day of a moment in the zone."""
    if fmt not in _WALL_CLOCK_FORMATS:  # "long" and "full" name the zone
        return babel_dates.format_time(value, fmt, tzinfo=_zone(tz), locale=format_locale())
    return _time_text(value.astimezone(_zone(tz)).time(), fmt, format_locale())


# A week page formats a hundred slot times, nearly all of them seen before: Babel is asked
# once per distinct (date or wall-clock time, format, language).
_WALL_CLOCK_FORMATS = {"short", "medium"}


@lru_cache(maxsize=4096)
def _date_text(day: date, fmt: str, locale: str) -> str:
    return babel_dates.format_date(day, fmt, locale=locale)


@lru_cache(maxsize=4096)
def _time_text(wall: time, fmt: str, locale: str) -> str:
    return babel_dates.format_time(wall, fmt, locale=locale)


def _translations():  # type: ignore[no-untyped-def]
    """Flask-Babel's translations for this request, kept beside the locale they are for: a
    `refresh()` or `force_locale()` replaces the locale object, and they are looked up anew."""
    state = g.get("_flask_babel") if g else None
    if state is not None:
        kept = getattr(state, "kept_translations", None)
        locale = getattr(state, "babel_locale", None)
        if kept is not None and locale is not None and kept[0] is locale:
            return kept[1]
    translations = get_translations()
    state = g.get("_flask_babel") if g else None
    if state is not None and getattr(state, "babel_locale", None) is not None:
        state.kept_translations = (state.babel_locale, translations)
    return translations


def kroner(ore: int) -> str:
    """An amount in øre as Norwegian kroner in the page's language ("kr 12,50")."""
    return babel_numbers.format_currency(Decimal(ore) / 100, "NOK", locale=format_locale())


def amount(value: float) -> str:
    """A measured amount (grams, metres) in the page's language, at most 3 decimals."""
    return babel_numbers.format_decimal(round(value, 3), locale=format_locale())


def register_template_helpers(app) -> None:  # type: ignore[no-untyped-def]
    app.add_template_filter(kroner, "kroner")
    app.add_template_filter(amount, "amount")
    app.add_template_filter(local_datetime, "localdatetime")
    app.add_template_filter(local_date, "localdate")
    app.add_template_filter(local_time, "localtime")
    # A value for a query string as url_for writes it ("+" as %2B, ":" kept), for links
    # built in a loop from one url_for.
    app.add_template_filter(lambda value: quote(str(value), safe=":"), "queryvalue")
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.add_template_filter(
        lambda path: current_app.config["BASE_URL"].rstrip("/") + path, "external")

    # The page's gettext: the translations looked up once per request and language, not
    # through Flask-Babel's three context lookups per string (a page asks for 30 to 300).
    app.jinja_env.install_gettext_callables(
        lambda s: _translations().ugettext(s),
        lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n))

    @app.context_processor
    def locale_context() -> dict[str, str]:
        return {"current_locale": str(get_locale())}
