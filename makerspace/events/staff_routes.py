"""The desk's side of a course: everyone present at once, someone added at the door, a seat
out of turn, the attendee list as CSV, and an e-mail to everyone with a seat."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from makerspace.auth import known_person_by_email, managed_or_404, not_known_here, staff_required
from makerspace.core.forms import EmptyForm
from makerspace.core.transaction import attempt
from makerspace.events import services
from makerspace.events.models import Event, SignupStatus

bp = Blueprint("events_staff", __name__, url_prefix="/staff/events")


def _event(event_id: int) -> Event:
    event = services.event_by_id(event_id)  # EventNotFound is a 404
    managed_or_404(event.branch)
    return event


def _back(event_id: int, anchor: str = "confirmed"):  # type: ignore[no-untyped-def]
    return redirect(url_for("events.attendees", event_id=event_id, _anchor=anchor))


def _checked() -> bool:
    if EmptyForm().validate_on_submit():
        return True
    flash(_("The form had expired. Please try again."), "error")
    return False


@bp.post("/<id:event_id>/all-present")
@staff_required
def all_present(event_id: int):  # type: ignore[no-untyped-def]
    event = _event(event_id)
    if _checked():
        done = attempt(lambda: services.mark_all_present(event, by=current_user))
        flash(done.message or ngettext("%(num)d more person is marked as attended.",
                                       "%(num)d more people are marked as attended.",
                                       done.value or 0),
              "error" if done.refused else "success")
    return _back(event_id)


@bp.post("/<id:event_id>/door")
@staff_required
def at_door(event_id: int):  # type: ignore[no-untyped-def]
    event = _event(event_id)
    if not _checked():
        return _back(event_id, "door")
    email = (request.form.get("email") or "").strip()[:254]
    person = known_person_by_email(current_user, email) if email else None
    if person is None:
        flash(not_known_here(), "error")
        return _back(event_id, "door")
    reason = (request.form.get("reason") or "")[:500]
    done = attempt(lambda: services.add_at_door(event, person=person, by=current_user,
                                                reason=reason))
    flash(done.message or _("%(name)s has a seat.", name=person.name),
          "error" if done.refused else "success")
    return _back(event_id, "door" if done.refused else "confirmed")


@bp.post("/<id:event_id>/signups/<id:signup_id>/seat")
@staff_required
def seat(event_id: int, signup_id: int):  # type: ignore[no-untyped-def]
    event = _event(event_id)
    signup = services.signup_visible_to(signup_id, current_user)
    if signup.event_id != event.id:
        abort(404)
    if _checked():
        reason = (request.form.get("reason") or "")[:500]
        done = attempt(lambda: services.give_seat_out_of_turn(signup, by=current_user,
                                                              reason=reason))
        flash(done.message or _("The seat is given; the person gets an e-mail."),
              "error" if done.refused else "success")
    return _back(event_id, "waitlist")


@bp.post("/<id:event_id>/message")
@staff_required
def message(event_id: int):  # type: ignore[no-untyped-def]
    event = _event(event_id)
    if _checked():
        done = attempt(lambda: services.message_participants(
            event, subject=(request.form.get("subject") or "")[:150],
            body=(request.form.get("body") or "")[:5000], by=current_user))
        flash(done.message or ngettext("The message goes to %(num)d person.",
                                       "The message goes to %(num)d people.", done.value or 0),
              "error" if done.refused else "success")
    return _back(event_id, "message")


@bp.get("/<id:event_id>/attendees.csv")
@staff_required
def attendees_csv(event_id: int):  # type: ignore[no-untyped-def]
    event = _event(event_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Name"), _("E-mail"), _("Status"), _("Attended")])
    for s in services.attendees(event):
        status = _("Confirmed") if s.status == SignupStatus.CONFIRMED else _("Waitlist")
        writer.writerow([_safe(s.user.name if s.user else ""),
                         _safe(s.user.email if s.user else ""), status,
                         s.attended_at.isoformat() if s.attended_at else ""])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="course-{event.id}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
