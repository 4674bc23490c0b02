"""Demo data: real Trøndelag library branches and demo accounts (README lists the passwords)."""

from __future__ import annotations

from sqlalchemy import select

from makerspace.accounts.models import Role, User
from makerspace.accounts.services import create_user, find_user_by_email
from makerspace.branches.models import Branch
from makerspace.extensions import db

DEMO_PASSWORD = "folkeverksted"  # noqa: S105  (demo accounts; listed in the README)

BRANCHES = [
    ("trondheim-hovedbiblioteket", "Trondheim folkebibliotek, Hovedbiblioteket", "Trondheim"),
    ("steinkjer", "Steinkjer bibliotek", "Steinkjer"),
    ("levanger", "Levanger bibliotek", "Levanger"),
    ("stjordal", "Stjørdal bibliotek", "Stjørdal"),
    ("orkland", "Orkland bibliotek", "Orkland"),
    ("namsos", "Namsos bibliotek", "Namsos"),
    ("roros", "Røros bibliotek", "Røros"),
    ("oppdal", "Oppdal bibliotek", "Oppdal"),
    ("midtre-gauldal", "Midtre Gauldal bibliotek", "Midtre Gauldal"),
]

# (e-mail, name, role, branch slugs, birth year)
ACCOUNTS = [
    ("admin@example.no", "Ingrid Fylkesdal", Role.ADMIN, [], 1978),
    ("bibliotekar@example.no", "Ola Bokstad", Role.LIBRARIAN, ["trondheim-hovedbiblioteket"], 1985),
    ("steinkjer@example.no", "Kari Lesmo", Role.LIBRARIAN, ["steinkjer", "levanger"], 1990),
    ("innbygger@example.no", "Sigrid Innbygger", Role.CITIZEN, [], 1996),
    ("ungdom@example.no", "Emil Ung", Role.CITIZEN, [], 2012),
]


def database_is_empty() -> bool:
    """True when no branch exists yet (a fresh database)."""
    return db.session.scalar(select(Branch.id).limit(1)) is None


def seed_demo() -> dict[str, int]:
    """Create what is missing of the demo data; running it again changes nothing."""
    created = {"branches": 0, "users": 0}
    existing = {b.slug for b in db.session.scalars(select(Branch))}
    for slug, name, municipality in BRANCHES:
        if slug not in existing:
            db.session.add(Branch(slug=slug, name=name, municipality=municipality))
            created["branches"] += 1
    db.session.flush()
    for email, name, role, branch_slugs, birth_year in ACCOUNTS:
        if find_user_by_email(email) is None:
            create_user(email=email, name=name, role=role, branch_slugs=branch_slugs,
                        password=DEMO_PASSWORD, birth_year=birth_year)
            created["users"] += 1
    db.session.flush()
    return created


def demo_users() -> list[User]:
    return list(db.session.scalars(select(User).where(User.email.in_([a[0] for a in ACCOUNTS]))))
