"""Which outside log-ins lead to which account: a library card (by keyed hash) or an OpenID
Connect provider's subject. Nothing else about the person is kept here."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace.accounts.models import User
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.extensions import db


class IdentityKind(enum.StrEnum):
    CARD = "card"
    OPENID = "openid"


class Identity(db.Model):
    """One outside log-in of an account.

    Card: `issuer` is "sip2:<institution id>", `subject` the HMAC-SHA256 of the card number
    (never the number). OpenID Connect: the provider's `iss` and `sub` (ID-porten's `pid`,
    the national identity number, is never stored)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),
                      SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(
        Enum(IdentityKind, name="identity_kind", native_enum=False, create_constraint=True,
             length=10, values_callable=lambda kinds: [k.value for k in kinds]))
    # Which configured provider ("card", "idporten", "feide", …): for the label on the profile.
    provider: Mapped[str] = mapped_column(String(40))
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A card the library system says is blocked: the system's own words, shown when booking.
    blocked_message: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship()
