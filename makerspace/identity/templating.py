"""What the log-in page and the profile show of this area (template globals)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from makerspace.identity import openid, services
from makerspace.identity.models import Identity, IdentityKind


def outside_logins() -> dict[str, Any]:
    """The other ways to log in that are configured here."""
    return {"card": services.card_login_offered(), "providers": openid.configured_providers()}


def identity_label(identity: Identity) -> str:
    if identity.kind == IdentityKind.CARD:
        return _("Library card")
    found = openid.provider(identity.provider)
    return found.name if found else identity.provider


def linked_logins(user: Any) -> list[Identity]:
    return services.linked_identities(user)


TEMPLATE_GLOBALS = {"outside_logins": outside_logins, "identity_label": identity_label,
                    "linked_logins": linked_logins}
