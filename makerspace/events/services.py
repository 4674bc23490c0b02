"""Courses and events: creating them, weekly series, sign-ups, waitlists and attendance.

Capacity holds under concurrency because every sign-up change first locks the event's row
(PostgreSQL `SELECT … FOR UPDATE`; SQLite write transactions are serialised by BEGIN IMMEDIATE),
so counting seats and taking one happen as one step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from dateutil.rrule import WEEKLY, rrule
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from makerspace import clock
from makerspace.accounts.models import User
from makerspace.auth import manages_branch
from makerspace.booking import guardians
from makerspace.branches.hours import hours_for_days
from makerspace.branches.models import Branch
from makerspace.certifications.models import Certification
from makerspace.certifications.services import grant_certification, holds_certification
from makerspace.core import audit, signals
from makerspace.core.audit import AuditAction
from makerspace.core.pagination import PER_PAGE, Page, paginate
from makerspace.errors import DomainError
from makerspace.events import errors
from makerspace.events.models import (
    Event,
    EventCategory,
    EventSeries,
    EventStatus,
    Signup,
    SignupStatus,
)
from makerspace.extensions import db
from makerspace.i18n import local_datetime


@dataclass(frozen=True)
class EventCounts:
    confirmed: int
    waitlisted: int


# -- events -------------------------------------------------------------------------------

def _check_event(event: Event) -> None:
    if not event.title.strip():
        raise errors.InvalidEvent(_("A title is required."))
    if event.end_at <= event.start_at:
        raise errors.InvalidEvent(_("The end must be after the start."))
    if event.capacity < 0 or event.capacity > 10_000:
        raise errors.InvalidEvent(_("The capacity must be 0 to 10000."))
    if event.min_age is not None and not 0 <= event.min_age <= 100:
        raise errors.InvalidEvent(_("The age limit must be 0 to 100."))
    if event.guardian_consent_under is not None and not 1 <= event.guardian_consent_under <= 100:
        raise errors.InvalidEvent(_("The age for a guardian's consent must be 1 to 100."))
    if event.signup_opens_at and event.signup_opens_at >= event.signup_deadline:
        raise errors.InvalidEvent(_("Sign-up must open before it closes."))
    if event.category is not None and event.category not in set(EventCategory):
        raise errors.InvalidEvent(_("There is no such category."))


EVENT_FIELDS = ("title", "description", "instructor", "start_at", "end_at", "capacity",
                "signup_opens_at", "signup_closes_at", "min_age", "requires_certification",
                "grants_certification", "category", "description_nn", "description_en",
                "guardian_consent_under")


def create_event(*, branch: Branch, title: str, start: datetime, end: datetime, capacity: int,
                 description: str = "", instructor: str = "",
                 signup_opens_at: datetime | None = None,
                 signup_closes_at: datetime | None = None, min_age: int | None = None,
                 requires_certification: Certification | None = None,
                 grants_certification: Certification | None = None,
                 series: EventSeries | None = None, category: str | None = None,
                 description_nn: str = "", description_en: str = "",
                 guardian_consent_under: int | None = None) -> Event:
    """A course, workshop or open-workshop session at a branch. `description` is bokmål;
    the nynorsk and English ones are optional (readers get bokmål where one is missing)."""
    event = Event(branch=branch, title=title.strip(), description=description.strip(),
                  description_nn=description_nn.strip(), description_en=description_en.strip(),
                  category=category or None,
                  instructor=instructor.strip(), start_at=start, end_at=end, capacity=capacity,
                  signup_opens_at=signup_opens_at, signup_closes_at=signup_closes_at,
                  min_age=min_age, requires_certification=requires_certification,
                  grants_certification=grants_certification, series=series,
                  guardian_consent_under=guardian_consent_under)
    _check_event(event)
    db.session.add(event)
    db.session.flush()
    return event


def update_event(event: Event, **fields: object) -> Event:
    """Change an event; a larger capacity promotes people from the waitlist."""
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown event fields {unknown}")
    locked = lock_event(event.id)
    counts = event_counts([locked])[locked.id]
    for name, value in fields.items():
        setattr(locked, name, value.strip() if isinstance(value, str) else value)
    _check_event(locked)
    if locked.capacity < counts.confirmed:
        raise errors.InvalidEvent(_("%(count)s people have a seat already; the capacity cannot "
                                    "be lower.", count=counts.confirmed))
    locked.sequence += 1
    _promote(locked)
    db.session.flush()
    return locked


def create_weekly_series(*, branch: Branch, title: str, first_day: date, starts: time,
                         ends: time, until: date, capacity: int, skip_closed_days: bool = True,
                         **fields: object) -> list[Event]:
    """Materialise a weekly series (e.g. every Tuesday 17:00–19:00 until a date) as events,
    skipping days the branch is closed; each occurrence can then be edited on its own."""
    if until < first_day or (until - first_day).days > 366:
        raise errors.InvalidEvent(_("A series must end after it starts, within a year."))
    zone = ZoneInfo(branch.timezone)
    rule = rrule(WEEKLY, dtstart=datetime.combine(first_day, starts),
                 until=datetime.combine(until, starts))
    days = {d.day: d for d in hours_for_days(branch, first_day, (until - first_day).days + 1)}
    series = EventSeries(branch_id=branch.id, rule=str(rule).splitlines()[-1])
    db.session.add(series)
    events = []
    for occurrence in rule:
        hours = days[occurrence.date()]
        if skip_closed_days and hours.closed:
            continue
        start = occurrence.replace(tzinfo=zone)
        end = datetime.combine(occurrence.date(), ends, tzinfo=zone)
        events.append(create_event(branch=branch, title=title, start=start, end=end,
                                   capacity=capacity, series=series, **fields))  # type: ignore[arg-type]
    return events


def cancel_event(event: Event, *, reason: str) -> Event:
    """Cancel an event; its sign-ups stay, so everyone can be told."""
    if event.status == EventStatus.CANCELLED:
        raise errors.EventCancelled()
    event.status = EventStatus.CANCELLED
    event.cancel_reason = reason.strip()
    event.sequence += 1
    db.session.flush()
    signals.event_cancelled.send(event)
    return event


def lock_event(event_id: int) -> Event:
    """The event, its row locked until the transaction ends (PostgreSQL)."""
    event = db.session.scalar(select(Event).where(Event.id == event_id).with_for_update()
                              .execution_options(populate_existing=True))
    if event is None:
        raise errors.EventNotFound()
    return event


def event_by_id(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise errors.EventNotFound()
    return event


def event_counts(events: Iterable[Event]) -> dict[int, EventCounts]:
    """Confirmed and waitlisted sign-ups per event, in one query."""
    ids = [e.id for e in events]
    counts = {event_id: EventCounts(0, 0) for event_id in ids}
    if not ids:
        return counts
    rows = db.session.execute(
        select(Signup.event_id,
               func.sum(case((Signup.status == SignupStatus.CONFIRMED, 1), else_=0)),
               func.sum(case((Signup.status == SignupStatus.WAITLISTED, 1), else_=0)))
        .where(Signup.event_id.in_(ids)).group_by(Signup.event_id))
    for event_id, confirmed, waitlisted in rows:
        counts[event_id] = EventCounts(int(confirmed or 0), int(waitlisted or 0))
    return counts


def list_events(*, branch: Branch | None = None, start: datetime, end: datetime | None = None,
                include_cancelled: bool = True, page: int = 1, per_page: int = PER_PAGE
                ) -> Page[Event]:
    """A page of the events that end after `start` (and begin before `end`), soonest first."""
    query = select(Event).where(Event.end_at > start)
    if end is not None:
        query = query.where(Event.start_at < end)
    if branch is not None:
        query = query.where(Event.branch_id == branch.id)
    if not include_cancelled:
        query = query.where(Event.status == EventStatus.SCHEDULED)
    query = query.options(joinedload(Event.branch)).order_by(Event.start_at, Event.id)
    return paginate(query, page=page, per_page=per_page)


# Age groups of the course list's filter, by the oldest age in the group: a course is shown
# for a group when someone in it may join (no age limit, or one at most that age).
AGE_GROUPS = {"children": 12, "youth": 17, "adults": 200}


@dataclass(frozen=True)
class CourseFilter:
    branch: Branch | None = None
    category: str | None = None
    age_group: str | None = None
    free_seats: bool = False


def _course_conditions(start: datetime, chosen: CourseFilter) -> list[object]:
    conditions: list[object] = [Event.end_at > start]
    if chosen.branch is not None:
        conditions.append(Event.branch_id == chosen.branch.id)
    if chosen.category:
        conditions.append(Event.category == chosen.category)
    if chosen.age_group in AGE_GROUPS:
        conditions.append(or_(Event.min_age.is_(None),
                              Event.min_age <= AGE_GROUPS[chosen.age_group]))
    if chosen.free_seats:
        confirmed = (select(func.count(Signup.id))
                     .where(Signup.event_id == Event.id,
                            Signup.status == SignupStatus.CONFIRMED)
                     .correlate_except(Signup).scalar_subquery())
        conditions += [Event.status == EventStatus.SCHEDULED, Event.capacity > confirmed]
    return conditions


def list_courses(*, start: datetime, chosen: CourseFilter, page: int = 1,
                 per_page: int = PER_PAGE) -> Page[Event]:
    """The public course list: events that end after `start` and match the filter, soonest
    first, each weekly series once (its first matching occurrence)."""
    conditions = _course_conditions(start, chosen)
    first = (select(Event.series_id, func.min(Event.start_at).label("first_start"))
             .where(Event.series_id.is_not(None), *conditions)
             .group_by(Event.series_id).subquery())
    query = (select(Event).outerjoin(first, first.c.series_id == Event.series_id)
             .where(*conditions, or_(Event.series_id.is_(None),
                                     Event.start_at == first.c.first_start))
             .options(joinedload(Event.branch)).order_by(Event.start_at, Event.id))
    return paginate(query, page=page, per_page=per_page)


def later_dates(events: Iterable[Event], *, start: datetime, chosen: CourseFilter,
                limit: int = 4) -> dict[int, list[Event]]:
    """For each series among `events`: its next occurrences after the one shown that match
    the filter (at most `limit`), in one query."""
    shown = {e.series_id: e for e in events if e.series_id is not None}
    later: dict[int, list[Event]] = {series_id: [] for series_id in shown}
    if not shown:
        return later
    rows = db.session.scalars(
        select(Event).where(Event.series_id.in_(shown), *_course_conditions(start, chosen))
        .order_by(Event.start_at, Event.id))
    for event in rows:
        found = later[event.series_id]  # type: ignore[index]
        if event.start_at > shown[event.series_id].start_at and len(found) < limit:
            found.append(event)
    return later


def upcoming_events_granting(certification: Certification, now: datetime,
                             limit: int = 5) -> list[Event]:
    """Where to get a certification: upcoming, scheduled events that grant it."""
    return list(db.session.scalars(
        select(Event).where(Event.grants_certification_id == certification.id,
                            Event.status == EventStatus.SCHEDULED, Event.start_at > now)
        .order_by(Event.start_at).limit(limit)))


# -- sign-ups -----------------------------------------------------------------------------

def sign_up(*, event: Event, user: User, by: User | None = None,
            guardian_email: str | None = None) -> Signup:
    """Take a seat while there is one, else a place on the waitlist. Where the course asks a
    guardian at the person's age, `guardian_email` is where to ask (booking/guardians.py): the
    seat is taken at once but waits for the consent (no check-in code until then)."""
    now = clock.now()
    locked = lock_event(event.id)
    if locked.status == EventStatus.CANCELLED:
        raise errors.EventCancelled()
    if locked.signup_window(now) != "open":
        raise errors.SignupClosed()
    age = user.age_in(locked.start_at)
    if locked.min_age is not None and (age is None or age < locked.min_age):
        raise errors.EventTooYoung(_("This is for people who turn %(age)s this year or are "
                                     "older.", age=locked.min_age))
    needed = locked.requires_certification
    if needed is not None and not holds_certification(user, needed, locked.start_at):
        raise errors.EventNotCertified(_("This needs the certification “%(name)s”.",
                                         name=needed.name), certification=needed.slug)
    if db.session.scalar(select(Signup.id).where(
            Signup.event_id == locked.id, Signup.user_id == user.id,
            Signup.status.in_(SignupStatus.live()))) is not None:
        raise errors.AlreadySignedUp()
    guardians.ask_for_signup(user=user, event=locked, guardian_email=guardian_email, now=now)
    counts = event_counts([locked])[locked.id]
    signup = Signup(event=locked, user=user, created_by_id=(by or user).id,
                    age_band=user.age_band(locked.start_at))
    if counts.confirmed < locked.capacity:
        signup.status = SignupStatus.CONFIRMED
    else:
        signup.status = SignupStatus.WAITLISTED
        signup.queue_number = (db.session.scalar(
            select(func.max(Signup.queue_number)).where(Signup.event_id == locked.id)) or 0) + 1
    db.session.add(signup)
    db.session.flush()
    signals.signup_created.send(signup)
    return signup


def waitlist_position(signup: Signup) -> int | None:
    """1 for the first in the queue; None unless waitlisted."""
    if signup.status != SignupStatus.WAITLISTED:
        return None
    return db.session.scalar(select(func.count(Signup.id)).where(
        Signup.event_id == signup.event_id, Signup.status == SignupStatus.WAITLISTED,
        Signup.queue_number <= signup.queue_number))


def _promote(event: Event) -> list[Signup]:
    """Fill free seats from the waitlist, first come first served (event row locked)."""
    free = event.capacity - event_counts([event])[event.id].confirmed
    if free <= 0:
        return []
    promoted = list(db.session.scalars(
        select(Signup).where(Signup.event_id == event.id,
                             Signup.status == SignupStatus.WAITLISTED)
        .order_by(Signup.queue_number).limit(free)))
    for signup in promoted:
        signup.status = SignupStatus.CONFIRMED
        signup.queue_number = None
        signup.sequence += 1
    db.session.flush()
    if promoted:
        signals.signups_promoted.send(event, signups=promoted)
    return promoted


def signup_visible_to(signup_id: int, user: User) -> Signup:
    """The sign-up if `user` owns it or is staff of its branch; otherwise not found."""
    signup = db.session.get(Signup, signup_id)
    if signup is None or not (signup.user_id == user.id
                              or manages_branch(user, signup.event.branch)):
        raise errors.SignupNotFound()
    return signup


def leave_refusal(signup: Signup, *, by: User) -> DomainError | None:
    """Why `by` may not give up this seat or waitlist place now, or None. The person leaves
    their own until the start (not after attending, not a cancelled course); branch staff may
    take anyone off at any time. Pages ask this to offer a button."""
    is_staff = manages_branch(by, signup.event.branch)
    if signup.user_id != by.id and not is_staff:
        return errors.SignupNotFound()
    if not signup.status.is_live:
        return errors.SignupNotFound()
    if signup.attended_at is not None:
        return errors.NotConfirmed(_("You have attended already."))
    if not is_staff and signup.event.status == EventStatus.CANCELLED:
        return errors.EventCancelled()
    if not is_staff and clock.now() >= signup.event.start_at:
        return errors.SignupClosed(_("It has started; ask the library staff."))
    return None


def leave(signup: Signup, *, by: User) -> list[Signup]:
    """Give up a seat or a waitlist place, if `leave_refusal` allows; a freed seat goes to the
    first on the waitlist in the same transaction. Returns the promoted sign-ups."""
    if signup.user_id != by.id and not manages_branch(by, signup.event.branch):
        raise errors.SignupNotFound()
    event = lock_event(signup.event_id)
    db.session.refresh(signup)
    refusal = leave_refusal(signup, by=by)
    if refusal is not None:
        raise refusal
    signup.status = SignupStatus.CANCELLED
    signup.queue_number = None
    signup.cancelled_at = clock.now()
    signup.sequence += 1
    db.session.flush()
    return _promote(event)


def release_signups(signups: list[Signup], *, now: datetime) -> list[Signup]:
    """Cancel these sign-ups (a guardian withdrew or never answered) and give each freed seat
    to the waitlist; events are locked in id order so two releases cannot deadlock."""
    cancelled = []
    for event_id in sorted({s.event_id for s in signups}):
        event = lock_event(event_id)
        for signup in (s for s in signups if s.event_id == event_id):
            db.session.refresh(signup)
            if signup.status.is_live and signup.attended_at is None:
                signup.status = SignupStatus.CANCELLED
                signup.queue_number = None
                signup.cancelled_at = now
                signup.sequence += 1
                cancelled.append(signup)
        db.session.flush()
        _promote(event)
    return cancelled


def _release_withdrawn(_consent: object, *, signups: list[Signup], now: datetime,
                       **_: object) -> None:
    if signups:
        release_signups(signups, now=now)


def connect() -> None:
    """Release the sign-ups of a course whose guardian's consent was withdrawn or never
    given, in the same transaction (called once by create_app; idempotent)."""
    signals.guardian_consent_withdrawn.connect(_release_withdrawn, weak=False)


def mark_attendance(signup: Signup, *, by: User, early: bool = False) -> Signup:
    """Staff mark who came, from the check-in window's opening on (`early`: before it, an
    override the caller audits); attending a certifying event grants its certification (with
    expiry when the certification has a validity)."""
    event = signup.event
    if not manages_branch(by, event.branch):
        raise errors.SignupNotFound()
    if signup.status != SignupStatus.CONFIRMED:
        raise errors.NotConfirmed()
    if guardians.is_pending(signup):
        raise errors.AwaitingGuardian()
    now = clock.now()
    opens = event.branch.checkin_window(event.start_at)[0]
    if now < opens and not early:
        raise errors.AttendanceTooEarly(
            _("Attendance can be marked from %(time)s.",
              time=local_datetime(opens, event.branch.timezone, "short")),
            opens_at=opens.isoformat())
    if signup.attended_at is None:
        signup.attended_at = now
        signup.attendance_marked_by_id = by.id
        audit.record(AuditAction.ATTENDED, at=now, actor_id=by.id,
                     subject_user_id=signup.user_id, signup_id=signup.id)
        if event.grants_certification is not None:
            grant_certification(user=signup.user, certification=event.grants_certification,
                                granted_by=by, note=event.title, at=now, branch=event.branch)
    db.session.flush()
    return signup


def signups_of(user: User, *, now: datetime, upcoming: bool | None = True, page: int = 1,
               per_page: int = PER_PAGE) -> Page[Signup]:
    """A page of a person's sign-ups: upcoming (soonest first), past and left (latest
    first), or both (None: upcoming first, then the rest)."""
    query = select(Signup).join(Event).where(Signup.user_id == user.id).options(
        contains_eager(Signup.event).joinedload(Event.branch))
    ahead = (Event.end_at > now) & Signup.status.in_(SignupStatus.live())
    if upcoming is True:
        query = query.where(ahead).order_by(Event.start_at, Signup.id)
    elif upcoming is False:
        query = query.where(~ahead).order_by(Event.start_at.desc(), Signup.id.desc())
    else:
        query = query.order_by(case((ahead, 0), else_=1), case((ahead, Event.start_at)).asc(),
                               Event.start_at.desc(), Signup.id)
    return paginate(query, page=page, per_page=per_page)


def attendees(event: Event) -> list[Signup]:
    """Everyone signed up (confirmed first, then the waitlist in order), for staff."""
    return list(db.session.scalars(
        select(Signup).where(Signup.event_id == event.id, Signup.status.in_(SignupStatus.live()))
        .order_by(case((Signup.status == SignupStatus.CONFIRMED, 0), else_=1),
                  Signup.queue_number, Signup.created_at)))


def signup_for(event: Event, user: User) -> Signup | None:
    """The person's live sign-up for the event, if any."""
    return db.session.scalar(select(Signup).where(
        Signup.event_id == event.id, Signup.user_id == user.id,
        Signup.status.in_(SignupStatus.live())))


# -- the desk: attendance, and seats out of turn -------------------------------------------

def _require_staff_of(event: Event, by: User) -> None:
    if not manages_branch(by, event.branch):
        raise errors.EventNotFound()


def mark_all_present(event: Event, *, by: User) -> int:
    """Mark everyone with a seat who is not marked yet as attended; returns how many."""
    _require_staff_of(event, by)
    marked = 0
    for signup in attendees(event):
        if signup.status == SignupStatus.CONFIRMED and signup.attended_at is None \
                and not guardians.is_pending(signup):
            mark_attendance(signup, by=by)
            marked += 1
    return marked


def give_seat_out_of_turn(signup: Signup, *, by: User, reason: str) -> Signup:
    """Staff give someone on the waitlist a seat before those ahead of them (even on a full
    course: an extra chair); needs a reason, audited, and the person is told."""
    event = lock_event(signup.event_id)
    _require_staff_of(event, by)
    db.session.refresh(signup)
    if signup.status != SignupStatus.WAITLISTED:
        raise errors.NotConfirmed(_("This person is not on the waitlist."))
    if not reason.strip():
        raise errors.ReasonRequired()
    signup.status = SignupStatus.CONFIRMED
    signup.queue_number = None
    signup.sequence += 1
    db.session.flush()
    audit.record(AuditAction.SEAT_OUT_OF_TURN, actor_id=by.id, subject_user_id=signup.user_id,
                 signup_id=signup.id, detail=reason.strip())
    signals.signups_promoted.send(event, signups=[signup])
    return signup


def add_at_door(event: Event, *, person: User, by: User, reason: str = "") -> Signup:
    """Someone turns up without a sign-up: give them a seat and mark them present (from the
    check-in window's opening). When the course is full or people are waiting, that is a
    seat out of turn: it needs a reason and is audited as such."""
    locked = lock_event(event.id)
    _require_staff_of(locked, by)
    if locked.status == EventStatus.CANCELLED:
        raise errors.EventCancelled()
    existing = signup_for(locked, person)
    counts = event_counts([locked])[locked.id]
    out_of_turn = counts.confirmed >= locked.capacity or counts.waitlisted > 0
    if existing is not None and existing.status == SignupStatus.CONFIRMED:
        return mark_attendance(existing, by=by)
    if out_of_turn and not reason.strip():
        raise errors.ReasonRequired()
    if existing is not None:  # on the waitlist: the seat is theirs now
        signup = give_seat_out_of_turn(existing, by=by, reason=reason)
    else:
        signup = Signup(event=locked, user=person, created_by_id=by.id,
                        status=SignupStatus.CONFIRMED, age_band=person.age_band(locked.start_at),
                        reminded_at=clock.now())
        db.session.add(signup)
        db.session.flush()
        audit.record(AuditAction.SEAT_OUT_OF_TURN if out_of_turn else AuditAction.ADDED_AT_DOOR,
                     actor_id=by.id, subject_user_id=person.id, signup_id=signup.id,
                     detail=reason.strip())
    if clock.now() >= locked.branch.checkin_window(locked.start_at)[0]:
        mark_attendance(signup, by=by)
    db.session.flush()
    return signup


def message_participants(event: Event, *, subject: str, body: str, by: User) -> int:
    """E-mail everyone with a seat (through the outbox); returns how many will get it."""
    _require_staff_of(event, by)
    if not subject.strip() or not body.strip():
        raise errors.EmptyMessage()
    count = sum(1 for s in attendees(event)
                if s.status == SignupStatus.CONFIRMED and s.user_id is not None)
    signals.course_message.send(event, subject=" ".join(subject.split()), body=body.strip(),
                                by=by)
    return count


def seat_overrides(signup_ids: list[int]) -> dict[int, audit.AuditEntry]:
    """Seats given out of turn, by sign-up (to show them as such)."""
    if not signup_ids:
        return {}
    return {e.signup_id: e for e in db.session.scalars(select(audit.AuditEntry).where(
        audit.AuditEntry.signup_id.in_(signup_ids),
        audit.AuditEntry.action == AuditAction.SEAT_OUT_OF_TURN))}  # type: ignore[misc]
