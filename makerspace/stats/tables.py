"""The statistics page's tables, one definition each: the page, its charts and the CSV files
show the same numbers because they are all made from these.

A table is headers (with a kind per column, which says how a value is written) and rows of
plain values; `cell_text` writes a value for the page, `csv_bytes` for a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from makerspace.booking.labels import KIND_LABELS
from makerspace.booking.models import EquipmentKind
from makerspace.branches.models import Branch
from makerspace.stats import services
from makerspace.stats.charts import Bar, bar_chart, heat_map, line_chart
from makerspace.stats.services import Figures, Period

WEEKDAY_LABELS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
                  _l("Saturday"), _l("Sunday"))
AGE_BAND_LABELS = {"under-16": _l("Under 16"), "16-25": _l("16–25"), "26-66": _l("26–66"),
                   "67+": _l("67 and over"), None: _l("Unknown")}


@dataclass(frozen=True)
class Column:
    header: Any
    kind: str = "int"  # text, int, hours, amount, ratio, people


@dataclass
class Table:
    name: str  # also the CSV file's name
    caption: Any
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    total: list[Any] | None = None  # a last row, set apart (the county, all branches)


def _locale() -> str:
    return str(get_locale() or "nb")


def cell_text(value: Any, kind: str, *, for_csv: bool = False) -> str:
    """A value as written on the page (or in a CSV file): people below the limit as "< 5"
    ("<5" in CSV), ratios as percentages, no value as a dash (empty in CSV)."""
    if value is None:
        return "" if for_csv else "–"
    if isinstance(value, str) and value.startswith("<"):
        return value if for_csv else f"< {value[1:]}"
    if kind == "month":
        return value if for_csv else month_label(value)
    locale = _locale()
    if kind == "ratio":
        if for_csv:
            return format_decimal(value * 100, "0.#", locale=locale)
        return format_percent(value, "#,##0.#\u00a0%", locale=locale)
    if kind == "hours":
        return format_decimal(value, "0.##" if for_csv else "#,##0.#", locale=locale)
    if kind == "amount":
        return format_decimal(value, "0.###" if for_csv else "#,##0.#", locale=locale)
    if kind in ("int", "people"):
        return format_decimal(value, "0" if for_csv else "#,##0", locale=locale)
    return str(value)


def csv_bytes(table: Table, period: Period) -> bytes:
    """The table as CSV for Norwegian spreadsheets: UTF-8 with a byte-order mark, `;`
    between fields, the period in ISO dates in the first two columns."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([str(_l("From")), str(_l("To"))]
                    + [_csv_header(c) for c in table.columns])
    for row in [*table.rows, *([table.total] if table.total else [])]:
        writer.writerow([period.first.isoformat(), period.last.isoformat()]
                        + [cell_text(v, c.kind, for_csv=True)
                           for v, c in zip(row, table.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_header(column: Column) -> str:
    return f"{column.header} (%)" if column.kind == "ratio" else str(column.header)


# -- the tables --------------------------------------------------------------------------------

USAGE_COLUMNS = [
    Column(_l("Bookings")), Column(_l("Booked hours"), "hours"),
    Column(_l("Bookable hours"), "hours"), Column(_l("Utilisation"), "ratio"),
    Column(_l("Checked in"), "ratio"), Column(_l("No-shows")), Column(_l("No-show rate"), "ratio"),
    Column(_l("Cancelled by the citizen")), Column(_l("Cancelled by staff")),
    Column(_l("Cancelled: out of service")), Column(_l("Distinct citizens"), "people"),
    Column(_l("First-time users"), "people"), Column(_l("Bookings without an account")),
]


def _usage_cells(f: Figures) -> list[Any]:
    return [f.bookings, f.booked_hours, f.bookable_hours, f.utilisation, f.checked_in_rate,
            f.no_shows, f.no_show_rate, f.cancelled_by_citizen, f.cancelled_by_staff,
            f.cancelled_out_of_service, f.shown("distinct_citizens"), f.shown("first_time"),
            f.without_account]


def _total_label(branches: Sequence[Branch], everything: bool) -> Any:
    return _l("The whole county") if everything else _l("All your libraries")


@dataclass
class Report:
    period: Period
    branches: list[Branch]
    tables: dict[str, Table]
    total: Figures
    heat: list[list[int]]
    hours: list[int]
    trend: list[dict[str, Any]]
    machines: list[dict[str, Any]]


def build_report(branches: Sequence[Branch], period: Period, *, everything: bool) -> Report:
    """Every table of the page for the period (`everything`: the caller sees all branches)."""
    names = {b.slug: b.name for b in branches}
    total_label = _total_label(branches, everything)
    per_branch = services.usage(branches, period, ["branch"])
    per_kind = services.usage(branches, period, ["kind"])
    totals = services.usage(branches, period, [])
    total = totals[0] if totals else Figures(key={})
    tables: dict[str, Table] = {}
    tables["branches"] = Table("branches", _l("Per library"),
                               [Column(_l("Library"), "text"), *USAGE_COLUMNS],
                               [[names[f.key["branch"]], *_usage_cells(f)] for f in per_branch],
                               [total_label, *_usage_cells(total)])
    tables["kinds"] = Table("kinds", _l("Per kind of machine"),
                            [Column(_l("Kind of machine"), "text"), *USAGE_COLUMNS],
                            [[str(KIND_LABELS[EquipmentKind(f.key["kind"])]), *_usage_cells(f)]
                             for f in per_kind],
                            [total_label, *_usage_cells(total)])
    trend = services.monthly_trend(branches, period)
    tables["months"] = Table("months", _l("Month by month, against the year before"), [
        Column(_l("Month"), "month"), Column(_l("Bookings")), Column(_l("Booked hours"), "hours"),
        Column(_l("Utilisation"), "ratio"), Column(_l("Bookings a year before")),
        Column(_l("Booked hours a year before"), "hours")],
        [[r["month"], r["bookings"], r["booked_hours"], r["utilisation"],
          r["bookings_year_before"], r["booked_hours_year_before"]] for r in trend])
    heat = services.week_heat_map(branches, period)
    used = [h for h in range(24) if any(day[h] for day in heat)]
    hours = list(range(min([8, *used]), max([20, *used]) + 1))
    tables["week"] = Table("week", _l("Bookings by weekday and starting hour"),
                           [Column(_l("Weekday"), "text"),
                            *(Column(f"{h:02d}") for h in hours)],
                           [[str(WEEKDAY_LABELS[d]), *(heat[d][h] for h in hours)]
                            for d in range(7)])
    machines = services.machine_usage(branches, period)
    tables["machines"] = Table("machines", _l("Machines, most used first"), [
        Column(_l("Machine"), "text"), Column(_l("Library"), "text"),
        Column(_l("Kind of machine"), "text"), Column(_l("Booked hours"), "hours"),
        Column(_l("Utilisation"), "ratio")],
        [[m["name"], m["branch"], str(KIND_LABELS[EquipmentKind(m["kind"])]),
          m["booked_hours"], m["utilisation"]] for m in machines])
    tables["ages"] = Table("ages", _l("Distinct citizens by age band"), [
        Column(_l("Age band"), "text"), Column(_l("Distinct citizens"), "people")],
        [[str(AGE_BAND_LABELS[r["band"]]), r["distinct_citizens"]]
         for r in services.age_bands(branches, period)])
    courses = services.course_figures(branches, period)
    tables["courses"] = Table("courses", _l("Courses"), [
        Column(_l("Library"), "text"), Column(_l("Courses held")),
        Column(_l("Seats offered")), Column(_l("Seats taken")), Column(_l("Attended")),
        Column(_l("Attendance"), "ratio"), Column(_l("Left on the waitlist")),
        Column(_l("Certifications through courses"))],
        [_course_cells(r, r["branch"]) for r in courses[:-1]],
        _course_cells(courses[-1], total_label) if courses else None)
    tables["jobs"] = Table("jobs", _l("Jobs and material per library and month"), [
        Column(_l("Library"), "text"), Column(_l("Month"), "month"),
        Column(_l("Material (grams)"), "amount"), Column(_l("Material (metres)"), "amount"),
        Column(_l("Material (sheets)"), "amount"), Column(_l("Jobs ended")),
        Column(_l("Failed jobs")), Column(_l("Failed-job rate"), "ratio")],
        [[names[r["branch"]], r["month"], r["grams"], r["metres"], r["sheets"], r["ended"],
          r["failed"], r["failed_rate"]]
         for r in sorted(services.job_figures(branches, period),
                         key=lambda r: (names[r["branch"]], r["month"]))])
    return Report(period, list(branches), tables, total, heat, hours, trend, machines)


def _course_cells(row: dict[str, Any], label: Any) -> list[Any]:
    rate = row["attended"] / row["signups"] if row["signups"] else None
    return [label, row["held"], row["seats"], row["signups"], row["attended"],
            round(rate, 4) if rate is not None else None, row["waitlisted"], row["certified"]]


TABLE_NAMES = ("branches", "kinds", "months", "week", "machines", "ages", "courses", "jobs")


def month_label(month: str, *, short: bool = False) -> str:
    """"2025-03" as "mars 2025" (short: "mar. 25") in the page's language."""
    year, number = int(month[:4]), int(month[5:])
    return format_date(date(year, number, 1), "LLL yy" if short else "LLLL yyyy",
                       locale=_locale())



# -- the charts, from the same tables ------------------------------------------------------------

def charts_for(report: Report) -> dict[str, Any]:
    """The page's charts, each with a sentence that says what it shows."""
    branches = report.tables["branches"]
    bars = [Bar(row[0], row[4] or 0, cell_text(row[4], "ratio")) for row in branches.rows]
    top = max(branches.rows, key=lambda r: r[4] or 0, default=None)
    utilisation = bar_chart(
        "chart-branches", str(_l("Utilisation per library")),
        str(_l("Bars of booked hours as a share of bookable hours, per library.")) + " "
        + (str(_l("Highest: %(name)s, %(value)s.", name=top[0], value=cell_text(top[4],
                                                                                "ratio")))
           if top else ""), bars)
    kinds = report.tables["kinds"]
    kind_bars = [Bar(row[0], row[2] or 0, cell_text(row[2], "hours")) for row in kinds.rows]
    per_kind = bar_chart("chart-kinds", str(_l("Booked hours per kind of machine")),
                         str(_l("Bars of booked hours, one per kind of machine.")), kind_bars)
    labels = [month_label(r["month"], short=True) for r in report.trend]
    now_total = sum(r["bookings"] for r in report.trend)
    before_total = sum(r["bookings_year_before"] for r in report.trend)
    trend = line_chart(
        "chart-months", str(_l("Bookings month by month")),
        str(_l("Two lines: bookings per month in the period (%(now)s in all) and in the same "
               "months a year before (%(before)s in all).", now=cell_text(now_total, "int"),
               before=cell_text(before_total, "int"))),
        labels, [(str(_l("This period")), [r["bookings"] for r in report.trend]),
                 (str(_l("A year before")), [r["bookings_year_before"] for r in report.trend])])
    busiest = max(((d, h) for d in range(7) for h in report.hours),
                  key=lambda dh: report.heat[dh[0]][dh[1]], default=None)
    busiest_text = (str(_l("Busiest: %(day)s at %(hour)s.", day=WEEKDAY_LABELS[busiest[0]],
                           hour=f"{busiest[1]:02d}")) if busiest
                    and report.heat[busiest[0]][busiest[1]] else "")
    week = heat_map("chart-week", str(_l("Busiest hours of the week")),
                    str(_l("A grid of weekdays and starting hours; darker cells had more "
                           "bookings.")) + " " + busiest_text,
                    [str(d)[:3] for d in WEEKDAY_LABELS], report.heat, report.hours)
    return {"branches": utilisation, "kinds": per_kind, "months": trend, "week": week}
