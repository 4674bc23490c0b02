"""Account rules: registration, authentication, profiles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from makerspace import clock
from makerspace.accounts.models import ApiToken, Role, User
from makerspace.branches.services import branch_by_slug
from makerspace.errors import AlreadyExists, InvalidInput, NotFound
from makerspace.extensions import db

TOKEN_PREFIX = "fv_"  # noqa: S105  (a marker, not a secret)


class EmailTaken(AlreadyExists):
    code = "email_taken"
    title = _l("An account with this e-mail address exists already.")


class WeakPassword(InvalidInput):
    code = "weak_password"
    title = _l("The password is too short.")


class InvalidBirthYear(InvalidInput):
    code = "invalid_birth_year"
    title = _l("The birth year is not valid.")


class UnsupportedLocale(InvalidInput):
    code = "unsupported_locale"
    title = _l("That language is not available.")


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively; we keep them lower-case."""
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def hash_password(password: str) -> str:
    """A salted, slow hash of the password (method from config; tests use a cheap one)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _check_password_strength(password: str) -> None:
    if len(password) < current_app.config["PASSWORD_MIN_LENGTH"]:
        raise WeakPassword()


def _check_birth_year(birth_year: int | None) -> None:
    if birth_year is None:
        return
    this_year = clock.now().year
    if not this_year - 120 <= birth_year <= this_year:
        raise InvalidBirthYear()


def _check_locale(locale: str | None) -> None:
    if locale is not None and locale not in current_app.config["LANGUAGES"]:
        raise UnsupportedLocale()


def _add_user(user: User) -> User:
    """Insert, turning a lost race on the unique e-mail into EmailTaken."""
    if find_user_by_email(user.email) is not None:
        raise EmailTaken()
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as error:
        raise EmailTaken() from error
    return user


def register_citizen(
    *, email: str, name: str, password: str, birth_year: int | None, locale: str | None = None
) -> User:
    """Create a citizen account from the registration form."""
    _check_password_strength(password)
    _check_birth_year(birth_year)
    _check_locale(locale)
    user = _add_user(
        User(
            email=normalise_email(email),
            name=name.strip(),
            password_hash=hash_password(password),
            birth_year=birth_year,
            role=Role.CITIZEN,
            locale=locale,
        )
    )
    _notify().email_verification(user)
    return user


def create_user(
    *,
    email: str,
    name: str,
    role: Role,
    branch_slugs: Iterable[str] = (),
    password: str | None = None,
    birth_year: int | None = None,
) -> tuple[User, str | None]:
    """Create an account of any role (operators and admins). Returns the user and, when no
    password was given, the generated one."""
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(12)
    _check_password_strength(password)
    _check_birth_year(birth_year)
    branches = [branch_by_slug(slug) for slug in branch_slugs]
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        password_hash=hash_password(password),
        birth_year=birth_year,
        role=role,
        branches=branches if role == Role.LIBRARIAN else [],
        email_verified_at=clock.now(),  # made by staff or an operator: they vouch for it
    )
    return _add_user(user), generated


def authenticate(*, email: str, password: str) -> User | None:
    """The user whose e-mail and password these are, else None."""
    user = find_user_by_email(email)
    if user is None:
        # Spend the same time as for a real account, so timing does not reveal who has one.
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_hex(8), method=method)
    return _DUMMY_HASHES[method]


def update_profile(user: User, *, name: str, birth_year: int | None, locale: str | None) -> User:
    """Change what a person may change about themselves."""
    _check_birth_year(birth_year)
    _check_locale(locale)
    user.name = name.strip()
    user.birth_year = birth_year
    user.locale = locale
    return user


def change_password(user: User, *, new_password: str) -> None:
    """Set a new password."""
    _check_password_strength(new_password)
    user.password_hash = hash_password(new_password)


def set_preferred_locale(user: User, locale: str) -> None:
    """Remember the language a person picked."""
    _check_locale(locale)
    user.locale = locale


def _token_digest(raw_token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(raw_token.encode()).hexdigest()


def issue_api_token(user: User, *, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the raw token is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name.strip() or "API", token_hash=_token_digest(raw), hint=raw[:8]
    )
    db.session.add(token)
    db.session.flush()
    return token, raw


def user_for_api_token(raw_token: str) -> User | None:
    """The user a bearer token belongs to, or None for an unknown or revoked token."""
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(raw_token))
    )
    return token.user if token is not None else None


def revoke_api_token(user: User, token_id: int) -> None:
    """Delete one of the user's own tokens; someone else's token is NotFound."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    db.session.delete(token)
    db.session.flush()


# -- e-mail verification and password reset (links from makerspace.mail.tokens) ------------

# Asking again within this time sends no second e-mail (a double click, a script).
MAIL_REPEAT_PAUSE = timedelta(minutes=2)


def _notify():  # type: ignore[no-untyped-def]
    # Imported late: the mail messages import the booking and event areas.
    from makerspace.mail import messages

    return messages


def resend_verification(user: User) -> bool:
    """Queue a new verification e-mail unless the address is verified or one just went."""
    from makerspace.mail.services import recently_queued

    if user.email_verified_at is not None or recently_queued(user, "email_verification",
                                                             MAIL_REPEAT_PAUSE):
        return False
    _notify().email_verification(user)
    return True


def verify_email(token: str) -> User:
    """Mark the address of the link's owner verified (again is fine); raises InvalidLink."""
    from makerspace.mail.tokens import user_for_verification_token

    user = user_for_verification_token(token)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    return user


def request_password_reset(email: str) -> None:
    """Queue a reset link if an account has this address; says nothing either way."""
    from makerspace.mail.services import recently_queued

    user = find_user_by_email(email)
    if user is not None and not recently_queued(user, "password_reset", MAIL_REPEAT_PAUSE):
        _notify().password_reset(user)


def check_reset_token(token: str) -> User:
    """The person a reset link is for; raises InvalidLink / ExpiredLink."""
    from makerspace.mail.tokens import user_for_reset_token

    return user_for_reset_token(token)


def reset_password(token: str, *, new_password: str) -> User:
    """Set a new password through a reset link; the link dies with the old password. Getting
    the link proves the address, so it counts as verified too."""
    user = check_reset_token(token)
    change_password(user, new_password=new_password)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    return user
