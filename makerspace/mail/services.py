"""The outbox: write a message in the caller's transaction (rendered in the recipient's
language), list and retry messages for admins.

Nothing here sends anything or commits: `makerspace.mail.sender.send_due` does the sending,
later, outside any web request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy import func, select

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.core.pagination import PER_PAGE, Page, paginate
from makerspace.errors import NotFound
from makerspace.extensions import db
from makerspace.mail.models import OutboxAttachment, OutboxMessage, OutboxStatus

DEFAULT_LOCALE = "nb"
# Stands in the body for a secret link (password reset, verification) until it is sent; the
# .invalid domain never resolves, should the placeholder ever leave the house.
LINK_PLACEHOLDER = "https://secret-link.invalid/"
_current_locale: ContextVar[str | None] = ContextVar("mail_locale", default=None)


class MessageNotFound(NotFound):
    code = "not_found"


@dataclass(frozen=True)
class Attachment:
    """A file to send with a message; `content_id` makes it an inline image (`cid:` in HTML)."""

    filename: str
    content_type: str
    content: bytes = b""
    content_id: str | None = None
    qr_payload: str | None = None  # an image/png QR code of this, drawn when sent


def recipient_locale(user: User | None, locale: str | None = None) -> str:
    """The language to write in: the one asked for, the person's own, else Bokmål."""
    languages = current_app.config["LANGUAGES"]
    for candidate in (locale, user.locale if user is not None else None):
        if candidate in languages:
            return candidate  # type: ignore[return-value]
    return DEFAULT_LOCALE


@contextmanager
def recipient_context(locale: str) -> Iterator[None]:
    """Render in `locale`, with `url_for` working even outside a request (the `tick` job):
    links use BASE_URL, never the host of whatever request happens to be running."""
    if _current_locale.get() == locale:
        yield
        return
    url_context = (nullcontext() if has_request_context() else
                   current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]))
    token = _current_locale.set(locale)
    try:
        with url_context, force_locale(locale):
            yield
    finally:
        _current_locale.reset(token)


def queue_message(*, kind: str, subject: Any, context: Mapping[str, Any] | None = None,
                  user: User | None = None, to_email: str | None = None,
                  to_name: str | None = None, locale: str | None = None,
                  attachments: Sequence[Attachment] = (),
                  link_kind: str | None = None) -> OutboxMessage | None:
    """Write a message to the outbox in the caller's transaction (flush, no commit).

    `subject` is a (lazy) gettext string; the bodies come from `templates/mail/<kind>.txt` and
    `.html`; everything is rendered in the recipient's language. `link_kind` names the kind
    of link (see `mail.links`) that the sender puts in place of LINK_PLACEHOLDER when it sends."""
    return _queue(kind=kind, subject=subject, user=user, to_email=to_email, to_name=to_name,
                  locale=locale, link_kind=link_kind, write=lambda message: write_bodies(
                      message, context or {}, attachments))


def queue_to_write_when_sent(*, kind: str, subject: Any, user: User,
                             booking_id: int) -> OutboxMessage | None:
    """Queue a message about a booking that the sender writes when it sends it (its subject
    now, its bodies and files then; mail/messages.py, WRITTEN_WHEN_SENT)."""
    return _queue(kind=kind, subject=subject, user=user, booking_id=booking_id)


def subject_line(subject: Any) -> str:
    """A (lazy) gettext subject as one line of at most 300 characters, in the current
    language."""
    return " ".join(str(subject).split())[:300]


def write_bodies(message: OutboxMessage, context: Mapping[str, Any],
                 attachments: Sequence[Attachment]) -> None:
    """Render the message's bodies from its templates, in its language, and give it its
    files."""
    with recipient_context(message.locale):
        values = {"recipient_name": message.to_name, "locale": message.locale, **context}
        message.text_body = render_template(f"mail/{message.kind}.txt", **values)
        message.html_body = render_template(f"mail/{message.kind}.html",
                                            subject=message.subject, **values)
    message.attachments = [OutboxAttachment(filename=a.filename, content_type=a.content_type,
                                            content_id=a.content_id, content=a.content,
                                            qr_payload=a.qr_payload)
                           for a in attachments]


def _queue(*, kind: str, subject: Any, user: User | None, to_email: str | None = None,
           to_name: str | None = None, locale: str | None = None,
           link_kind: str | None = None, booking_id: int | None = None,
           write: Callable[[OutboxMessage], None] | None = None) -> OutboxMessage | None:
    if user is None and not to_email:
        raise ValueError("a message needs a user or to_email")
    email = to_email or user.email  # type: ignore[union-attr]
    if not email:
        return None  # logs in with a library card or ID-porten and gave no address
    language = recipient_locale(user, locale)
    with recipient_context(language):
        subject_text = subject_line(subject)
    now = clock.now()
    message = OutboxMessage(
        created_at=now, kind=kind, to_email=email,
        to_name=to_name if to_name is not None else (user.name if user is not None else ""),
        locale=language, subject=subject_text, link_kind=link_kind, booking_id=booking_id,
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now,
        user_id=user.id if user is not None else None)
    if write is not None:
        write(message)
    db.session.add(message)
    db.session.flush()
    _announce()
    return message


OUTBOX_CHANNEL = "folkeverksted_outbox"


def _announce() -> None:
    """On PostgreSQL, wake the listening workers (`flask worker`) when this transaction
    commits; a rolled-back message wakes nobody. SQLite's workers poll."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_notify(OUTBOX_CHANNEL, "")))


def recently_queued(user: User, kind: str, within: timedelta) -> bool:
    """Whether a message of this kind went to the person lately (to damp repeated requests)."""
    since = clock.now() - within
    return bool(db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.user_id == user.id, OutboxMessage.kind == kind,
        OutboxMessage.created_at >= since)))


# -- for admins ---------------------------------------------------------------------------

def list_messages(*, status: OutboxStatus | None = None, page: int = 1,
                  per_page: int = PER_PAGE) -> Page[OutboxMessage]:
    """A page of the messages, newest first, optionally of one status."""
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return paginate(query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()),
                    page=page, per_page=per_page)


def status_counts() -> dict[OutboxStatus, int]:
    """How many messages are pending, sent and failed."""
    counts = dict.fromkeys(OutboxStatus, 0)
    for status, count in db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id))
            .group_by(OutboxMessage.status)):
        counts[OutboxStatus(status)] = count
    return counts


def message_by_id(message_id: int) -> OutboxMessage:
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise MessageNotFound()
    return message


def attachment_of(message: OutboxMessage, attachment_id: int) -> OutboxAttachment:
    found = next((a for a in message.attachments if a.id == attachment_id), None)
    if found is None:
        raise MessageNotFound()
    return found


def retry_message(message: OutboxMessage, now: datetime | None = None) -> OutboxMessage:
    """Put a failed message back in the queue, due now (its attempts start over)."""
    if message.status != OutboxStatus.FAILED:
        return message
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now or clock.now()
    message.claimed_until = None
    message.claimed_by = None
    db.session.flush()
    return message


def mail_configured() -> bool:
    """Whether an SMTP server is set; without one, messages wait in the outbox."""
    return bool(current_app.config.get("MAIL_SERVER"))
