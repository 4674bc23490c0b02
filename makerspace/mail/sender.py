"""Sending the outbox over SMTP: `flask send-mail` and `flask tick` call `send_due`.

1. Claim: in a short transaction of its own, the sender leases up to `limit` due messages
   (pending, next attempt due, no live lease) by writing `claimed_until`/`claimed_by`, and
   commits. On PostgreSQL the rows are read with `FOR UPDATE SKIP LOCKED`, so a second sender
   running at the same moment skips them instead of waiting; on SQLite the claim transaction
   starts with BEGIN IMMEDIATE (see makerspace.database), so claims are serialised.
2. Send each message, then record the outcome (sent, or a failed attempt with a backoff) in
   its own short transaction, only while the lease is still ours.

A sender that dies mid-way leaves its leases to expire (MAIL_CLAIM_SECONDS); the messages are
then claimed again. Only a crash between the SMTP server accepting a message and the "sent"
mark being written can deliver a message twice; nothing can lose one.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, or_, select, update

from makerspace import clock
from makerspace.extensions import db
from makerspace.mail.links import LinkGone, make_link, with_link
from makerspace.mail.messages import NothingToWrite, write
from makerspace.mail.models import OutboxMessage, OutboxStatus

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
CLAIM_SECONDS = 300
SMTP_TIMEOUT = 30


@dataclass
class SendReport:
    configured: bool = True
    claimed: int = 0
    sent: int = 0
    retrying: int = 0  # failed this time, will be tried again
    failed: int = 0  # gave up: status failed, shown to admins
    pending: int = 0  # left in the outbox (when nothing was sent)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.configured:
            return (f"send-mail: MAIL_SERVER is not set; nothing sent, {self.pending} "
                    "message(s) pending in the outbox (see /admin/outbox).")
        return (f"send-mail: {self.sent} sent, {self.retrying} to retry, "
                f"{self.failed} failed for good (of {self.claimed} due).")


def _config(name: str, default: Any = None) -> Any:
    value = current_app.config.get(name)
    return default if value is None or value == "" else value


def retry_delay(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 30 s, 1 min, 2 min, … at most an hour."""
    seconds = FIRST_RETRY.total_seconds() * 2 ** max(attempts - 1, 0)
    return min(timedelta(seconds=seconds), LONGEST_RETRY)


def sender_address() -> str:
    default = f"Folkeverksted <ikke-svar@{urlsplit(current_app.config['BASE_URL']).hostname}>"
    return str(_config("MAIL_DEFAULT_SENDER", default))


def build_mime(message: OutboxMessage, *, sender: str, now: datetime,
               link: str | None = None) -> EmailMessage:
    """Text and HTML alternatives; inline images (cid) related to the HTML; other files
    (the .ics) attached; `link` in place of the secret-link placeholder."""
    mime = EmailMessage()
    mime["Subject"] = message.subject
    mime["From"] = sender
    mime["To"] = Address(display_name=message.to_name, addr_spec=message.to_email)
    mime["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "folkeverksted"
    # Stable across retries, so a receiving server that saw it once can drop a duplicate.
    mime["Message-ID"] = (f"<outbox-{message.id}.{int(message.created_at.timestamp())}"
                          f"@{domain}>")
    mime["Auto-Submitted"] = "auto-generated"
    text_body, html_body = message.text_body, message.html_body
    if text_body is None or html_body is None:
        raise ValueError(f"message {message.id} is not written yet (mail.messages.write)")
    if link is not None:
        text_body, html_body = with_link(text_body, link), with_link(html_body, link)
    mime.set_content(text_body)
    mime.add_alternative(html_body, subtype="html")
    inline = [a for a in message.attachments if a.content_id]
    files = [a for a in message.attachments if not a.content_id]
    if inline:
        html_part = mime.get_payload()[1]
        for attachment in inline:
            maintype, _, subtype = attachment.content_type.partition("/")
            html_part.add_related(attachment.data, maintype, subtype,
                                  cid=f"<{attachment.content_id}>",
                                  filename=attachment.filename, disposition="inline")
    for attachment in files:
        maintype, _, subtype = attachment.content_type.partition("/")
        params = {"charset": "utf-8"} if maintype == "text" else None
        mime.add_attachment(attachment.data, maintype, subtype,
                            filename=attachment.filename, params=params)
    mime["Content-Language"] = message.locale  # after the body: set_content drops Content-*
    return mime


class _Smtp:
    """One SMTP connection for a run, opened on first use and again after it drops."""

    def __init__(self) -> None:
        self.connection: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        host = _config("MAIL_SERVER")
        port = int(_config("MAIL_PORT", 25))
        timeout = float(_config("MAIL_TIMEOUT", SMTP_TIMEOUT))
        context = ssl.create_default_context()
        if _config("MAIL_USE_SSL", False):
            connection: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                                        context=context)
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
            if _config("MAIL_USE_TLS", False):
                connection.starttls(context=context)
        username = _config("MAIL_USERNAME")
        if username:
            connection.login(username, _config("MAIL_PASSWORD", ""))
        return connection

    def send(self, mime: EmailMessage, to_email: str) -> None:
        if self.connection is None:
            self.connection = self._open()
        try:
            self.connection.send_message(mime, to_addrs=[to_email])
        except smtplib.SMTPServerDisconnected:
            self.connection = self._open()
            self.connection.send_message(mime, to_addrs=[to_email])

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


def _permanent(error: Exception) -> bool:
    """The server refused the address itself (5xx): retrying will not help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return False


def _due(now: datetime) -> Any:
    return (OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))


def claim_due(now: datetime, worker: str, limit: int) -> list[int]:
    """Lease due messages to `worker` and commit; returns their ids."""
    claimed = list(db.session.scalars(
        select(OutboxMessage).where(*_due(now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
        .with_for_update(skip_locked=True)))
    lease = now + timedelta(seconds=int(_config("MAIL_CLAIM_SECONDS", CLAIM_SECONDS)))
    for message in claimed:
        message.claimed_until = lease
        message.claimed_by = worker
    db.session.commit()
    return [m.id for m in claimed]


def _finish(message_id: int, worker: str, **values: Any) -> bool:
    """Record an outcome if the lease is still ours; commit."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker)
        .values(claimed_until=None, claimed_by=None, **values)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return bool(result.rowcount)


class _Unsendable(Exception):
    """What a message needs to be sent is gone: it fails at once (the reason for admins)."""


def _ready(message: OutboxMessage) -> str | None:
    """Write the message if it is written when sent (a booking's confirmation, from the
    booking as it is now) and make its secret link if it has one; the link."""
    try:
        write(message)
    except NothingToWrite:
        raise _Unsendable("The booking is gone; the message could not be written.") from None
    try:
        return make_link(message) if message.link_kind else None
    except LinkGone:
        raise _Unsendable("The person or the address is gone; no link was made.") from None


def _failed_attempt(report: SendReport, message_id: int, worker: str, attempts: int,
                    error: Exception, *, gave_up: bool, now: datetime) -> None:
    """Record a failed attempt: tried again after the backoff, or failed for good."""
    text = f"{type(error).__name__}: {error}"[:1000]
    _finish(message_id, worker, attempts=attempts, last_error=text,
            status=OutboxStatus.FAILED if gave_up else OutboxStatus.PENDING,
            next_attempt_at=now + retry_delay(attempts))
    report.errors.append(f"message {message_id}: {text}")
    if gave_up:
        report.failed += 1
    else:
        report.retrying += 1


def send_due(now: datetime | None = None, *, limit: int = 100) -> SendReport:
    """Send the messages that are due. Runs its own short transactions: call it with no unit
    of work open (the CLI commands do). Without MAIL_SERVER it sends nothing."""
    now = now or clock.now()
    if not _config("MAIL_SERVER"):
        pending = db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status == OutboxStatus.PENDING)) or 0
        db.session.rollback()  # ends the read; nothing was changed
        return SendReport(configured=False, pending=pending)
    worker = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    report = SendReport()
    ids = claim_due(now, worker, limit)
    report.claimed = len(ids)
    max_attempts = int(_config("MAIL_MAX_ATTEMPTS", MAX_ATTEMPTS))
    sender = sender_address()
    smtp = _Smtp()
    try:
        for message_id in ids:
            message = db.session.get(OutboxMessage, message_id)
            if message is None or message.claimed_by != worker:
                db.session.rollback()
                continue
            attempts = message.attempts + 1
            try:
                mime = build_mime(message, sender=sender, now=clock.now(), link=_ready(message))
            except _Unsendable as reason:
                _finish(message_id, worker, attempts=attempts, status=OutboxStatus.FAILED,
                        last_error=str(reason))
                report.failed += 1
                continue
            # A message that cannot be written (a bug in its template) is tried again later,
            # like one the server refused; it does not hold up the rest.
            except Exception as error:  # noqa: BLE001
                db.session.rollback()  # whatever of it was written
                _failed_attempt(report, message_id, worker, attempts, error,
                                gave_up=attempts >= max_attempts, now=now)
                continue
            try:
                smtp.send(mime, message.to_email)
            except (smtplib.SMTPException, OSError) as error:
                smtp.close()
                _failed_attempt(report, message_id, worker, attempts, error,
                                gave_up=attempts >= max_attempts or _permanent(error), now=now)
            else:
                _finish(message_id, worker, status=OutboxStatus.SENT, sent_at=clock.now(),
                        attempts=attempts, last_error="")
                report.sent += 1
    finally:
        smtp.close()
        db.session.rollback()
    return report
