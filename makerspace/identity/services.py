"""Identity rules: log in with a library card and PIN (SIP2) or an OpenID Connect provider,
link and unlink those log-ins. Flush, never commit."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.accounts.services import (
    UNUSABLE_PASSWORD,
    EmailTaken,
    find_user_by_email,
    has_password,
    normalise_email,
)
from makerspace.core import signals
from makerspace.errors import DomainError, NotFound
from makerspace.extensions import db
from makerspace.identity.models import Identity, IdentityKind
from makerspace.identity.sip2 import Sip2Error, Sip2Settings, look_up_patron

log = logging.getLogger(__name__)
CARD = "card"


class CardLogInOff(NotFound):
    code = "card_login_off"
    title = _l("Log-in with a library card is not available here.")


class CardRefused(DomainError):
    code = "card_refused"
    status = 422
    title = _l("The card number or the PIN is wrong.")


class CardExpired(DomainError):
    code = "card_expired"
    status = 403
    title = _l("Your library card has expired. Ask at the library to renew it.")


class CardBlocked(DomainError):
    code = "card_blocked"
    status = 403
    title = _l("The library has blocked your card.")


class LibrarySystemUnavailable(DomainError):
    code = "library_system_unavailable"
    status = 503
    title = _l("The library system does not answer. Try again in a few minutes, or log in "
               "another way.")


class IdentityTaken(DomainError):
    code = "identity_taken"
    status = 409
    title = _l("This log-in belongs to another account already.")


class LastLogIn(DomainError):
    code = "last_login"
    status = 409
    title = _l("This is the only way you can log in. Set a password or link another log-in "
               "first.")


# -- library card and PIN -----------------------------------------------------------------

def card_login_offered(config: Any = None) -> bool:
    config = config if config is not None else current_app.config
    return bool(config.get("SIP2_HOST"))


def card_libraries() -> dict[str, dict[str, Any]]:
    """Branches (by slug) with a library system or institution id of their own."""
    return dict(current_app.config.get("SIP2_BRANCHES") or {})


def sip2_settings(branch_slug: str | None = None) -> Sip2Settings:
    """The SIP2 settings for a branch (its overrides on top of the SIP2_ settings)."""
    config = current_app.config
    if not card_login_offered(config):
        raise CardLogInOff()
    values = {key.removeprefix("SIP2_"): value for key, value in config.items()
              if key.startswith("SIP2_")}
    if branch_slug:
        overrides = card_libraries().get(branch_slug)
        if overrides is None:
            raise CardLogInOff()
        values |= {str(k).upper().removeprefix("SIP2_"): v for k, v in overrides.items()}
    flags = tuple(int(p) for p in str(values.get("BLOCKING_FLAGS") or "").split(",")
                  if p.strip().isdigit())
    return Sip2Settings(
        host=str(values["HOST"]), port=int(values["PORT"]), tls=bool(values["TLS"]),
        tls_ca_file=values.get("TLS_CA_FILE") or None, user=str(values["USER"] or ""),
        password=str(values["PASSWORD"] or ""), institution=str(values["INSTITUTION"] or ""),
        location=str(values["LOCATION"] or ""), timeout=float(values["TIMEOUT"]),
        delimiter=str(values["DELIMITER"] or "|"), checksum=bool(values["CHECKSUM"]),
        encoding=str(values["ENCODING"] or "utf-8"),
        patron_message=str(values["PATRON_MESSAGE"] or "63"),
        birthdate_field=values.get("BIRTHDATE_FIELD") or None,
        expiry_field=values.get("EXPIRY_FIELD") or None, blocking_flags=flags)


def normalise_card_number(card_number: str) -> str:
    """Card numbers are typed with spaces now and then, and letters in either case."""
    return "".join(card_number.split()).upper()


def _hash_key() -> bytes:
    key = current_app.config.get("CARD_HASH_KEY")
    if key:
        return str(key).encode()
    # Development only (production refuses to start without CARD_HASH_KEY): derived from
    # SECRET_KEY, so rotating that key unlinks the cards.
    return hmac.new(str(current_app.config["SECRET_KEY"]).encode(), b"card-number-hash",
                    hashlib.sha256).digest()


def card_digest(card_number: str) -> str:
    """The keyed hash a card is known by (HMAC-SHA256); the number itself is never kept."""
    return hmac.new(_hash_key(), normalise_card_number(card_number).encode(),
                    hashlib.sha256).hexdigest()


def _person_name(sip_name: str) -> str:
    """SIP2 names are often "Surname, Given names"; people write the given names first."""
    surname, comma, given = sip_name.partition(",")
    return f"{given.strip()} {surname.strip()}".strip() if comma else sip_name.strip()


@dataclass(frozen=True)
class CardLogIn:
    """What came of a card log-in: the person, or a refusal that is kept (a blocked card is
    recorded on the account it belongs to, so the refusal must not roll that back)."""

    user: User | None = None
    created: bool = False
    blocked: CardBlocked | None = None


def _find(issuer: str, subject: str) -> Identity | None:
    return db.session.scalar(select(Identity).where(Identity.issuer == issuer,
                                                    Identity.subject == subject))


def _add_identity(identity: Identity) -> Identity:
    try:
        with db.session.begin_nested():
            db.session.add(identity)
    except IntegrityError as error:  # linked a moment ago by another request
        raise IdentityTaken() from error
    return identity


def log_in_with_card(*, card_number: str, pin: str, branch_slug: str | None = None,
                     link_to: User | None = None, locale: str | None = None) -> CardLogIn:
    """Ask the library system about a card and PIN. A valid card with the right PIN logs in
    the account it is linked to (made on the first log-in, or `link_to`'s); raises
    CardRefused (unknown card or wrong PIN, the same refusal for both), CardExpired,
    LibrarySystemUnavailable. A blocked card is returned as `blocked`, and recorded."""
    settings = sip2_settings(branch_slug)
    now = clock.now()
    if any(c in value for value in (card_number, pin) for c in (settings.delimiter, "\r")):
        raise CardRefused()  # no card number or PIN holds SIP2's separators
    try:
        patron = look_up_patron(settings, normalise_card_number(card_number), pin, now)
    except Sip2Error as error:
        log.warning("library system %s:%s: %s", settings.host, settings.port, error)
        raise LibrarySystemUnavailable() from error
    if not (patron.valid and patron.pin_ok):
        raise CardRefused()
    issuer, subject = f"sip2:{settings.institution}", card_digest(card_number)
    identity = _find(issuer, subject)
    if patron.expires_on is not None and patron.expires_on < now.date():
        raise CardExpired()
    if patron.denied(settings.blocking_flags):
        message = " ".join(patron.screen_messages)[:500] or str(CardBlocked.title)
        if identity is not None:
            identity.blocked_message = message
            db.session.flush()
        return CardLogIn(blocked=CardBlocked(
            _("The library has blocked your card: %(reason)s", reason=message)))
    created = False
    if identity is not None:
        if link_to is not None and identity.user_id != link_to.id:
            raise IdentityTaken()
        identity.blocked_message = None
        user = identity.user
    else:
        user = link_to
        if user is None:
            created = True
            user = User(email=None, name=_person_name(patron.name)[:200],
                        password_hash=UNUSABLE_PASSWORD, role=Role.CITIZEN, locale=locale)
            db.session.add(user)
            db.session.flush()
        identity = _add_identity(Identity(user_id=user.id, kind=IdentityKind.CARD,
                                          provider=CARD, issuer=issuer, subject=subject))
    if patron.birth_date is not None:
        # The library system's word replaces what the person typed, and age limits use it.
        user.birth_year = patron.birth_date.year
        user.birth_year_verified_at = now
    identity.last_used_at = now
    db.session.flush()
    return CardLogIn(user=user, created=created)


def card_block_message(user: User) -> str | None:
    """The library system's words, if a card linked to the account is blocked."""
    return db.session.scalar(_CARD_BLOCK, {"user_id": user.id})


# Built once: every booking asks it.
_CARD_BLOCK = select(Identity.blocked_message).where(
    Identity.user_id == bindparam("user_id"), Identity.blocked_message.is_not(None)).limit(1)


# -- OpenID Connect -----------------------------------------------------------------------

@dataclass(frozen=True)
class OpenIdLogIn:
    """The person to log in, or the account with the same verified e-mail address that the
    person may link to once they confirm."""

    user: User | None = None
    created: bool = False
    candidate: User | None = None


def log_in_with_openid(*, provider: str, issuer: str, subject: str, email: str | None,
                       email_verified: bool, name: str, link_to: User | None = None,
                       locale: str | None = None) -> OpenIdLogIn:
    """The account an OpenID Connect log-in (issuer and subject, both checked by the caller
    against the provider's signature) leads to; made on the first log-in unless an account
    has the same verified e-mail address (then the person is asked first)."""
    now = clock.now()
    identity = _find(issuer, subject)
    if identity is not None:
        if link_to is not None and identity.user_id != link_to.id:
            raise IdentityTaken()
        identity.last_used_at = now
        return OpenIdLogIn(user=identity.user)
    if link_to is not None:
        link_openid(link_to, provider=provider, issuer=issuer, subject=subject)
        return OpenIdLogIn(user=link_to)
    address = normalise_email(email) if email and email_verified else None
    if address is not None:
        existing = find_user_by_email(address)
        if existing is not None:
            return OpenIdLogIn(candidate=existing)
    user = User(email=address, name=name.strip()[:200], password_hash=UNUSABLE_PASSWORD,
                role=Role.CITIZEN, locale=locale, email_verified_at=now if address else None)
    db.session.add(user)
    db.session.flush()
    link_openid(user, provider=provider, issuer=issuer, subject=subject)
    return OpenIdLogIn(user=user, created=True)


def link_openid(user: User, *, provider: str, issuer: str, subject: str) -> Identity:
    """Add an OpenID Connect log-in to an account (the person confirmed, or is logged in)."""
    existing = _find(issuer, subject)
    if existing is not None:
        if existing.user_id != user.id:
            raise IdentityTaken()
        return existing
    identity = _add_identity(Identity(user_id=user.id, kind=IdentityKind.OPENID,
                                      provider=provider, issuer=issuer, subject=subject,
                                      last_used_at=clock.now()))
    db.session.flush()
    return identity


def new_account_for_openid(*, provider: str, issuer: str, subject: str, name: str,
                           locale: str | None = None) -> User:
    """The person chose not to link to the account with their address: a new one, without
    an e-mail address (the address belongs to the other account)."""
    user = User(email=None, name=name.strip()[:200], password_hash=UNUSABLE_PASSWORD,
                role=Role.CITIZEN, locale=locale)
    db.session.add(user)
    db.session.flush()
    link_openid(user, provider=provider, issuer=issuer, subject=subject)
    return user


# -- the profile --------------------------------------------------------------------------

def linked_identities(user: User) -> list[Identity]:
    """A person's outside log-ins, oldest first."""
    return list(db.session.scalars(select(Identity).where(Identity.user_id == user.id)
                                   .order_by(Identity.created_at, Identity.id)))


def remove_identity(user: User, identity_id: int) -> None:
    """Unlink one of the person's own outside log-ins; someone else's is NotFound, and the
    only way into an account without a password is LastLogIn."""
    identity = db.session.get(Identity, identity_id)
    if identity is None or identity.user_id != user.id:
        raise NotFound()
    if not has_password(user) and len(linked_identities(user)) <= 1:
        raise LastLogIn()
    db.session.delete(identity)
    db.session.flush()


def complete_details(user: User, *, name: str, email: str | None) -> User:
    """After a first card or ID-porten log-in: the name, and optionally an e-mail address for
    confirmations (verified as at registration)."""
    user.name = name.strip()[:200]
    address = normalise_email(email) if email and email.strip() else None
    if address is not None and address != user.email:
        other = find_user_by_email(address)
        if other is not None and other.id != user.id:
            raise EmailTaken()
        user.email = address
        user.email_verified_at = None
        db.session.flush()
        signals.verification_requested.send(user)
    db.session.flush()
    return user
