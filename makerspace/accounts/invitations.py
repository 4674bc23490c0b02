"""Staff invitations and roles: admins invite librarians (and admins) by e-mail, assign and
remove branches, make and unmake admins. Every change is audited; the last admin stays.

The invitation link is signed (itsdangerous, SECRET_KEY) and names the invitation; it is made
when the e-mail is sent (mail.links), so the outbox never holds it. It works once, for
INVITATION_DAYS, and sets the person's password.

Functions here flush but never commit.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Column, Enum, ForeignKey, String, Table, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.accounts.services import (
    _check_password_strength,
    _personal,
    find_user_by_email,
    hash_password,
    normalise_email,
)
from makerspace.accounts.tokens import ExpiredLink, InvalidLink
from makerspace.branches.models import Branch
from makerspace.core import audit, signals
from makerspace.core.audit import AuditAction
from makerspace.database import SQLITE_AUTOINCREMENT, UTCDateTime, utcnow
from makerspace.errors import DomainError, Forbidden, InvalidInput, NotFound
from makerspace.extensions import db

INVITATION_SALT = "folkeverksted.staff-invitation"
INVITATION_DAYS = 7


class StaffRole(enum.StrEnum):
    """The roles an invitation can give."""

    LIBRARIAN = "librarian"
    ADMIN = "admin"


invitation_branches = Table(
    "invitation_branches",
    db.metadata,
    Column("invitation_id", ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True),
    Column("branch_id", ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True),
)


class Invitation(db.Model):
    """An invitation to work as staff, sent by e-mail; `accepted_at` once used."""

    __tablename__ = "invitations"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[StaffRole] = mapped_column(
        Enum(StaffRole, name="staff_role", native_enum=False, create_constraint=True, length=20,
             values_callable=lambda roles: [r.value for r in roles]))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    branches: Mapped[list[Branch]] = relationship(secondary=invitation_branches,
                                                  order_by=Branch.name)
    invited_by: Mapped[User | None] = relationship()

    def is_open(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


# -- refusals -----------------------------------------------------------------------------

class InvalidInvitation(InvalidInput):
    code = "invalid_invitation"
    title = _l("The invitation is not complete.")


class InvitationNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such invitation.")


class LastAdmin(DomainError):
    code = "last_admin"
    status = 409
    title = _l("There must be at least one county admin left.")


class StaffNotFound(NotFound):
    code = "not_found"
    title = _l("There is no such staff member.")


# -- inviting -----------------------------------------------------------------------------

def invitation_max_age() -> timedelta:
    return timedelta(days=int(current_app.config.get("INVITATION_DAYS", INVITATION_DAYS)))


def invite_staff(*, email: str, role: str, branches: Iterable[Branch], by: User) -> Invitation:
    """An admin invites someone to work as a librarian (at `branches`) or as an admin; the
    e-mail with the link goes through the outbox. An earlier open invitation for the same
    address is replaced."""
    if not by.is_admin:
        raise Forbidden()
    address = normalise_email(email)
    if "@" not in address or len(address) > 254 or address.startswith("@"):
        raise InvalidInvitation(_("Please give a valid e-mail address."), field="email")
    try:
        staff_role = StaffRole(role)
    except ValueError as error:
        raise InvalidInvitation(_("Choose librarian or admin."), field="role") from error
    chosen = list({b.id: b for b in branches}.values())
    if staff_role == StaffRole.LIBRARIAN and not chosen:
        raise InvalidInvitation(_("Choose at least one library for a librarian."),
                                field="branches")
    now = clock.now()
    for old in db.session.scalars(select(Invitation).where(
            Invitation.email == address, Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None))):
        old.revoked_at = now
    invitation = Invitation(email=address, role=staff_role, invited_by_id=by.id,
                            created_at=now, expires_at=now + invitation_max_age(),
                            branches=chosen)
    db.session.add(invitation)
    db.session.flush()
    existing = find_user_by_email(address)
    audit.record(AuditAction.STAFF_INVITED, actor_id=by.id,
                 subject_user_id=existing.id if existing else None,
                 detail=f"invitation {invitation.id}: {address} as {staff_role.value}"
                        f" ({', '.join(b.slug for b in chosen) or '-'})")
    signals.staff_invited.send(invitation)
    return invitation


def open_invitations(now: datetime) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > now).order_by(Invitation.created_at.desc())))


def latest_open_invitation(email: str) -> Invitation | None:
    """The invitation a link for this address is to be made for (the sender asks)."""
    return db.session.scalar(select(Invitation).where(
        Invitation.email == email, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None), Invitation.expires_at > clock.now())
        .order_by(Invitation.id.desc()).limit(1))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=INVITATION_SALT)


def invitation_token(invitation: Invitation) -> str:
    return _serializer().dumps({"i": invitation.id, "e": invitation.email})


def invitation_for_token(token: str) -> Invitation:
    """The open invitation a link names; InvalidLink or ExpiredLink otherwise."""
    try:
        data = _serializer().loads(token, max_age=int(invitation_max_age().total_seconds()))
    except SignatureExpired as error:
        raise ExpiredLink() from error
    except BadSignature as error:
        raise InvalidLink() from error
    invitation = db.session.get(Invitation, data.get("i")) if isinstance(data, dict) else None
    if invitation is None or invitation.email != data.get("e"):
        raise InvalidLink()
    if not invitation.is_open(clock.now()):
        raise (ExpiredLink() if invitation.accepted_at is None
               and invitation.revoked_at is None else InvalidLink())
    return invitation


def accept_invitation(token: str, *, name: str, password: str) -> User:
    """Use the link: make the account (or give the existing one the role), set its password,
    and put the person at the invitation's branches. Works once."""
    invitation = invitation_for_token(token)
    if not name.strip():
        raise InvalidInvitation(_("Please give your name."), field="name")
    _check_password_strength(password, personal=_personal(invitation.email, name))
    now = clock.now()
    user = find_user_by_email(invitation.email)
    if user is None:
        user = User(email=invitation.email, name=name.strip()[:200], role=Role.CITIZEN,
                    password_hash="")
        db.session.add(user)
    user.name = name.strip()[:200]
    user.password_hash = hash_password(password)
    user.email_verified_at = user.email_verified_at or now  # the link proved the address
    if invitation.role == StaffRole.ADMIN:
        user.role = Role.ADMIN
    elif user.role != Role.ADMIN:
        user.role = Role.LIBRARIAN
    for branch in invitation.branches:
        if all(b.id != branch.id for b in user.branches):
            user.branches.append(branch)
    invitation.accepted_at = now
    db.session.flush()
    audit.record(AuditAction.INVITATION_ACCEPTED, actor_id=user.id, subject_user_id=user.id,
                 detail=f"invitation {invitation.id} as {user.role.value}", at=now)
    db.session.flush()
    return user


# -- staff and roles ----------------------------------------------------------------------

def staff_members(branch: Branch | None = None) -> list[User]:
    """Librarians and admins (admins first), or the staff of one branch."""
    query = select(User).where(User.role.in_((Role.LIBRARIAN, Role.ADMIN)))
    if branch is not None:
        query = query.where(User.branches.any(Branch.id == branch.id))
    return list(db.session.scalars(query.order_by(User.role, User.name, User.id)))


def staff_member(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_staff:
        raise StaffNotFound()
    return user


def _admin_count() -> int:
    return db.session.scalar(select(func.count(User.id)).where(User.role == Role.ADMIN)) or 0


def assign_branch(user: User, branch: Branch, *, by: User) -> None:
    """Put a staff member at a branch (admins only; audited)."""
    if not by.is_admin:
        raise Forbidden()
    if not user.is_staff:
        raise StaffNotFound()
    if all(b.id != branch.id for b in user.branches):
        user.branches.append(branch)
        audit.record(AuditAction.BRANCH_ASSIGNED, actor_id=by.id, subject_user_id=user.id,
                     detail=f"branch {branch.slug}")
        db.session.flush()


def unassign_branch(user: User, branch: Branch, *, by: User) -> None:
    """Take a staff member off a branch (admins only; audited)."""
    if not by.is_admin:
        raise Forbidden()
    if any(b.id == branch.id for b in user.branches):
        user.branches = [b for b in user.branches if b.id != branch.id]
        audit.record(AuditAction.BRANCH_UNASSIGNED, actor_id=by.id, subject_user_id=user.id,
                     detail=f"branch {branch.slug}")
        db.session.flush()


def set_role(user: User, role: Role, *, by: User) -> None:
    """Make or unmake an admin, or take someone off the staff (to citizen); admins only,
    audited. The last admin cannot stop being one."""
    if not by.is_admin:
        raise Forbidden()
    if role == user.role:
        return
    if user.role == Role.ADMIN:
        # Row locks on the admins: two admins cannot unmake each other at once.
        db.session.execute(select(User.id).where(User.role == Role.ADMIN).with_for_update())
        if _admin_count() <= 1:
            raise LastAdmin()
    old = user.role
    user.role = role
    if role == Role.CITIZEN:
        user.branches = []
    audit.record(AuditAction.ROLE_CHANGED, actor_id=by.id, subject_user_id=user.id,
                 detail=f"{old.value} -> {role.value}")
    db.session.flush()


def staff_audit(limit: int = 50) -> list[audit.AuditEntry]:
    """The latest changes to staff and roles, for admins."""
    actions = (AuditAction.STAFF_INVITED, AuditAction.INVITATION_ACCEPTED,
               AuditAction.BRANCH_ASSIGNED, AuditAction.BRANCH_UNASSIGNED,
               AuditAction.ROLE_CHANGED)
    return list(db.session.scalars(select(audit.AuditEntry).where(
        audit.AuditEntry.action.in_(actions)).order_by(audit.AuditEntry.at.desc(),
                                                       audit.AuditEntry.id.desc())
        .limit(limit)))
