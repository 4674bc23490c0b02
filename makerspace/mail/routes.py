"""The outbox for county admins: what was sent, what waits, what failed, and "Retry now"."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from makerspace import clock
from makerspace.auth import admin_required
from makerspace.core.forms import EmptyForm
from makerspace.core.pagination import requested_page
from makerspace.mail import services
from makerspace.mail.links import with_link
from makerspace.mail.messages import preview
from makerspace.mail.models import OutboxStatus

bp = Blueprint("mail", __name__)

STATUS_NAMES = {OutboxStatus.PENDING: _l("Waiting"), OutboxStatus.SENT: _l("Sent"),
                OutboxStatus.FAILED: _l("Failed")}
# What each kind of message is, in words (the key stays beside it for those who search).
KIND_NAMES = {
    "booking_confirmed": _l("Booking confirmation"),
    "booking_cancelled_by_staff": _l("Booking cancelled by the library"),
    "booking_out_of_service": _l("Booking cancelled: machine out of service"),
    "reminder_booking": _l("Booking reminder"),
    "slot_held": _l("A time waited for is held"),
    "no_show_block": _l("Blocked from booking (no-shows)"),
    "signup_confirmed": _l("Course seat confirmed"),
    "signup_waitlisted": _l("On the course waitlist"),
    "signup_promoted": _l("Seat from the waitlist"),
    "reminder_signup": _l("Course reminder"),
    "event_cancelled": _l("Course cancelled"),
    "course_message": _l("Message to a course"),
    "password_reset": _l("Password reset"),
    "email_verification": _l("Confirm e-mail address"),
    "registration_attempt": _l("Registration with an existing address"),
    "staff_invitation": _l("Staff invitation"),
}


@bp.get("/admin/outbox")
@admin_required
def outbox():  # type: ignore[no-untyped-def]
    status = request.args.get("status")
    if status is not None and status not in {s.value for s in OutboxStatus}:
        abort(404)
    messages = services.list_messages(status=OutboxStatus(status) if status else None,
                                      page=requested_page())
    return render_template("admin/outbox.html", messages=messages, status=status,
                           counts=services.status_counts(), status_names=STATUS_NAMES,
                           kind_names=KIND_NAMES,
                           configured=services.mail_configured(), form=EmptyForm())


@bp.get("/admin/outbox/<id:message_id>")
@admin_required
def message(message_id: int):  # type: ignore[no-untyped-def]
    found = services.message_by_id(message_id)
    note = _("[a personal link, made when the message is sent]")
    text_body, html_body, files = preview(found)
    return render_template("admin/outbox.html", message=found,
                           text_body=with_link(text_body, note),
                           html_body=with_link(html_body, note),
                           unwritten_files=files if found.text_body is None else [],
                           status_names=STATUS_NAMES, configured=services.mail_configured(),
                           kind_names=KIND_NAMES, form=EmptyForm())


@bp.get("/admin/outbox/<id:message_id>/files/<id:attachment_id>")
@admin_required
def attachment(message_id: int, attachment_id: int):  # type: ignore[no-untyped-def]
    found = services.attachment_of(services.message_by_id(message_id), attachment_id)
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/admin/outbox/<id:message_id>/retry")
@admin_required
def retry(message_id: int):  # type: ignore[no-untyped-def]
    found = services.message_by_id(message_id)
    if EmptyForm().validate_on_submit():
        services.retry_message(found, clock.now())
        flash(_("The message will be sent on the next run of the sender."), "success")
    return redirect(url_for("mail.message", message_id=message_id))
