"""What the loan pages call things, in one place."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from makerspace.loans.models import LoanStatus, ReturnCondition

LOAN_STATUS_LABELS = {
    LoanStatus.RESERVED: _l("Reserved, not picked up yet"),
    LoanStatus.PICKED_UP: _l("Borrowed"),
    LoanStatus.RETURNED: _l("Returned"),
    LoanStatus.CANCELLED: _l("Cancelled"),
    LoanStatus.NOT_PICKED_UP: _l("Not picked up"),
}

CONDITION_LABELS = {
    ReturnCondition.COMPLETE: _l("Complete and whole"),
    ReturnCondition.DAMAGED: _l("Damaged"),
    ReturnCondition.PARTS_MISSING: _l("Parts missing"),
}

TEMPLATE_GLOBALS = {"loan_status_labels": LOAN_STATUS_LABELS,
                    "condition_labels": CONDITION_LABELS}
