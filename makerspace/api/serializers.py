"""JSON shapes of the API, one function per resource."""

from __future__ import annotations

from typing import Any

from makerspace.accounts.models import User
from makerspace.branches.models import Branch


def branch_json(branch: Branch) -> dict[str, Any]:
    return {
        "slug": branch.slug,
        "name": branch.name,
        "municipality": branch.municipality,
        "timezone": branch.timezone,
    }


def me_json(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "branches": [branch.slug for branch in user.branches],
    }
