"""The monthly statistics summary for admins who asked for it, queued by `flask tick`."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from makerspace import clock
from makerspace.branches.models import Branch
from makerspace.core.urls import absolute_url
from makerspace.extensions import db
from makerspace.mail.services import queue_message, recipient_context, recipient_locale
from makerspace.stats import services, summary
from makerspace.stats.tables import cell_text, month_label


def queue_monthly_summaries(now: datetime | None = None) -> int:
    """Once a month, after it ends: the month's figures per branch and for the county to
    each subscribed admin, in their language. Returns how many messages were queued."""
    now = now or clock.now()
    period = summary.month_due(now)
    if period is None:
        return 0
    people = summary.subscribers()
    queued = 0
    if people:
        branches = list(db.session.scalars(select(Branch).order_by(Branch.name)))
        names = {b.slug: b.name for b in branches}
        rows = [(names[f.key["branch"]], f) for f in services.usage(branches, period,
                                                                     ["branch"])]
        totals = services.usage(branches, period, [])
        for person in people:
            with recipient_context(recipient_locale(person)):
                link = absolute_url("stats.index", period="month", day=period.first.isoformat())
                month = month_label(f"{period.first:%Y-%m}")
                queue_message(kind="stats_summary", user=person,
                              subject=_l("Folkeverksted in %(month)s", month=month),
                              context={"month": month, "rows": rows,
                                       "total": totals[0] if totals else None, "link": link,
                                       "fmt": cell_text})
            queued += 1
    summary.mark_sent(period, now)
    return queued
