"""Closing a branch for a while (renovation, no staff): a notice on its pages, and no
bookings in the period. Flushes, never commits; audited."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.auth import manages_branch
from makerspace.branches.models import Branch
from makerspace.core import audit
from makerspace.core.audit import AuditAction
from makerspace.errors import Forbidden, InvalidInput
from makerspace.extensions import db


class InvalidClosure(InvalidInput):
    code = "invalid_closure"


def close_temporarily(branch: Branch, *, notice: str, start: datetime,
                      end: datetime | None, by: User) -> Branch:
    """Close the branch from `start` until `end` (None: until further notice) with a notice
    shown on its pages. Bookings already made stay; staff cancel them as they see fit."""
    if not manages_branch(by, branch):
        raise Forbidden()
    text = " ".join(notice.split())
    if not text:
        raise InvalidClosure(_("Please write the notice people will see."), field="notice")
    if len(text) > 500:
        raise InvalidClosure(_("The notice may be at most 500 characters."), field="notice")
    if end is not None and end <= start:
        raise InvalidClosure(_("The period must end after it starts."), field="until_date")
    branch.closure_notice, branch.closed_from, branch.closed_until = text, start, end
    audit.record(AuditAction.BRANCH_CLOSED, actor_id=by.id,
                 detail=f"branch {branch.slug}: {text}")
    db.session.flush()
    return branch


def reopen(branch: Branch, *, by: User) -> Branch:
    """End the temporary closure now."""
    if not manages_branch(by, branch):
        raise Forbidden()
    if branch.closure_notice:
        branch.closure_notice, branch.closed_from, branch.closed_until = "", None, None
        audit.record(AuditAction.BRANCH_REOPENED, actor_id=by.id, at=clock.now(),
                     detail=f"branch {branch.slug}")
        db.session.flush()
    return branch
