"""Who may see or do what: one place for the role rules used by pages and the API."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from makerspace.accounts.models import Role, User
from makerspace.branches.models import Branch


def manages_branch(user: User | Any, branch: Branch) -> bool:
    """Admins manage every branch; librarians the branches they work at."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.LIBRARIAN and any(b.id == branch.id for b in user.branches)


def managed_or_404(branch: Branch) -> Branch:
    """The branch, if the current user manages it; otherwise the page does not exist."""
    if not manages_branch(current_user, branch):
        abort(404)
    return branch


def managed_branch_or_404(slug: str) -> Branch:
    """The branch with this slug, if the current user manages it; otherwise a 404."""
    from makerspace.branches.services import branch_by_slug

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
