"""The outbox: every e-mail is written here in the same transaction as the change that causes
it, and sent later by `flask send-mail` — never inside a web request."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace.checkin.qr import qr_png
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.extensions import db


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry; shown to admins, never dropped


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_due", "status", "next_attempt_at"),
                      SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. booking_confirmed, password_reset
    to_email: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(300))
    # A message with a secret link (password reset, address verification) holds a placeholder
    # instead: the sender makes the link when it sends, so the outbox never holds one.
    link_kind: Mapped[str | None] = mapped_column(String(40))
    # A booking's confirmation is written when it is sent, from the booking as it is then:
    # its bodies and files are NULL and none until the sender writes them (mail/messages.py,
    # WRITTEN_WHEN_SENT). Writing them took a third of a booking request.
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), index=True)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, name="outbox_status", native_enum=False, create_constraint=True,
             length=10, values_callable=lambda members: [m.value for m in members]),
        default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender leases a message before sending, so two senders never send the same one.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan",
        order_by="OutboxAttachment.id")


class OutboxAttachment(db.Model):
    """A file sent with a message; `content_id` set means an inline image (the QR code)."""

    __tablename__ = "outbox_attachments"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content_id: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # A QR code is kept as what it encodes and drawn when the message is sent: drawing it
    # took most of a booking request's time. The picture is a pure function of the payload.
    qr_payload: Mapped[str | None] = mapped_column(String(500))

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")

    @property
    def data(self) -> bytes:
        """The file's bytes, as sent."""
        return qr_png(self.qr_payload) if self.qr_payload is not None else self.content
