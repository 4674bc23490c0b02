"""Who may see or do what: one place for the role rules used by pages and the API."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import exists, or_, select

from makerspace.accounts.models import Role, User
from makerspace.booking.models import Booking, Equipment
from makerspace.branches.models import Branch
from makerspace.branches.services import branch_by_slug
from makerspace.certifications.models import UserCertification
from makerspace.errors import Forbidden, InvalidInput
from makerspace.events.models import Event, Signup
from makerspace.extensions import db


def manages_branch(user: User | Any, branch: Branch) -> bool:
    """Admins manage every branch; librarians the branches they work at."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.LIBRARIAN and user.works_at(branch.id)


def knows_person(staff: User | Any, person: User) -> bool:
    """Whether a staff member may see or act on a person: admins everyone; librarians only
    people who booked, signed up or got a certification at one of their branches. A library
    does not tell anyone who uses another library. Everyone may see themselves."""
    if not getattr(staff, "is_authenticated", False):
        return False
    if staff.id == person.id or staff.role == Role.ADMIN:
        return True
    branch_ids = [b.id for b in staff.branches] if staff.role == Role.LIBRARIAN else []
    return _used_any_of(person, branch_ids)


def knows_person_at(person: User, branch: Branch) -> bool:
    """Whether the person booked, signed up or got a certification at this branch."""
    return _used_any_of(person, [branch.id])


def _used_any_of(person: User, branch_ids: list[int]) -> bool:
    if not branch_ids:
        return False
    booked = select(Booking.id).join(Equipment).where(
        Booking.user_id == person.id, Equipment.branch_id.in_(branch_ids))
    signed_up = select(Signup.id).join(Event).where(
        Signup.user_id == person.id, Event.branch_id.in_(branch_ids))
    certified = select(UserCertification.id).where(
        UserCertification.user_id == person.id, UserCertification.branch_id.in_(branch_ids))
    return bool(db.session.scalar(select(or_(exists(booked), exists(signed_up),
                                             exists(certified)))))


def known_person(staff: User | Any, user_id: int) -> User | None:
    """The person with this id, if `staff` may see them (see knows_person); else None."""
    person = db.session.get(User, user_id)
    return person if person is not None and knows_person(staff, person) else None


def known_person_by_email(staff: User | Any, email: str) -> User | None:
    """The person with this e-mail address, if `staff` may see them; None otherwise, and the
    same None whether or not the address has an account."""
    person = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    return person if person is not None and knows_person(staff, person) else None


def not_known_here() -> str:
    """What staff are told when they name someone they may not see: the same words whether
    the address has no account or one their library does not know."""
    return _("No one with this e-mail address has booked or taken a course at your library. "
             "They can book on their own phone or computer first.")


class UnknownPerson(InvalidInput):
    code = "unknown_user"
    title = _l("No one with this e-mail address is known at your library.")


def known_person_or_refusal(staff: User, email: str, field: str = "user_email") -> User:
    """The person with this address, if `staff` may see them; else UnknownPerson (422
    `unknown_user`), the same for an address without an account."""
    person = known_person_by_email(staff, email)
    if person is None:
        raise UnknownPerson(field=field)
    return person


def known_person_or_404(user_id: int) -> User:
    """The person, if the current staff member may see them; otherwise the page does not
    exist."""
    person = known_person(current_user, user_id)
    if person is None:
        abort(404)
    return person


def require_admin(user: User) -> User:
    """The user, if a county admin; else Forbidden (for the API)."""
    if not user.is_admin:
        raise Forbidden()
    return user


def require_staff(user: User) -> User:
    """The user, if a librarian or admin; else Forbidden (for the API)."""
    if not user.is_staff:
        raise Forbidden()
    return user


def require_manager(user: User, branch: Branch) -> Branch:
    """The branch, if the user manages it; else Forbidden (for the API: the branch itself is
    public, so saying that it exists tells nothing)."""
    if not manages_branch(user, branch):
        raise Forbidden()
    return branch


def managed_or_404(branch: Branch) -> Branch:
    """The branch, if the current user manages it; otherwise the page does not exist."""
    if not manages_branch(current_user, branch):
        abort(404)
    return branch


def managed_branch_or_404(slug: str) -> Branch:
    """The branch with this slug, if the current user manages it; otherwise a 404."""
    return managed_or_404(branch_by_slug(slug))


def staff_required(view: Any) -> Any:
    """A page for librarians and admins only; others get 404 (they need not know it exists)."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_staff:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Any) -> Any:
    """A page for county admins only; others get 404."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapper
