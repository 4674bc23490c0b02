"""Accounts: people, their roles, the branches staff work at, and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Column, Enum, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from makerspace.branches.models import Branch, new_feed_token
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.extensions import db

# The statistics keep an age band, never a birth year: (name, youngest, oldest).
AGE_BANDS = (("under-16", 0, 15), ("16-25", 16, 25), ("26-66", 26, 66), ("67+", 67, 200))


class Role(enum.StrEnum):
    CITIZEN = "citizen"
    LIBRARIAN = "librarian"
    ADMIN = "admin"


branch_staff = Table(
    "branch_staff",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("branch_id", ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100", name="birth_year"
        ),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for people who log in only with a library card or ID-porten and gave no address.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    # Set when the birth year came from the library system (card log-in), not from the person.
    birth_year_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, create_constraint=True, length=20,
             values_callable=lambda roles: [r.value for r in roles]),
        default=Role.CITIZEN,
    )
    # Preferred language (nb, nn, en); None: follow the browser.
    locale: Mapped[str | None] = mapped_column(String(5))
    # Secret for the personal iCal feed URL; rotating it makes the old URL 404.
    calendar_token: Mapped[str] = mapped_column(String(64), unique=True,
                                                default=new_feed_token)
    # None until the person follows the link in the verification e-mail; accounts made by
    # staff or on the command line are verified when made.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The library a citizen chose as theirs: lists, the search and the front page start there.
    home_branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    branches: Mapped[list[Branch]] = relationship(secondary=branch_staff, order_by=Branch.name)
    home_branch: Mapped[Branch | None] = relationship(foreign_keys=[home_branch_id])
    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.created_at"
    )

    # The ids of the branches a librarian works at ("3,7"), where the query that loaded the
    # person read them alongside (`with_expression`; the API token's lookup does): asking
    # whether they work at a branch then loads no Branch objects. None otherwise.
    staff_branch_ids: Mapped[str | None] = query_expression()

    # The log-in session this request came with (its raw token, from the signed cookie); set
    # by `accounts.services.user_for_session`, never stored. Flask-Login keeps it as the id.
    session_token = None

    def get_id(self) -> str | None:
        return self.session_token

    def age_in(self, moment: datetime) -> int | None:
        """The age the person turns in the year of `moment` (we keep only the birth year, so
        age limits count from the year one turns that age); None when unknown."""
        return None if self.birth_year is None else moment.year - self.birth_year

    def age_band(self, moment: datetime) -> str | None:
        """The band of AGE_BANDS the person is in at `moment`; None when unknown."""
        age = self.age_in(moment)
        return next((name for name, low, high in AGE_BANDS
                     if age is not None and low <= age <= high), None)

    def works_at(self, branch_id: int) -> bool:
        """Whether the person is on the staff of the branch (see auth.manages_branch)."""
        if self.staff_branch_ids is not None:
            return str(branch_id) in self.staff_branch_ids.split(",")
        return any(b.id == branch_id for b in self.branches)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.LIBRARIAN, Role.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for the API. Only a SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so a person can tell their tokens apart.
    hint: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="api_tokens")


class UserSession(db.Model):
    """One log-in: the browser holds the raw token (in the signed session cookie), the server
    keeps only its SHA-256. Logging out deletes the row, so a replayed cookie opens nothing;
    a password change or reset deletes all of a person's rows."""

    __tablename__ = "user_sessions"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship()
