"""iCal feeds (public, staff, personal, single items) and the Calendars page."""

from __future__ import annotations

from collections import OrderedDict

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from makerspace import clock
from makerspace.auth import managed_branch_or_404, manages_branch
from makerspace.booking.services import booking_visible_to, equipment_at, equipment_by_id
from makerspace.branches.services import all_branches, branch_by_slug
from makerspace.calendar import services
from makerspace.calendar.ical import build_calendar
from makerspace.core.forms import EmptyForm
from makerspace.events.services import signup_visible_to
from makerspace.i18n import select_locale

bp = Blueprint("calendar", __name__)

CALENDAR_TYPE = "text/calendar; charset=utf-8"
# Built feeds, the latest of each (its address and language) with its ETag: clients that
# never send If-None-Match (Google Calendar) still get the same bytes without a rebuild while
# nothing changed. A feed that changes replaces its old bytes. Per app and process, and
# bounded by size too: a county's feed of 5,000 events is 2-3 MB.
BUILT_FEEDS_KEPT = 64
BUILT_FEEDS_BYTES = 16 * 1024 * 1024


def _built(feed: tuple[str, str], etag: str, build) -> bytes:  # type: ignore[no-untyped-def]
    cache: OrderedDict[tuple[str, str], tuple[str, bytes]] = current_app.extensions.setdefault(
        "built_feeds", OrderedDict())
    kept = cache.get(feed)
    if kept is not None and kept[0] == etag:
        cache.move_to_end(feed)
        return kept[1]
    body = build()
    cache[feed] = (etag, body)
    cache.move_to_end(feed)
    while len(cache) > 1 and (len(cache) > BUILT_FEEDS_KEPT or sum(
            len(bytes_) for _etag, bytes_ in cache.values()) > BUILT_FEEDS_BYTES):
        cache.popitem(last=False)
    return body


def _feed_locale() -> str:
    """`?lang=` for subscriptions (calendar apps send no language), else the usual choice."""
    lang = request.args.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else select_locale()


def _serve(make_feed, filename: str):  # type: ignore[no-untyped-def]
    """ETag and Last-Modified from a cheap fingerprint; 304 without building the feed."""
    locale = _feed_locale()
    now = clock.now()
    with force_locale(locale):
        feed = make_feed(now)
        etag, modified = feed.fingerprint(now=now, locale=locale)
        response = Response(mimetype="text/calendar")
        response.headers["ETag"] = etag
        response.last_modified = modified
        response.headers["Cache-Control"] = ("private" if feed.private else "public") + \
            ", max-age=300"
        response.vary.add("Accept-Language")
        if request.if_none_match.contains_weak(etag.strip('"')) or (
                not request.if_none_match and request.if_modified_since
                and modified.replace(microsecond=0) <= request.if_modified_since):
            response.status_code = 304
            return response
        response.set_data(_built((request.path, locale), etag,
                                 lambda: build_calendar(feed.meta, feed.items())))
    response.content_type = CALENDAR_TYPE
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/calendar/events.ics")
def all_events_feed():  # type: ignore[no-untyped-def]
    return _serve(lambda now: services.public_events_feed(now), "folkeverksted.ics")


@bp.get("/calendar/branches/<slug>/events.ics")
def branch_events_feed(slug: str):  # type: ignore[no-untyped-def]
    branch = branch_by_slug(slug)
    return _serve(lambda now: services.public_events_feed(now, branch), f"{slug}.ics")


@bp.get("/calendar/equipment/<id:equipment_id>.ics")
def equipment_feed(equipment_id: int):  # type: ignore[no-untyped-def]
    equipment = equipment_by_id(equipment_id)
    return _serve(lambda now: services.equipment_feed(now, equipment),
                  f"equipment-{equipment_id}.ics")


@bp.get("/calendar/staff/<token>.ics")
def staff_feed(token: str):  # type: ignore[no-untyped-def]
    branch = services.branch_by_feed_token(token)
    if branch is None:
        abort(404)
    return _serve(lambda now: services.staff_feed(now, branch), f"staff-{branch.slug}.ics")


@bp.get("/calendar/me/<token>.ics")
def personal_feed(token: str):  # type: ignore[no-untyped-def]
    user = services.user_by_feed_token(token)
    if user is None:
        abort(404)
    return _serve(lambda now: services.personal_feed(now, user), "folkeverksted-meg.ics")


def _single(ics: bytes, filename: str):  # type: ignore[no-untyped-def]
    response = Response(ics, content_type=CALENDAR_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/bookings/<id:booking_id>.ics")
@login_required
def booking_file(booking_id: int):  # type: ignore[no-untyped-def]
    booking = booking_visible_to(booking_id, current_user)
    return _single(services.booking_file(booking), f"booking-{booking_id}.ics")


@bp.get("/signups/<id:signup_id>.ics")
@login_required
def signup_file(signup_id: int):  # type: ignore[no-untyped-def]
    signup = signup_visible_to(signup_id, current_user)
    return _single(services.signup_file(signup), f"signup-{signup_id}.ics")


@bp.get("/calendars")
def calendars_page():  # type: ignore[no-untyped-def]
    branches = all_branches()
    staff_branches = [b for b in branches if manages_branch(current_user, b)]
    return render_template(
        "calendar/calendars.html", branches=branches, staff_branches=staff_branches,
        machines={b.id: equipment_at(b) for b in branches}, form=EmptyForm(),
        personal_url=services.personal_feed_url(current_user)
        if current_user.is_authenticated else None,
        staff_urls={b.id: services.staff_feed_url(b) for b in staff_branches})


@bp.post("/calendars/me/rotate")
@login_required
def rotate_personal():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        services.rotate_personal_token(current_user)
        flash(_("You have a new calendar address. The old one no longer works."), "success")
    return redirect(url_for("calendar.calendars_page", _anchor="mine"))


@bp.post("/calendars/staff/<slug>/rotate")
@login_required
def rotate_staff(slug: str):  # type: ignore[no-untyped-def]
    branch = managed_branch_or_404(slug)
    if EmptyForm().validate_on_submit():
        services.rotate_staff_token(branch)
        flash(_("The staff calendar has a new address. The old one no longer works."), "success")
    return redirect(url_for("calendar.calendars_page", _anchor="staff"))
