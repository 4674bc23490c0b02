"""Demo data: real Trøndelag library branches and demo accounts (README lists the passwords)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.accounts.services import create_user, find_user_by_email
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.booking.services import check_booking_rules, create_equipment, upcoming_count
from makerspace.branches.hours import opening_intervals, set_weekly_hours
from makerspace.branches.models import Branch, WeeklyHours
from makerspace.certifications.models import Certification
from makerspace.certifications.services import create_certification
from makerspace.errors import DomainError
from makerspace.events.models import Event
from makerspace.events.services import create_event, create_weekly_series, sign_up, signup_for
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


LASER_COURSE = ("laserkutter-grunnkurs", "Laserkutter – grunnkurs", 24)

USUAL_HOURS = {"mon": [("10:00", "19:00")], "tue": [("10:00", "19:00")],
               "wed": [("10:00", "19:00")], "thu": [("10:00", "19:00")],
               "fri": [("10:00", "16:00")], "sat": [("11:00", "15:00")], "sun": []}
HOURS = {
    "trondheim-hovedbiblioteket": {**{d: [("08:00", "19:00")] for d in
                                      ("mon", "tue", "wed", "thu", "fri")},
                                   "sat": [("10:00", "16:00")], "sun": []},
}

PRINTER: dict[str, Any] = {"kind": "3d-printer", "slot_minutes": 30, "min_minutes": 60,
                           "max_minutes": 240, "buffer_minutes": 30}
MACHINES: dict[str, list[dict[str, Any]]] = {
    "trondheim-hovedbiblioteket": [
        {"name": "Prusa MK4 nr. 1", **PRINTER,
         "description": "3D-printer for PLA og PETG, byggevolum 25 × 21 × 22 cm."},
        {"name": "Prusa MK4 nr. 2", **PRINTER,
         "description": "3D-printer for PLA og PETG, byggevolum 25 × 21 × 22 cm."},
        {"name": "Bambu Lab X1 Carbon", **PRINTER,
         "description": "Rask 3D-printer med flerfarge (AMS)."},
        {"name": "Laserkutter Epilog Fusion Edge", "kind": "laser-cutter", "slot_minutes": 30,
         "min_minutes": 30, "max_minutes": 120, "buffer_minutes": 15, "min_age": 15,
         "certification": True,
         "description": "Skjærer og graverer tre, akryl, papp og lær. Krever grunnkurs."},
        {"name": "Meta Quest 3", "kind": "vr-kit", "slot_minutes": 30, "min_minutes": 30,
         "max_minutes": 120, "min_age": 13, "description": "VR-briller med håndkontrollere."},
        {"name": "Podkaststudio", "kind": "podcast-studio", "slot_minutes": 30,
         "min_minutes": 60, "max_minutes": 180,
         "description": "Lydstudio med fire mikrofoner og miksebord."},
        {"name": "Digitaliseringsstasjon", "kind": "digitisation-station", "slot_minutes": 30,
         "min_minutes": 60, "max_minutes": 240,
         "description": "Digitaliser lysbilder, negativer, VHS og kassetter."},
    ],
    "steinkjer": [
        {"name": "Prusa MK4", **PRINTER, "description": "3D-printer for PLA og PETG."},
        {"name": "Vinylkutter Cricut Maker 3", "kind": "vinyl-cutter", "slot_minutes": 30,
         "min_minutes": 30, "max_minutes": 120,
         "description": "Kutter vinyl, tekstilfolie og papp."},
        {"name": "Symaskin Husqvarna", "kind": "sewing-machine", "slot_minutes": 30,
         "min_minutes": 60, "max_minutes": 180, "description": "Sy- og broderimaskin."},
    ],
    "levanger": [{"name": "Prusa MK4", **PRINTER}, {"name": "Meta Quest 3", "kind": "vr-kit",
                                                    "min_minutes": 30, "max_minutes": 120,
                                                    "min_age": 13}],
    "stjordal": [{"name": "Bambu Lab P1S", **PRINTER},
                 {"name": "Symaskin Brother", "kind": "sewing-machine", "min_minutes": 60,
                  "max_minutes": 180}],
    "orkland": [{"name": "Prusa MK4", **PRINTER}],
    "namsos": [{"name": "Prusa MK4", **PRINTER},
               {"name": "Vinylkutter", "kind": "vinyl-cutter", "min_minutes": 30,
                "max_minutes": 120}],
    "roros": [{"name": "Digitaliseringsstasjon", "kind": "digitisation-station",
               "min_minutes": 60, "max_minutes": 240}],
    "oppdal": [{"name": "Prusa MK4", **PRINTER}],
    "midtre-gauldal": [{"name": "Meta Quest 3", "kind": "vr-kit", "min_minutes": 30,
                        "max_minutes": 120, "min_age": 13}],
}


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
    created["equipment"] = _seed_equipment()
    created["bookings"] = _seed_bookings()
    created["events"] = _seed_events()
    return created


def _laser_course() -> Certification:
    slug, name, months = LASER_COURSE
    found = db.session.scalar(select(Certification).where(Certification.slug == slug))
    return found or create_certification(slug=slug, name=name, valid_months=months)


def _seed_equipment() -> int:
    added = 0
    for branch in db.session.scalars(select(Branch)):
        if db.session.scalar(select(WeeklyHours.id).where(WeeklyHours.branch_id == branch.id)
                             .limit(1)) is None:
            set_weekly_hours(branch, HOURS.get(branch.slug, USUAL_HOURS))
        existing = set(db.session.scalars(select(Equipment.name)
                                          .where(Equipment.branch_id == branch.id)))
        for spec in MACHINES.get(branch.slug, []):
            if spec["name"] in existing:
                continue
            fields = {k: v for k, v in spec.items() if k != "certification"}
            if spec.get("certification"):
                fields["requires_certification"] = _laser_course()
            create_equipment(branch, **fields)
            added += 1
    return added


# (title, weekday (0 = Monday), start, end, capacity, min age, category,
#  description in bokmål, nynorsk, English)
COURSES = [
    ("Introduksjon til 3D-printing", 1, time(17), time(19), 8, None, "3d-printing",
     "Fra idé til utskrift: vi modellerer i Tinkercad og skriver ut på Prusa-printerne.",
     "Frå idé til utskrift: vi modellerer i Tinkercad og skriv ut på Prusa-printarane.",
     "From idea to print: we model in Tinkercad and print on the Prusa printers."),
    ("Åpent verksted for ungdom (13+)", 0, time(16), time(19), 12, 13, "open-workshop",
     "Kom og lag noe! Ansatte og frivillige hjelper deg i gang med maskinene.",
     "Kom og lag noko! Tilsette og frivillige hjelper deg i gang med maskinene.",
     "Come and make something! Staff and volunteers help you get started on the machines."),
    ("Digitaliser familiebildene", 3, time(12), time(14), 6, None, "digitisation",
     "Lær å skanne lysbilder, negativer og papirbilder på digitaliseringsstasjonen.",
     "Lær å skanne lysbilete, negativ og papirbilete på digitaliseringsstasjonen.",
     "Learn to scan slides, negatives and paper photos on the digitisation station."),
]
LASER_TEXTS = {
    "description": "Sikkerhet, materialer og første kutt. Bestått kurs gir godkjenning til å "
                   "bruke laserkutteren i to år.",
    "description_nn": "Tryggleik, materiale og første kutt. Bestått kurs gir godkjenning til "
                      "å bruke laserkuttaren i to år.",
    "description_en": "Safety, materials and your first cut. Passing the course lets you use "
                      "the laser cutter for two years.",
}


def _seed_events() -> int:
    """A handful of courses per branch with machines, and the laser course in Trondheim."""
    added = 0
    zone_now = clock.now()
    for branch in db.session.scalars(select(Branch).order_by(Branch.id)):
        if not MACHINES.get(branch.slug) or db.session.scalar(
                select(Event.id).where(Event.branch_id == branch.id).limit(1)):
            continue
        today = zone_now.astimezone(ZoneInfo(branch.timezone)).date()
        for (title, weekday, starts, ends, capacity, min_age, category, description,
             description_nn, description_en) in COURSES:
            first = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
            added += len(create_weekly_series(
                branch=branch, title=title, first_day=first, starts=starts, ends=ends,
                until=first + timedelta(weeks=3), capacity=capacity, min_age=min_age,
                category=category, description=description, description_nn=description_nn,
                description_en=description_en))
        if branch.slug == "trondheim-hovedbiblioteket":
            day = today + timedelta(days=(2 - today.weekday()) % 7 or 7)  # next Wednesday
            zone = ZoneInfo(branch.timezone)
            for week in (0, 2):
                start = datetime.combine(day + timedelta(weeks=week), time(17), tzinfo=zone)
                create_event(branch=branch, title=LASER_COURSE[1], start=start,
                             end=start + timedelta(hours=2, minutes=30), capacity=6, min_age=15,
                             instructor="Ola Bokstad", grants_certification=_laser_course(),
                             category="laser", **LASER_TEXTS)
                added += 1
    _seed_signups()
    db.session.flush()
    return added


def _seed_signups() -> None:
    """The demo citizens have a place on a course or two."""
    citizens = {u.email: u for u in demo_users() if u.role == Role.CITIZEN}
    first_laser = db.session.scalar(select(Event).where(Event.title == LASER_COURSE[1])
                                    .order_by(Event.start_at).limit(1))
    youth = db.session.scalar(select(Event).where(Event.min_age == 13)
                              .order_by(Event.start_at).limit(1))
    for event, email in ((first_laser, "innbygger@example.no"), (youth, "ungdom@example.no")):
        if event is not None and email in citizens and signup_for(event, citizens[email]) is None:
            sign_up(event=event, user=citizens[email])


# The demo citizens' own bookings (within the rules: the quota is 3 upcoming per library, so
# a newcomer logged in as Sigrid can still book one more): (e-mail, machine, days ahead, hour).
OWN_BOOKINGS = [
    ("innbygger@example.no", "Prusa MK4 nr. 1", 1, 12),
    ("innbygger@example.no", "Podkaststudio", 3, 14),
    ("ungdom@example.no", "Meta Quest 3", 2, 16),
]
# Other people's bookings make the weeks look alive; they belong to neighbours (accounts
# nobody logs in to), each within the same quota, never to the demo citizens.
NEIGHBOUR_EMAIL = "nabo{:02d}@example.no"


def _seed_bookings() -> int:
    """Bookings over the coming two weeks, so the pages look alive (only where none exist);
    every one passes the booking rules and no one holds more than the quota allows."""
    now = clock.now()
    added = 0
    citizens = {u.email: u for u in demo_users()}
    for equipment in db.session.scalars(select(Equipment).order_by(Equipment.id)):
        if equipment.requires_certification_id or db.session.scalar(
                select(Booking.id).where(Booking.equipment_id == equipment.id).limit(1)):
            continue
        zone = ZoneInfo(equipment.branch.timezone)
        today = now.astimezone(zone).date()
        for email, name, days, hour in OWN_BOOKINGS:
            if name == equipment.name and email in citizens and \
                    equipment.branch.slug == "trondheim-hovedbiblioteket":
                for later in range(7):  # the first day from then on that the library is open
                    day = today + timedelta(days=days + later)
                    start = datetime.combine(day, time(hour), tzinfo=zone)
                    if _add_booking(equipment, citizens[email], start, now):
                        added += 1
                        break
        for index, interval in enumerate(opening_intervals(equipment.branch, today, 14)):
            if index % 2 or interval.start < now:
                continue
            start = interval.start + timedelta(hours=1 + index % 3)
            end = start + timedelta(minutes=equipment.min_minutes)
            if end > interval.end:
                continue
            added += _add_booking(equipment, _neighbour(equipment, now), start, now)
    db.session.flush()
    return added


def _neighbour(equipment: Equipment, now: datetime) -> User:
    """The first neighbour who may still book at this machine's library (made when needed)."""
    quota = equipment.branch.max_upcoming_bookings
    number = 1
    while True:
        email = NEIGHBOUR_EMAIL.format(number)
        person = find_user_by_email(email)
        if person is None:
            person, _password = create_user(email=email, name=f"Nabo {number}",
                                            role=Role.CITIZEN, birth_year=1970 + number)
            db.session.flush()
        if upcoming_count(person, equipment.branch, now) < quota:
            return person
        number += 1


def _add_booking(equipment: Equipment, person: User, start: datetime, now: datetime) -> int:
    """Add the booking if the rules allow it and the machine is free then; 1 if added."""
    end = start + timedelta(minutes=equipment.min_minutes)
    try:
        check_booking_rules(user=person, equipment=equipment, start=start, end=end, now=now)
    except DomainError:
        return 0
    occupied_until = end + timedelta(minutes=equipment.buffer_minutes)
    if db.session.scalar(select(Booking.id).where(
            Booking.equipment_id == equipment.id, Booking.start_at < occupied_until,
            Booking.occupied_until > start, Booking.status.in_(BookingStatus.active()))):
        return 0
    db.session.add(Booking(
        equipment=equipment, user=person, start_at=start, end_at=end,
        status=BookingStatus.CONFIRMED, age_band=person.age_band(start),
        occupied_until=occupied_until))
    db.session.flush()  # the next check counts it
    return 1


def demo_users() -> list[User]:
    return list(db.session.scalars(select(User).where(User.email.in_([a[0] for a in ACCOUNTS]))))
