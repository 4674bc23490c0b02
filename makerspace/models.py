"""Every model, imported in one place so that mappers and migrations see the whole schema."""

from makerspace.accounts.models import ApiToken, Role, User, branch_staff
from makerspace.branches.models import Branch

__all__ = ["ApiToken", "Branch", "Role", "User", "branch_staff"]
