"""Citizen booking pages: branch page, machine week view, booking form, booking page,
cancelling and "my bookings"."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from makerspace.accounts.models import Role
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.certifications.services import create_certification
from makerspace.extensions import db

OSLO = ZoneInfo("Europe/Oslo")
EN = {"Accept-Language": "en"}
WEEKDAYS_10_18 = {"mon": [("10:00", "18:00")], "tue": [("10:00", "18:00")],
                  "wed": [("10:00", "18:00")], "thu": [("10:00", "18:00")],
                  "fri": [("10:00", "18:00")], "sat": [("10:00", "15:00")]}


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO)


def page(response) -> str:  # type: ignore[no-untyped-def]
    """The page as text; Babel's narrow no-break spaces (English "10:00\u202fAM") made plain."""
    return response.get_data(as_text=True).replace("\u202f", " ")


def section(html: str, element_id: str) -> str:
    """The text from the element with this id to the end of its <section>."""
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</section>", start)]


def certified_machine(app, make_equipment, branch, **fields) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        certification = create_certification(slug="laser-grunnkurs",
                                             name="Laserkutter – grunnkurs")
        machine = make_equipment(branch, name="Laserkutter", kind="laser-cutter",
                                 requires_certification=certification, **fields)
        db.session.commit()
        return machine.id


@pytest.fixture
def week_of_dec_7(frozen_clock):  # type: ignore[no-untyped-def]
    """Monday 7 December 2026, 11:10 in Oslo: no public holidays that week."""
    frozen_clock.set(oslo(2026, 12, 7, 11, 10))
    return frozen_clock


# -- branch page --------------------------------------------------------------------------

def test_branch_page_lists_machines_hours_and_holidays(client, app, open_branch, make_equipment,
                                                       frozen_clock):
    frozen_clock.set(oslo(2026, 12, 21, 9, 0))  # Monday before Christmas
    branch = open_branch("steinkjer", name="Steinkjer bibliotek", weekly=WEEKDAYS_10_18,
                         closed_on_public_holidays=True)
    printer = make_equipment(branch, name="Prusa MK4", description="Skriver i PLA og PETG.")
    laser_id = certified_machine(app, make_equipment, branch, min_age=15)

    response = client.get("/branches/steinkjer", headers=EN)
    assert response.status_code == 200
    html = page(response)
    machines = section(html, "machines-heading")
    assert f'href="/equipment/{printer.id}"' in machines and "Prusa MK4" in machines
    assert "3D printer" in machines and "Skriver i PLA og PETG." in machines
    assert f'href="/equipment/{laser_id}"' in machines and "Laser cutter" in machines
    assert "Needs certification: Laserkutter – grunnkurs" in machines
    assert "Age limit: 15" in machines

    hours = section(html, "hours-heading")
    assert hours.count("10:00–18:00") == 5 and "10:00–15:00" in hours
    assert re.search(r"Sunday</th>\s*<td>Closed</td>", hours)

    week = section(html, "this-week-heading")
    assert week.count("<li") == 7
    assert "Christmas Day" in week and "Second Day of Christmas" in week
    christmas = re.search(r"<li[^>]*>(?:(?!</li>).)*Christmas Day(?:(?!</li>).)*</li>", week, re.S)
    assert christmas and "Closed" in christmas.group(0) and "day-holiday" in christmas.group(0)
    assert 'aria-current="date"' in week

    nb = page(client.get("/branches/steinkjer"))
    assert "Første juledag" in nb  # the holiday in the page's language


def test_branch_page_notes_date_exceptions(client, app, open_branch, frozen_clock):
    from makerspace.branches.hours import set_date_exception
    from makerspace.branches.models import Branch

    frozen_clock.set(oslo(2026, 12, 7, 9, 0))
    branch = open_branch("levanger")
    with app.app_context():
        set_date_exception(db.session.get(Branch, branch.id), oslo(2026, 12, 9).date(),
                           [("12:00", "16:00")], reason="Personalmøte")
        set_date_exception(db.session.get(Branch, branch.id), oslo(2026, 12, 10).date(), None,
                           reason="Stengt for maling")
        db.session.commit()
    week = section(page(client.get("/branches/levanger", headers=EN)),
                   "this-week-heading")
    assert "12:00–16:00" in week and "Personalmøte" in week
    assert "Stengt for maling" in week and week.count("day-exception") == 2


def test_unknown_branch_and_machine_are_404(client):
    assert client.get("/branches/atlantis").status_code == 404
    assert client.get("/equipment/999").status_code == 404


# -- machine page -------------------------------------------------------------------------

def grid(html: str) -> dict[tuple[str, str], str]:
    """The week grid's cells by (time row, day column id): {("10:00", "day-2026-12-08"): ...}."""
    table = html[html.index('<table class="week-grid">'):html.index("</table>")]
    columns = re.findall(r'<th scope="col" id="(day-[0-9-]+)"', table)
    cells = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>"):], re.S):
        time = re.search(r'<th scope="row">(.*?)</th>', row).group(1)
        for column, cell in zip(columns, re.findall(r"<td[^>]*>.*?</td>", row, re.S),
                                strict=True):
            cells[(time, column)] = cell
    return cells


def day_view(html: str) -> str:
    start = html.index('id="day-view"')
    return html[start:html.index("</div>", start)]


def test_week_grid_shows_free_booked_and_past_without_names(client, make_user, make_equipment,
                                                            make_booking, week_of_dec_7):
    machine = make_equipment(name="Bambu X1", min_minutes=60, buffer_minutes=30)
    other = make_user(name="Kari Nordmann", email="kari@example.no")
    make_booking(machine, other, oslo(2026, 12, 8, 10, 0), minutes=60)

    response = client.get(f"/equipment/{machine.id}?week=2026-12-08", headers=EN)
    assert response.status_code == 200
    html = page(response)
    assert "Kari" not in html and "kari@example.no" not in html
    assert 'id="day-view"' not in html  # ?week= shows only the grid
    assert "<caption" in html and '<th scope="row">10:00</th>' in html
    cells = grid(html)
    tuesday = [cells[(t, "day-2026-12-08")] for t in ("10:00", "10:30", "11:00")]
    assert all('class="slot slot-busy">Booked<' in c for c in tuesday)  # with the buffer
    free = cells[("12:00", "day-2026-12-08")]
    assert free == (f'<td class="slot slot-free"><a href="/equipment/{machine.id}/book?start='
                    '2026-12-08T11:00:00%2B00:00" aria-label="Free, Tuesday, 8 December 2026, '
                    '12:00">Free</a></td>')
    assert "slot-past" in cells[("08:00", "day-2026-12-07")]
    assert "slot-free" in cells[("16:00", "day-2026-12-07")]  # later today
    assert "Rules for booking" in html and "Up to 14 days ahead." in html
    assert "30 min for cooling or cleaning" in html
    assert 'id="in-service"' in html


def test_day_view_starts_today_and_hides_past_slots(client, make_user, make_equipment,
                                                    make_booking, week_of_dec_7):
    machine = make_equipment(min_minutes=60, max_advance_days=10)
    make_booking(machine, make_user(name="Kari Nordmann"), oslo(2026, 12, 7, 14, 0))

    html = page(client.get(f"/equipment/{machine.id}", headers=EN))
    # No choice made: today's slots for narrow screens and this week's grid for wide ones.
    assert 'class="day-view only-narrow"' in html and 'class="week-view only-wide"' in html
    today = day_view(html)
    assert "Today, Monday, 7 December 2026" in today
    times = re.findall(r'<span class="slot-time">(.*?)</span>', today)
    assert times[0] == "11:30"  # 11:10 now: what has begun is left out
    assert "slot-past" not in today and "Kari" not in html
    assert re.search(r'<li class="slot slot-busy"><span class="slot-time">14:00</span> '
                     r'<span class="slot-state">Booked</span>', today)
    assert (f'<a href="/equipment/{machine.id}/book?start=2026-12-07T10:30:00%2B00:00" '
            'aria-label="11:30 Free, Monday, 7 December 2026">'
            '<span class="slot-time">11:30</span> <span class="slot-state">Free</span></a>'
            ) in today
    assert 'rel="prev"' not in today
    assert f'href="/equipment/{machine.id}?day=2026-12-08"' in today
    assert 'type="date" id="day-picker" name="day" value="2026-12-07" min="2026-12-07" ' \
           'max="2026-12-17"' in today

    chosen = page(client.get(f"/equipment/{machine.id}?day=2026-12-09", headers=EN))
    assert 'class="day-view"' in chosen and 'class="week-grid"' not in chosen
    assert "Wednesday, 9 December 2026" in day_view(chosen) and "Today" not in day_view(chosen)
    assert re.findall(r'<span class="slot-time">(.*?)</span>', day_view(chosen))[0] == "08:00"
    assert f'href="/equipment/{machine.id}?day=2026-12-08"' in chosen
    assert f'href="/equipment/{machine.id}?week=2026-12-09"' in chosen
    for day, shown in (("2020-01-01", "2026-12-07"), ("2099-01-01", "2026-12-17"),
                       ("garbage", "2026-12-07"), ("9999-12-31", "2026-12-17")):
        response = client.get(f"/equipment/{machine.id}?day={day}")
        assert response.status_code == 200
        assert f'name="day" value="{shown}"' in page(response)
    last = page(client.get(f"/equipment/{machine.id}?day=2026-12-17"))
    assert 'rel="next"' not in day_view(last)


def test_day_view_after_closing_points_to_the_next_day(client, make_equipment, frozen_clock):
    frozen_clock.set(oslo(2026, 12, 7, 20, 30))
    machine = make_equipment()
    today = day_view(page(client.get(f"/equipment/{machine.id}?day=2026-12-07", headers=EN)))
    assert "No more times this day." in today and "slot" not in today.split("</form>")[1]
    assert f'href="/equipment/{machine.id}?day=2026-12-08">See the next day' in today


def test_week_navigation_stays_within_the_booking_window(client, make_equipment, week_of_dec_7):
    machine = make_equipment(max_advance_days=10)  # last bookable day: Thursday 17 December
    this_week = page(client.get(f"/equipment/{machine.id}?week=2026-12-07"))
    assert 'id="day-2026-12-07"' in this_week and 'id="day-2026-12-13"' in this_week
    assert 'rel="prev"' not in this_week
    assert f'href="/equipment/{machine.id}?week=2026-12-14"' in this_week
    next_week = page(client.get(f"/equipment/{machine.id}?week=2026-12-16"))
    assert 'id="day-2026-12-14"' in next_week and 'rel="next"' not in next_week
    assert f'href="/equipment/{machine.id}?week=2026-12-07"' in next_week
    assert 'class="slot slot-closed"' in next_week  # 18–20 December: not bookable yet
    for week in ("2020-01-01", "2099-01-01", "garbage", "0001-01-01", "9999-12-31"):
        response = client.get(f"/equipment/{machine.id}?week={week}")
        assert response.status_code == 200
    assert 'id="day-2026-12-07"' in page(client.get(f"/equipment/{machine.id}?week=2020-01-01"))
    assert 'id="day-2026-12-14"' in page(client.get(f"/equipment/{machine.id}?week=2099-01-01"))


def test_week_view_marks_public_holidays_closed(client, open_branch, make_equipment,
                                               frozen_clock):
    frozen_clock.set(oslo(2026, 12, 21, 9, 0))
    machine = make_equipment(open_branch(closed_on_public_holidays=True))
    html = page(client.get(f"/equipment/{machine.id}", headers=EN))
    header = re.search(r'<th scope="col" id="day-2026-12-25" class="day-closed">(.*?)</th>',
                       html, re.S)
    assert header and "Closed (Christmas Day)" in header.group(1)
    cells = grid(html)
    christmas = [cell for (_time, day), cell in cells.items() if day == "day-2026-12-25"]
    assert christmas and all(cell == '<td class="slot-none"></td>' for cell in christmas)
    assert "slot-free" in cells[("10:00", "day-2026-12-24")]
    closed_day = page(client.get(f"/equipment/{machine.id}?day=2026-12-25", headers=EN))
    assert "Closed (Christmas Day)" in day_view(closed_day)


def test_machine_out_of_service_says_why(client, app, make_user, make_equipment, week_of_dec_7):
    from makerspace.booking.services import take_out_of_service

    machine = make_equipment()
    staff = make_user(role=Role.LIBRARIAN)
    with app.app_context():
        take_out_of_service(db.session.get(Equipment, machine.id), start=oslo(2026, 12, 1),
                            end=oslo(2026, 12, 10), reason="Dysen er tett",
                            by=staff)
        db.session.commit()
    html = page(client.get(f"/equipment/{machine.id}", headers=EN))
    assert 'id="out-of-service"' in html and "Dysen er tett" in html
    assert 'id="in-service"' not in html


def test_certified_machine_explains_which_certification(client, app, login, make_user,
                                                        make_equipment, open_branch,
                                                        week_of_dec_7):
    branch = open_branch("orkland")
    machine_id = certified_machine(app, make_equipment, branch)
    anonymous = page(client.get(f"/equipment/{machine_id}", headers=EN))
    assert "Laserkutter – grunnkurs" in section(anonymous, "rules-heading")
    assert 'id="certification"' in anonymous and 'href="/branches/orkland"' in anonymous

    login(make_user())
    form = page(client.get(f"/equipment/{machine_id}/book", headers=EN))
    assert "You do not hold it yet." in form and "Take the course at the library" in form
    response = client.post(f"/equipment/{machine_id}/book", headers=EN, data={
        "date": "2026-12-08", "start": "10:00", "duration": "60", "confirm": "1"})
    assert response.status_code == 422
    html = page(response)
    refusal = html[html.index('id="refusal"'):]
    assert 'role="alert"' in html and 'data-code="not_certified"' in html
    assert "Laserkutter – grunnkurs" in refusal[:refusal.index("</div>")]
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) is None


# -- booking form -------------------------------------------------------------------------

def test_booking_through_the_form(client, app, login, make_user, make_equipment, week_of_dec_7):
    machine = make_equipment(slot_minutes=30, min_minutes=60, max_minutes=240)
    user = make_user()
    assert client.get(f"/equipment/{machine.id}/book").status_code == 302  # log in first
    login(user)

    prefilled = client.get(
        f"/equipment/{machine.id}/book?start=2026-12-08T09:00:00%2B00:00&minutes=90")
    assert prefilled.status_code == 200
    html = page(prefilled)
    assert 'value="2026-12-08"' in html
    assert re.search(r'<option selected value="10:00">10:00</option>', html)
    assert re.search(r'<option selected value="90">', html)
    assert re.search(r'<option value="240">4 h</option>', page(client.get(
        f"/equipment/{machine.id}/book", headers=EN)))

    chosen = {"date": "2026-12-08", "start": "10:00", "duration": "90"}
    step = client.post(f"/equipment/{machine.id}/book", data=chosen)
    assert step.status_code == 200  # the confirmation: nothing is booked yet
    preview = page(step)
    assert ">10:00</time>–<time" in preview and '<dd id="preview-end">11:30</dd>' in preview
    assert 'name="confirm" value="1"' in preview and 'id="confirm-button"' in preview
    for name, value in chosen.items():
        assert f'name="{name}" value="{value}"' in preview
    assert (f'href="/equipment/{machine.id}/book?start=2026-12-08T09:00:00%2B00:00&amp;minutes=90"'
            ) in preview  # change the time: back to the form, filled in
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) is None

    response = client.post(f"/equipment/{machine.id}/book", data={**chosen, "confirm": "1"})
    assert response.status_code == 302
    with app.app_context():
        booking = db.session.scalar(select(Booking))
        assert response.headers["Location"] == f"/bookings/{booking.id}"
        assert booking.user_id == user.id and booking.equipment_id == machine.id
        assert booking.start_at == oslo(2026, 12, 8, 10, 0)
        assert booking.end_at == oslo(2026, 12, 8, 11, 30)
        assert booking.status == BookingStatus.CONFIRMED
    shown = page(client.get(response.headers["Location"]))
    assert "10:00–11:30" in shown and 'class="message message-success"' in shown


@pytest.mark.parametrize("query", ["?start=garbage", "?start=2026-12-08T10:07", "?minutes=x",
                                   "?start=9999-12-31T23:59:59%2B00:00&minutes=-5",
                                   "?start=2026-12-08T10:00"])
def test_booking_form_ignores_bad_prefill(client, login, make_user, make_equipment,
                                          week_of_dec_7, query):
    machine = make_equipment()
    login(make_user())
    assert client.get(f"/equipment/{machine.id}/book{query}").status_code == 200


@pytest.mark.parametrize("data", [
    {"date": "not a date", "start": "10:00", "duration": "60"},
    {"date": "2026-12-08", "start": "10:15", "duration": "60"},  # off the grid
    {"date": "2026-12-08", "start": "25:00", "duration": "60"},
    {"date": "2026-12-08", "start": "10:00", "duration": "30"},  # shorter than allowed
    {"date": "2026-12-08", "start": "10:00", "duration": "abc"},
    {"date": "9999-12-31", "start": "10:00", "duration": "60"},
    {"date": "0001-01-01", "start": "10:00", "duration": "60"},
    {},
])
def test_booking_form_refuses_bad_input_with_422(client, app, login, make_user, make_equipment,
                                                 week_of_dec_7, data):
    machine = make_equipment()
    login(make_user())
    response = client.post(f"/equipment/{machine.id}/book", data=data)
    assert response.status_code == 422
    assert 'class="error-summary" role="alert"' in page(response) or \
        'id="refusal"' in page(response)
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) is None


def test_refused_booking_shows_reason_and_nearest_free_times(client, app, login, make_user,
                                                            make_equipment, make_booking,
                                                            week_of_dec_7):
    machine = make_equipment()  # open 08–20 every day, 1–4 h
    login(make_user())
    late = client.post(f"/equipment/{machine.id}/book", headers=EN, data={
        "date": "2026-12-08", "start": "19:30", "duration": "60"})
    assert late.status_code == 422
    html = page(late)
    assert 'data-code="outside_opening_hours"' in html
    assert "<title>Error: Book " in html
    assert "The library is not open for the whole of that time." in html
    suggestions = section(html, "suggestions-heading")
    assert "Nearest free times" in suggestions
    links = re.findall(r'href="(/equipment/\d+/book\?[^"]+)"', suggestions)
    assert links and all("minutes=60" in link for link in links)
    assert "19:00–20:00" in suggestions  # 19:00–20:00 the same evening

    make_booking(machine, make_user(name="Kari Nordmann"), oslo(2026, 12, 9, 10, 0), minutes=60)
    taken = client.post(f"/equipment/{machine.id}/book", headers=EN, data={
        "date": "2026-12-09", "start": "10:00", "duration": "60"})
    assert taken.status_code == 422
    html = page(taken)
    assert 'data-code="conflict"' in html and "Kari" not in html
    assert "Someone else has booked the machine at that time." in html
    assert "11:00–12:00" in section(html, "suggestions-heading")

    follow = client.get(links[0])  # a suggestion prefills the form
    assert follow.status_code == 200 and "selected" in page(follow)
    with app.app_context():
        assert db.session.scalar(select(Booking.id).where(Booking.start_at > oslo(2026, 12, 8))
                                 .where(Booking.start_at < oslo(2026, 12, 9))) is None


def test_refusal_in_nb_is_shown_in_the_page(client, login, make_user, make_equipment,
                                            week_of_dec_7):
    machine = make_equipment(max_advance_days=3)
    login(make_user())
    response = client.post(f"/equipment/{machine.id}/book", data={
        "date": "2026-12-20", "start": "10:00", "duration": "60"})
    assert response.status_code == 422
    html = page(response)
    assert 'data-code="too_far_ahead"' in html and 'role="alert"' in html
    assert 'lang="nb"' in html


def test_time_taken_between_the_two_steps_is_refused_with_suggestions(
        client, app, login, make_user, make_equipment, make_booking, week_of_dec_7):
    machine = make_equipment()
    login(make_user())
    chosen = {"date": "2026-12-09", "start": "10:00", "duration": "60"}
    assert client.post(f"/equipment/{machine.id}/book", data=chosen).status_code == 200
    make_booking(machine, make_user(), oslo(2026, 12, 9, 10, 30))  # someone was quicker
    refused = client.post(f"/equipment/{machine.id}/book", headers=EN,
                          data={**chosen, "confirm": "1"})
    assert refused.status_code == 422
    html = page(refused)
    assert 'data-code="conflict"' in html and 'id="suggestions"' in html


def test_quota_refusal_links_to_my_bookings(client, app, login, make_user, make_equipment,
                                            make_booking, week_of_dec_7):
    machine = make_equipment()
    person = make_user()
    for day in (8, 9, 10):  # the default quota is 3 upcoming bookings at a library
        make_booking(machine, person, oslo(2026, 12, day, 10, 0))
    login(person)
    refused = client.post(f"/equipment/{machine.id}/book", headers=EN, data={
        "date": "2026-12-11", "start": "10:00", "duration": "60"})
    assert refused.status_code == 422
    refusal = page(refused)
    start = refusal.index('id="refusal"')
    block = refusal[start:refusal.index("</div>", start)]
    assert 'data-code="quota_exceeded"' in refusal
    assert 'href="/me/bookings">See your bookings in My bookings</a>' in block


def test_unverified_citizen_is_told_why_and_can_resend_from_the_form(
        client, app, login, make_user, make_equipment, week_of_dec_7):
    from makerspace.accounts.models import User
    from makerspace.mail.models import OutboxMessage

    machine = make_equipment()
    person = make_user(email="ny@example.no")
    with app.app_context():
        db.session.get(User, person.id).email_verified_at = None
        db.session.commit()
    login(person)
    form = page(client.get(f"/equipment/{machine.id}/book", headers=EN))
    notice = section(form, "verify-first")
    assert "ny@example.no is not confirmed" in notice
    assert 'action="/verify/resend"' in notice
    assert f'name="next" value="/equipment/{machine.id}/book"' in notice
    refused = client.post(f"/equipment/{machine.id}/book", headers=EN, data={
        "date": "2026-12-08", "start": "10:00", "duration": "60"})
    assert refused.status_code == 422 and 'data-code="email_not_verified"' in page(refused)
    back = client.post("/verify/resend", data={"next": f"/equipment/{machine.id}/book"})
    assert back.headers["Location"] == f"/equipment/{machine.id}/book"
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.kind == "email_verification")) is not None


# -- booking page and cancelling ----------------------------------------------------------

def test_booking_page_is_for_the_owner_and_the_branch_staff_only(client, login, make_user,
                                                                 make_equipment, make_booking,
                                                                 open_branch, week_of_dec_7):
    branch = open_branch("namsos")
    machine = make_equipment(branch, name="Silhouette Cameo")
    owner = make_user(name="Ola Owner")
    booking = make_booking(machine, owner, oslo(2026, 12, 8, 14, 0), minutes=120)
    url = f"/bookings/{booking.id}"

    assert client.get(url).status_code == 302  # log in first
    login(make_user())
    assert client.get(url).status_code == 404
    login(make_user(role=Role.LIBRARIAN, branches=[open_branch("roros")]))
    assert client.get(url).status_code == 404

    login(owner)
    html = page(client.get(url))
    assert "Silhouette Cameo" in html and "14:00–16:00" in html
    assert 'status-confirmed' in html and 'id="cancel"' in html
    assert 'name="reason"' not in html

    login(make_user(role=Role.LIBRARIAN, branches=[branch]))
    staff_view = page(client.get(url, headers=EN))
    assert "Ola Owner" in staff_view
    assert 'name="reason"' in page(client.get(f"{url}/cancel", headers=EN))
    assert client.get("/bookings/999").status_code == 404


def test_owner_cancels_before_start_but_not_after(client, app, login, make_user,
                                                  make_equipment, make_booking, week_of_dec_7):
    machine = make_equipment()
    owner = make_user()
    soon = make_booking(machine, owner, oslo(2026, 12, 8, 10, 0))
    later = make_booking(machine, owner, oslo(2026, 12, 9, 10, 0))
    login(owner)

    response = client.post(f"/bookings/{soon.id}/cancel")
    assert response.status_code == 302 and response.headers["Location"] == f"/bookings/{soon.id}"
    shown = page(client.get(f"/bookings/{soon.id}"))
    assert "status-cancelled" in shown and 'id="cancel"' not in shown

    week_of_dec_7.set(oslo(2026, 12, 9, 10, 5))  # the later booking has started
    assert 'id="cancel"' not in page(client.get(f"/bookings/{later.id}"))
    refused = client.post(f"/bookings/{later.id}/cancel", headers=EN, follow_redirects=True)
    assert refused.status_code == 200
    assert re.search(r'message-error" role="alert">The booking has started', page(refused))
    with app.app_context():
        assert db.session.get(Booking, soon.id).status == BookingStatus.CANCELLED
        assert db.session.get(Booking, later.id).status == BookingStatus.CONFIRMED
    assert client.post(f"/bookings/{soon.id}/cancel").status_code == 302  # again: flashed


def test_cancel_asks_first_and_a_cancelled_booking_has_no_calendar_file(
        client, app, login, make_user, make_equipment, make_booking, week_of_dec_7):
    machine = make_equipment(name="Prusa MK4")
    owner = make_user()
    booking = make_booking(machine, owner, oslo(2026, 12, 8, 10, 0))
    login(owner)
    shown = page(client.get(f"/bookings/{booking.id}", headers=EN))
    assert f'href="/bookings/{booking.id}/cancel"' in shown and 'id="add-to-calendar"' in shown
    assert f'action="/bookings/{booking.id}/cancel"' not in shown  # no one-click cancel

    asked = client.get(f"/bookings/{booking.id}/cancel?next=/me/bookings", headers=EN)
    assert asked.status_code == 200
    question = page(asked)
    assert "Cancel the booking?" in question and "Prusa MK4" in question
    assert "10:00–11:00" in question
    assert f'action="/bookings/{booking.id}/cancel"' in question
    assert 'name="next" value="/me/bookings"' in question
    assert 'href="/me/bookings" id="cancel-no"' in question
    assert 'name="reason"' not in question  # one's own booking needs no reason
    with app.app_context():  # asking changed nothing
        assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    assert 'name="next" value="/bookings/' in page(
        client.get(f"/bookings/{booking.id}/cancel?next=//evil.example"))

    done = client.post(f"/bookings/{booking.id}/cancel", data={"next": "/me/bookings"})
    assert done.headers["Location"] == "/me/bookings"
    after = page(client.get(f"/bookings/{booking.id}", headers=EN))
    assert "status-cancelled" in after and 'id="add-to-calendar"' not in after
    again = client.get(f"/bookings/{booking.id}/cancel")
    assert again.status_code == 302 and again.headers["Location"] == f"/bookings/{booking.id}"
    login(make_user())
    assert client.get(f"/bookings/{booking.id}/cancel").status_code == 404


def test_staff_cancel_needs_a_reason(client, app, login, make_user, make_equipment,
                                     make_booking, open_branch, week_of_dec_7):
    branch = open_branch()
    booking = make_booking(make_equipment(branch), make_user(), oslo(2026, 12, 8, 10, 0))
    login(make_user(role=Role.LIBRARIAN, branches=[branch]))
    refused = client.post(f"/bookings/{booking.id}/cancel", data={"reason": " "},
                          follow_redirects=True)
    assert refused.status_code == 200 and "message-error" in page(refused)
    with app.app_context():
        assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    client.post(f"/bookings/{booking.id}/cancel", data={"reason": "Maskinen er i stykker"})
    with app.app_context():
        cancelled = db.session.get(Booking, booking.id)
        assert cancelled.status == BookingStatus.CANCELLED
        assert cancelled.cancel_reason == "Maskinen er i stykker"


def test_another_citizen_cannot_cancel(client, app, login, make_user, make_equipment,
                                       make_booking, week_of_dec_7):
    booking = make_booking(make_equipment(), make_user(), oslo(2026, 12, 8, 10, 0))
    login(make_user())
    assert client.post(f"/bookings/{booking.id}/cancel").status_code == 404
    with app.app_context():
        assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED


# -- my bookings --------------------------------------------------------------------------

def test_my_bookings_lists_upcoming_and_past(client, login, make_user, make_equipment,
                                             make_booking, week_of_dec_7):
    printer = make_equipment(name="Prusa MK4")
    owner = make_user()
    upcoming = make_booking(printer, owner, oslo(2026, 12, 9, 12, 0), minutes=90)
    past = make_booking(printer, owner, oslo(2026, 12, 1, 10, 0),
                        status=BookingStatus.COMPLETED)
    cancelled = make_booking(printer, owner, oslo(2026, 12, 10, 10, 0),
                             status=BookingStatus.CANCELLED)
    someone_else = make_booking(printer, make_user(), oslo(2026, 12, 11, 10, 0))
    assert client.get("/me/bookings").status_code == 302
    login(owner)

    html = page(client.get("/me/bookings", headers=EN))
    coming = section(html, "upcoming-heading")
    assert f'id="booking-{upcoming.id}"' in coming and "12:00–13:30" in coming
    assert f'href="/bookings/{upcoming.id}"' in coming and "Confirmed" in coming
    assert (f'href="/bookings/{upcoming.id}/cancel?next=/me/bookings"' in coming
            or f'href="/bookings/{upcoming.id}/cancel?next=%2Fme%2Fbookings"' in coming)
    done = section(html, "past-heading")
    assert f'id="booking-{past.id}"' in done and "Completed" in done
    assert f'id="booking-{cancelled.id}"' in done and "Cancelled" in done
    assert "/cancel" not in done
    assert f"booking-{someone_else.id}" not in html

    response = client.post(f"/bookings/{upcoming.id}/cancel", data={"next": "/me/bookings"})
    assert response.headers["Location"] == "/me/bookings"
    after = page(client.get("/me/bookings"))
    assert f'id="booking-{upcoming.id}"' in section(after, "past-heading")
    assert f'id="booking-{upcoming.id}"' not in section(after, "upcoming-heading")


def test_my_bookings_empty(client, login, make_user):
    login(make_user())
    response = client.get("/me/bookings")
    assert response.status_code == 200 and 'id="upcoming-heading"' in page(response)


def test_cancel_never_redirects_off_site(client, login, make_user, make_equipment,
                                         make_booking, week_of_dec_7):
    owner = make_user()
    booking = make_booking(make_equipment(), owner, oslo(2026, 12, 8, 10, 0))
    login(owner)
    response = client.post(f"/bookings/{booking.id}/cancel", data={"next": "//evil.example"})
    assert response.headers["Location"] == f"/bookings/{booking.id}"


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):  # type: ignore[no-untyped-def]
        return {"WTF_CSRF_ENABLED": True}

    def test_booking_forms_carry_a_token_and_need_it(self, client, app, login, make_user,
                                                     make_equipment, make_booking,
                                                     week_of_dec_7):
        machine = make_equipment()
        owner = make_user()
        booking = make_booking(machine, owner, oslo(2026, 12, 8, 10, 0))
        login(owner)
        for path in (f"/equipment/{machine.id}/book", f"/bookings/{booking.id}", "/me/bookings"):
            html = page(client.get(path))
            forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", html, re.S)
            assert len(forms) >= 2  # the page's own form and the language picker
            assert all('name="csrf_token"' in form for form in forms)
        assert client.post(f"/bookings/{booking.id}/cancel").status_code == 400
        assert client.post(f"/equipment/{machine.id}/book", data={
            "date": "2026-12-09", "start": "10:00", "duration": "60",
            "confirm": "1"}).status_code in (400, 422)
        with app.app_context():
            assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
            assert db.session.scalar(select(Booking.id).where(Booking.id != booking.id)) is None
