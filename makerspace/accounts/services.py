"""Account rules: registration, authentication, profiles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, bindparam, cast, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import with_expression
from werkzeug.security import check_password_hash, generate_password_hash

from makerspace import clock
from makerspace.accounts.models import ApiToken, Role, User, UserSession, branch_staff
from makerspace.accounts.tokens import user_for_reset_token, user_for_verification_token
from makerspace.branches.models import Branch
from makerspace.branches.services import branch_by_slug
from makerspace.core import signals
from makerspace.core.audit import AuditAction, record
from makerspace.errors import AlreadyExists, InvalidInput, NotFound
from makerspace.extensions import db

TOKEN_PREFIX = "fv_"  # noqa: S105  (a marker, not a secret)
# The password hash of an account that logs in only with a library card or ID-porten: no
# password matches it (werkzeug's hashes always hold a "$").
UNUSABLE_PASSWORD = "!"  # noqa: S105  (a marker, not a secret)


class EmailTaken(AlreadyExists):
    code = "email_taken"
    title = _l("An account with this e-mail address exists already.")


class WeakPassword(InvalidInput):
    code = "weak_password"
    title = _l("The password is too easy to guess.")


class WrongPassword(InvalidInput):
    code = "wrong_password"
    title = _l("The password is not right.")


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


def has_password(user: User) -> bool:
    """Whether the person can log in with a password."""
    return user.password_hash != UNUSABLE_PASSWORD


def hash_password(password: str) -> str:
    """A salted, slow hash of the password (method from config; tests use a cheap one)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


# zxcvbn's warnings (English, fixed texts) in our words; anything else gets the general advice.
_STRENGTH_WARNINGS = {
    "Straight rows of keys are easy to guess.":
        _l("Rows of keys next to each other are easy to guess."),
    "Short keyboard patterns are easy to guess.":
        _l("Short patterns on the keyboard are easy to guess."),
    'Repeats like "aaa" are easy to guess.': _l("Repeated characters are easy to guess."),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        _l("Repeated words or patterns are easy to guess."),
    'Sequences like "abc" or "6543" are easy to guess.':
        _l("Sequences such as «abc» or «6543» are easy to guess."),
    "Recent years are easy to guess.": _l("Recent years are easy to guess."),
    "Dates are often easy to guess.": _l("Dates are easy to guess."),
    "This is a top-10 common password.": _l("This is one of the most common passwords."),
    "This is a top-100 common password.": _l("This is one of the most common passwords."),
    "This is a very common password.": _l("This is a very common password."),
    "This is similar to a commonly used password.":
        _l("This is too close to a common password."),
    "A word by itself is easy to guess.": _l("A single word is easy to guess."),
    "Names and surnames by themselves are easy to guess.": _l("Names are easy to guess."),
    "Common names and surnames are easy to guess.": _l("Names are easy to guess."),
}
# zxcvbn scores 0–4; 3 means "safely unguessable" against online guessing with rate limits.
STRONG_ENOUGH = 3
_ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input; longer passwords are long enough


def password_problem(password: str, *, personal: Iterable[str] = ()) -> str | None:
    """Why a new password would be too easy to guess (translated), or None. Uses zxcvbn's
    dictionaries of common passwords, names and patterns, and the person's own details."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return _("Use at least %(count)s characters.", count=minimum)
    advice = _("Try a few words that do not belong together, for example «lamp cloud oar "
               "twelve».")
    if any(part.lower() in password.lower() for part in personal if len(part) >= 4):
        return _("Do not use your name or e-mail address in the password.") + " " + advice
    if len(password) >= _ZXCVBN_MAX_LENGTH:
        return None
    # Imported here: its word lists are 13 MB, and most processes never judge a password.
    from zxcvbn import zxcvbn

    result = zxcvbn(password, user_inputs=[p for p in personal if p])
    if result["score"] >= STRONG_ENOUGH:
        return None
    warning = _STRENGTH_WARNINGS.get(result["feedback"]["warning"])
    return f"{warning} {advice}" if warning else advice


def _check_password_strength(password: str, *, personal: Iterable[str] = ()) -> None:
    problem = password_problem(password, personal=personal)
    if problem is not None:
        raise WeakPassword(problem)


def _personal(email: str | None, name: str) -> list[str]:
    """The words of a person's own details that a password should not lean on."""
    if not email:
        return name.split()
    local = email.split("@")[0]
    return [email, local, *name.split()]


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
) -> User | None:
    """Create a citizen account from the registration form and send the verification link.

    The page says the same whether or not the address has an account (nobody learns who has
    one): for an address that has one, nothing is created and its owner gets an e-mail saying
    someone tried. Returns the new account, or None."""
    _check_password_strength(password, personal=_personal(email, name))
    _check_birth_year(birth_year)
    _check_locale(locale)
    existing = find_user_by_email(email)
    password_hash = hash_password(password)  # also for an existing address: the same time
    if existing is not None:
        signals.registration_attempted.send(existing)
        return None
    try:
        user = _add_user(User(email=normalise_email(email), name=name.strip(),
                              password_hash=password_hash, birth_year=birth_year,
                              role=Role.CITIZEN, locale=locale))
    except EmailTaken:
        return None  # registered a moment ago by a request that won the race
    signals.account_registered.send(user)
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
    _check_password_strength(password, personal=_personal(email, name))
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


class BirthYearVerified(InvalidInput):
    code = "birth_year_verified"
    title = _l("Your birth year comes from the library system and cannot be changed here.")


def update_profile(user: User, *, name: str, birth_year: int | None, locale: str | None) -> User:
    """Change what a person may change about themselves (not a birth year the library system
    vouched for)."""
    if user.birth_year_verified_at is not None and birth_year != user.birth_year:
        raise BirthYearVerified()
    _check_birth_year(birth_year)
    _check_locale(locale)
    user.name = name.strip()
    user.birth_year = birth_year
    user.locale = locale
    return user


def set_home_branch(user: User, branch: Branch | None) -> User:
    """Choose the library the person's lists, search and front page start at (None: none)."""
    user.home_branch_id = branch.id if branch is not None else None
    user.home_branch = branch
    db.session.flush()
    return user


def change_password(user: User, *, new_password: str) -> None:
    """Set a new password and end every log-in session of the person (the caller starts a
    new one for the browser the person is using, if they stay logged in)."""
    _check_password_strength(new_password, personal=_personal(user.email, user.name))
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)


def change_own_password(user: User, *, current_password: str, new_password: str) -> None:
    """A logged-in person changes their password; they must know the current one."""
    if not check_password_hash(user.password_hash, current_password):
        raise WrongPassword()
    change_password(user, new_password=new_password)


def check_own_password(user: User, password: str) -> None:
    """Raise WrongPassword unless this is the person's password (before deleting, say)."""
    if not check_password_hash(user.password_hash, password):
        raise WrongPassword()


class FreshLogInNeeded(InvalidInput):
    code = "fresh_login_needed"
    title = _l("To be sure it is you, log out and in again (with your library card, "
               "ID-porten or Feide), then come back here within %(minutes)s minutes.",
               minutes=10)


FRESH_LOGIN = timedelta(minutes=10)


def check_it_is_them(user: User, *, password: str | None) -> None:
    """Before something that cannot be undone: the person's password, or for an account
    without one (library card, ID-porten) a log-in started within the last minutes."""
    if has_password(user):
        check_own_password(user, password or "")
        return
    started = db.session.scalar(select(UserSession.created_at).where(
        UserSession.token_hash == _token_digest(user.session_token or "")))
    if started is None or clock.now() - started > FRESH_LOGIN:
        raise FreshLogInNeeded()


def set_preferred_locale(user: User, locale: str) -> None:
    """Remember the language a person picked."""
    _check_locale(locale)
    user.locale = locale


# -- log-in sessions ------------------------------------------------------------------------

def session_lifetime() -> timedelta:
    return timedelta(days=int(current_app.config["SESSION_LIFETIME_DAYS"]))


def start_session(user: User) -> str:
    """A new log-in session; the raw token goes into the person's cookie and nowhere else."""
    raw = secrets.token_urlsafe(32)
    now = clock.now()
    db.session.add(UserSession(user_id=user.id, token_hash=_token_digest(raw), created_at=now,
                               expires_at=now + session_lifetime()))
    db.session.flush()
    user.session_token = raw
    return raw


def user_for_session(raw_token: str) -> User | None:
    """The person a log-in session belongs to, while it lasts; None once it is ended."""
    if not raw_token:
        return None
    user = db.session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id).where(
            UserSession.token_hash == _token_digest(raw_token),
            UserSession.expires_at > clock.now()))
    if user is not None:
        user.session_token = raw_token
    return user


def end_session(raw_token: str | None) -> None:
    """Log out this session: its cookie opens nothing any more."""
    if raw_token:
        db.session.execute(delete(UserSession).where(
            UserSession.token_hash == _token_digest(raw_token)))


def end_all_sessions(user: User) -> None:
    """Log the person out everywhere (every browser and phone)."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    user.session_token = None


def session_count(user: User) -> int:
    """How many places the person is logged in."""
    return db.session.scalar(select(func.count(UserSession.id)).where(
        UserSession.user_id == user.id, UserSession.expires_at > clock.now())) or 0


def remove_expired_sessions(now: datetime) -> int:
    """Delete the records of sessions that have run out (the `tick` sweep)."""
    result = db.session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    return result.rowcount or 0


# -- API tokens -------------------------------------------------------------------------------

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


# Built once: the scan station sends a token with every scan. The ids of the branches a
# librarian works at come in the same row (every staff call asks `manages_branch`), as one
# string rather than as Branch objects: joining the branches cost as much as the rest.
_USER_BY_API_TOKEN = select(User).join(ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash")).options(with_expression(
        User.staff_branch_ids,
        func.coalesce(select(func.aggregate_strings(cast(branch_staff.c.branch_id, String), ","))
                      .where(branch_staff.c.user_id == User.id).correlate(User)
                      .scalar_subquery(), "")))


def user_for_api_token(raw_token: str) -> User | None:
    """The user a bearer token belongs to, or None for an unknown or revoked token."""
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    return db.session.scalar(_USER_BY_API_TOKEN, {"token_hash": _token_digest(raw_token)})


def revoke_api_token(user: User, token_id: int) -> None:
    """Delete one of the user's own tokens; someone else's token is NotFound."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    db.session.delete(token)
    db.session.flush()


# -- e-mail verification and password reset (signed links: accounts.tokens) ---------------

def resend_verification(user: User) -> None:
    """Ask for a new verification e-mail, unless the address is verified already (the outbox
    does not send a second one within a couple of minutes)."""
    if user.email_verified_at is None:
        signals.verification_requested.send(user)


def verify_at_desk(email: str, *, by: User) -> None:
    """Staff confirm the address of a person at the desk (who shows they can read it): the
    account with that address, if any and not yet confirmed, counts as confirmed; audited.
    The caller learns nothing about whether such an account exists."""
    if not by.is_staff:
        raise NotFound()
    user = find_user_by_email(email)
    if user is None or user.email_verified_at is not None:
        return
    user.email_verified_at = clock.now()
    record(AuditAction.EMAIL_VERIFIED, actor_id=by.id, subject_user_id=user.id,
           detail="at the desk")
    db.session.flush()


def verify_email(token: str) -> User:
    """Mark the address of the link's owner verified (again is fine); raises InvalidLink."""
    user = user_for_verification_token(token)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    return user


def request_password_reset(email: str) -> None:
    """Queue a reset link if an account has this address; says nothing either way."""
    user = find_user_by_email(email)
    if user is not None:
        signals.password_reset_requested.send(user)


def check_reset_token(token: str) -> User:
    """The person a reset link is for; raises InvalidLink / ExpiredLink."""
    return user_for_reset_token(token)


def reset_password(token: str, *, new_password: str) -> User:
    """Set a new password through a reset link; the link dies with the old password, and
    every log-in session ends. Getting the link proves the address, so it counts as verified
    too."""
    user = check_reset_token(token)
    change_password(user, new_password=new_password)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    return user
