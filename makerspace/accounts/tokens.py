"""Signed links for e-mail: password reset and address verification.

Both are itsdangerous `URLSafeTimedSerializer` tokens signed with SECRET_KEY, each with its own
salt (a token for one purpose never works for the other). A reset token carries a fingerprint
of the current password hash: once the password changes, every older link is dead, so a link
works once. A verification token carries the address it was sent to.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from makerspace.accounts.models import User
from makerspace.errors import DomainError
from makerspace.extensions import db

RESET_SALT = "folkeverksted.password-reset"
VERIFY_SALT = "folkeverksted.email-verification"
PASSWORD_RESET_HOURS = 2
EMAIL_VERIFICATION_DAYS = 7


class InvalidLink(DomainError):
    code = "invalid_link"
    status = 400
    title = _l("This link is not valid. It may have been used already, or copied incompletely.")


class ExpiredLink(InvalidLink):
    code = "link_expired"
    title = _l("This link has expired.")


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def reset_max_age() -> timedelta:
    return timedelta(hours=int(current_app.config.get("PASSWORD_RESET_HOURS",
                                                      PASSWORD_RESET_HOURS)))


def verification_max_age() -> timedelta:
    return timedelta(days=int(current_app.config.get("EMAIL_VERIFICATION_DAYS",
                                                     EMAIL_VERIFICATION_DAYS)))


def _password_fingerprint(user: User) -> str:
    # A short digest, not the hash itself: the token is readable by anyone who holds it.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _load(token: str, salt: str, max_age: timedelta) -> dict:
    try:
        data = _serializer(salt).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as error:
        raise ExpiredLink() from error
    except BadSignature as error:
        raise InvalidLink() from error
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise InvalidLink()
    return data


def password_reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"u": user.id, "p": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User:
    """The person a reset link belongs to; raises InvalidLink / ExpiredLink."""
    data = _load(token, RESET_SALT, reset_max_age())
    user = db.session.get(User, data["u"])
    if user is None or data.get("p") != _password_fingerprint(user):
        raise InvalidLink()
    return user


def verification_token(user: User) -> str:
    return _serializer(VERIFY_SALT).dumps({"u": user.id, "e": user.email})


def user_for_verification_token(token: str) -> User:
    """The person a verification link belongs to, if still their address."""
    data = _load(token, VERIFY_SALT, verification_max_age())
    user = db.session.get(User, data["u"])
    if user is None or data.get("e") != user.email:
        raise InvalidLink()
    return user
