"""The statistics page and its CSV downloads (admins: every branch; librarians: theirs), and
an admin's choice to get the monthly summary by e-mail."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from makerspace import clock
from makerspace.auth import admin_required, staff_required
from makerspace.core.forms import EmptyForm
from makerspace.core.transaction import attempt
from makerspace.stats import services, tables
from makerspace.stats.summary import is_subscribed, set_subscription

bp = Blueprint("stats", __name__, url_prefix="/staff/statistics")


def _period():  # type: ignore[no-untyped-def]
    args = request.args
    return attempt(lambda: services.chosen_period(
        args.get("period"), args.get("day"), args.get("from"), args.get("to"),
        clock.now().astimezone(services.COUNTY_ZONE).date()))


@bp.get("/")
@staff_required
def index():  # type: ignore[no-untyped-def]
    chosen = _period()
    kind, period = chosen.value or ("month", services.period_of("month", clock.now().date()))
    report = tables.build_report(services.branches_for(current_user), period,
                                 everything=current_user.is_admin)
    return render_template(
        "stats/index.html", report=report, kind=kind, problem=chosen.refusal,
        charts=tables.charts_for(report),
        args={k: v for k, v in request.args.items() if k in ('period', 'day', 'from', 'to')},
        subscribed=current_user.is_admin and is_subscribed(current_user),
        form=EmptyForm(), cell_text=tables.cell_text,
        min_count=services.min_count()), 422 if chosen.refusal else 200


@bp.get("/table.csv")
@staff_required
def download():  # type: ignore[no-untyped-def]
    name, chosen = request.args.get("table", ""), _period()
    if name not in tables.TABLE_NAMES or chosen.refusal:
        abort(404)
    _kind, period = chosen.value
    report = tables.build_report(services.branches_for(current_user), period,
                                 everything=current_user.is_admin)
    filename = f"folkeverksted-{name}-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(tables.csv_bytes(report.tables[name], period),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/summary")
@admin_required
def summary():  # type: ignore[no-untyped-def]
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    wanted = request.form.get("wanted") == "yes"
    set_subscription(current_user, wanted)
    flash(_("You will get the monthly summary by e-mail.") if wanted
          else _("You will no longer get the monthly summary."), "success")
    return redirect(url_for("stats.index"))
