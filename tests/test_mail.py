"""E-mail: the outbox, the SMTP sender against a real server (aiosmtpd) in the test process,
the admin outbox page, password reset and e-mail verification."""

from __future__ import annotations

import io
import re
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
import zxingcpp
from PIL import Image
from sqlalchemy import delete, func, select

from makerspace import clock
from makerspace.accounts.models import Role, User
from makerspace.booking.models import Booking, BookingStatus, Equipment
from makerspace.booking.services import cancel_booking, create_booking, take_out_of_service
from makerspace.branches.models import Branch
from makerspace.checkin.qr import checkin_url, qr_payload
from makerspace.events.models import Event, Signup
from makerspace.events.services import cancel_event, create_event, leave, sign_up
from makerspace.extensions import db
from makerspace.mail import messages
from makerspace.mail.models import OutboxMessage, OutboxStatus
from makerspace.mail.sender import retry_delay, send_due
from makerspace.mail.services import queue_message
from tests.helpers import PASSWORD, bearer
from tests.smtp import Collector, SmtpServer

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=OSLO)  # a Monday morning
START = datetime(2026, 12, 8, 10, 0, tzinfo=OSLO)  # Tuesday 10:00
BASE_URL = "http://127.0.0.1:5000"
TUESDAY = {"nb": "tirsdag", "nn": "tysdag", "en": "tuesday"}


# -- a real SMTP server -------------------------------------------------------------------

@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def app_config(smtp):  # type: ignore[no-untyped-def]
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "BASE_URL": BASE_URL,
            "MAIL_DEFAULT_SENDER": "Folkeverksted <ikke-svar@folkeverksted.example>"}


@pytest.fixture
def smtp_up(smtp):  # type: ignore[no-untyped-def]
    return smtp.start()


@pytest.fixture
def now(frozen_clock):  # type: ignore[no-untyped-def]
    frozen_clock.set(NOW)
    return NOW


# -- helpers ------------------------------------------------------------------------------

def outbox(kind: str | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def book(user_id: int, equipment_id: int, start: datetime = START, minutes: int = 60) -> Booking:
    booking = create_booking(user=db.session.get(User, user_id),
                             equipment=db.session.get(Equipment, equipment_id),
                             start=start, end=start + timedelta(minutes=minutes))
    db.session.commit()
    return booking


def plain(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(text: str, path: str) -> str:
    """The path of the first BASE_URL link in `text` that starts with `path`."""
    match = re.search(re.escape(BASE_URL) + re.escape(path) + r"\S+", text)
    assert match, text
    return match.group(0).removeprefix(BASE_URL)


def readable(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


# -- booking confirmation over SMTP -------------------------------------------------------

@pytest.mark.parametrize("locale", ["nb", "nn", "en"])
def test_booking_confirmation_arrives_in_the_persons_language_with_qr_and_ics(
        app_ctx, now, smtp_up, make_user, make_equipment, locale):
    person = make_user("kari@example.no", name="Kari Nordmann", locale=locale)
    machine = make_equipment(name="Prusa MK4")
    booking = book(person.id, machine.id)

    report = send_due()
    assert (report.sent, report.claimed) == (1, 1)
    [envelope] = smtp_up.envelopes
    assert envelope.rcpt_tos == ["kari@example.no"]
    assert envelope.mail_from == "ikke-svar@folkeverksted.example"
    [message] = smtp_up.messages()
    assert message["To"].addresses[0].display_name == "Kari Nordmann"
    assert message["Content-Language"] == locale
    assert "Prusa MK4" in message["Subject"]

    text, body = readable(plain(message)), readable(html(message))
    assert TUESDAY[locale] in text.lower() and TUESDAY[locale] in body.lower()
    assert "Kari Nordmann" in text and "Prusa MK4" in text
    assert f"{BASE_URL}/bookings/{booking.id}" in text
    assert f'href="{BASE_URL}/bookings/{booking.id}"' in body
    assert f'<html lang="{locale}">' in body
    assert 'src="cid:checkin-qr@folkeverksted"' in body and 'alt="' in body

    parts = {part.get_content_type(): part for part in message.walk()}
    assert message.get_content_type() == "multipart/mixed"
    assert "multipart/alternative" in parts and "multipart/related" in parts
    qr = parts["image/png"]
    assert qr["Content-ID"] == "<checkin-qr@folkeverksted>"
    assert qr.get_content_disposition() == "inline"
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.get_content())))
    assert decoded.text == qr_payload(BASE_URL, booking.checkin_token)
    assert decoded.text.upper() == checkin_url(BASE_URL, booking.checkin_token).upper()

    ics = parts["text/calendar"]
    assert ics.get_content_disposition() == "attachment"
    assert ics.get_filename() == f"booking-{booking.id}.ics"
    assert ics.get_param("method") is None
    raw = ics.get_content() if isinstance(ics.get_content(), str) else ics.get_content().decode()
    # UTC, never a TZID without its VTIMEZONE (RFC 5545 §3.2.19): the booking was made a
    # moment ago with an Oslo time, and still the file says UTC.
    assert "DTSTART:20261208T090000Z" in raw and "TZID" not in raw
    # a file to import, not a calendar to subscribe to
    assert "X-WR-CALNAME" not in raw and "REFRESH-INTERVAL" not in raw
    calendar = vobject.readOne(raw)
    assert calendar.vevent.uid.value == f"booking-{booking.id}@folkeverksted"
    assert calendar.vevent.dtstart.value == START.astimezone(UTC)
    assert calendar.vevent.dtend.value == (START + timedelta(hours=1)).astimezone(UTC)

    [stored] = outbox()
    assert (stored.status, stored.attempts, stored.locale) == (OutboxStatus.SENT, 1, locale)
    assert stored.sent_at is not None and stored.claimed_by is None


def test_a_confirmation_says_what_the_booking_is_when_it_is_sent(
        app_ctx, now, smtp_up, make_user, make_equipment):
    person = make_user("kari@example.no", locale="en")
    machine = make_equipment(name="Prusa MK4")
    booking = book(person.id, machine.id)
    db.session.get(Equipment, machine.id).name = "Prusa Core One"  # renamed before it goes
    db.session.commit()

    assert send_due().sent == 1
    [sent] = smtp_up.messages()
    assert "Prusa Core One" in sent["Subject"] and "Prusa Core One" in plain(sent)
    assert "Prusa MK4" not in plain(sent) + html(sent)
    [stored] = outbox()  # written once, kept as it was sent
    assert stored.subject == sent["Subject"] and "Prusa Core One" in stored.text_body
    assert stored.booking_id == booking.id and len(stored.attachments) == 2


def test_a_confirmation_whose_booking_is_gone_fails_for_the_admins_to_see(
        app_ctx, now, smtp_up, make_user, make_equipment):
    booking = book(make_user().id, make_equipment().id)
    db.session.execute(delete(Booking).where(Booking.id == booking.id))
    db.session.commit()

    report = send_due()
    assert (report.sent, report.failed) == (0, 1) and smtp_up.envelopes == []
    [message] = outbox()
    assert message.status == OutboxStatus.FAILED and message.booking_id is None
    assert "booking is gone" in message.last_error


def test_a_confirmation_that_cannot_be_written_is_retried_and_holds_up_no_other(
        app_ctx, now, smtp_up, make_user, make_equipment, monkeypatch):
    first, second = make_user("a@example.no"), make_user("b@example.no")
    machine = make_equipment()
    broken = book(first.id, machine.id).id
    book(second.id, machine.id, start=START + timedelta(hours=2))

    def write_or_break(message, booking):  # noqa: ANN001, ANN202
        if booking.id == broken:
            raise RuntimeError("template broke")
        return real(message, booking)

    real = messages.WRITTEN_WHEN_SENT["booking_confirmed"]
    monkeypatch.setitem(messages.WRITTEN_WHEN_SENT, "booking_confirmed", write_or_break)
    report = send_due()
    assert (report.sent, report.retrying, report.failed) == (1, 1, 0)
    assert [e.rcpt_tos for e in smtp_up.envelopes] == [["b@example.no"]]
    failed, sent = outbox()
    assert (failed.status, failed.attempts, failed.text_body) == (OutboxStatus.PENDING, 1, None)
    assert "template broke" in failed.last_error and failed.next_attempt_at > NOW
    assert sent.status == OutboxStatus.SENT


def test_the_persons_own_export_has_a_confirmation_not_yet_written(
        app_ctx, now, make_user, make_equipment):
    from makerspace.privacy.services import export_personal_data

    person = make_user(locale="nb")
    book(person.id, make_equipment(name="Prusa MK4").id)
    [exported] = export_personal_data(db.session.get(User, person.id))["outbox_messages"]
    assert "Prusa MK4" in exported["text"] and exported["status"] == "pending"
    assert exported["attachments"] == ["checkin-qr.png", exported["attachments"][1]]
    assert exported["attachments"][1].endswith(".ics")
    assert outbox()[0].text_body is None  # the export wrote nothing


def test_a_person_without_a_language_gets_bokmal(app_ctx, now, make_user, make_equipment):
    person = make_user()
    book(person.id, make_equipment().id)
    [message] = outbox()
    assert message.locale == "nb" and message.html_body is None  # written when sent
    messages.write(message)
    assert '<html lang="nb">' in message.html_body


# -- outages and retries ------------------------------------------------------------------

def test_server_down_keeps_the_message_and_sends_it_when_the_server_is_back(
        app_ctx, now, smtp, make_user, make_equipment):
    person = make_user()
    book(person.id, make_equipment().id)

    report = send_due(NOW)
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    [message] = outbox()
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert timedelta(0) < message.next_attempt_at - NOW <= timedelta(minutes=1)
    assert message.last_error and message.claimed_by is None

    smtp.start()
    assert send_due(NOW + timedelta(seconds=10)).claimed == 0  # not due yet
    report = send_due(message.next_attempt_at)
    assert report.sent == 1
    [message] = outbox()
    assert message.status == OutboxStatus.SENT and message.attempts == 2
    assert len(smtp.envelopes) == 1


def test_backoff_grows_to_at_most_an_hour():
    delays = [retry_delay(n) for n in range(1, 12)]
    assert delays[0] <= timedelta(minutes=1)
    assert delays == sorted(delays)
    assert max(delays) == timedelta(hours=1)


class TestGivingUp:
    @pytest.fixture
    def app_config(self, smtp):  # type: ignore[no-untyped-def]
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_MAX_ATTEMPTS": 3}

    def test_failed_after_max_attempts_and_shown_to_admins_who_can_retry(
            self, app, client, login, now, smtp, make_user):
        admin = make_user("admin@example.no", role=Role.ADMIN)
        with app.app_context():
            queue_message(kind="password_reset", to_email="ola@example.no", to_name="Ola",
                          subject="Nytt passord", context={"link": "http://x/", "hours": 2})
            db.session.commit()
            moment = NOW
            for attempt in range(1, 4):
                send_due(moment)
                [message] = outbox()
                assert message.attempts == attempt
                moment = message.next_attempt_at
            assert message.status == OutboxStatus.FAILED
            assert send_due(moment + timedelta(days=1)).claimed == 0  # never again by itself
            message_id = message.id

        login(admin)
        page = client.get("/admin/outbox").get_data(as_text=True)
        row = re.search(rf'<tr class="outbox-failed" id="message-{message_id}">.*?</tr>', page,
                        re.S)
        assert row and "ola@example.no" in row.group(0) and "Nytt passord" in row.group(0)
        assert "ConnectionRefusedError" in row.group(0)
        assert client.get("/admin/outbox?status=failed").status_code == 200
        detail = client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
        assert 'id="text-body"' in detail
        assert f'action="/admin/outbox/{message_id}/retry"' in detail

        smtp.start()
        response = client.post(f"/admin/outbox/{message_id}/retry")
        assert response.status_code == 302
        with app.app_context():
            [message] = outbox()
            assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
            assert send_due().sent == 1
        assert len(smtp.envelopes) == 1


def test_a_refused_address_fails_at_once(app_ctx, now, smtp, make_user):
    class Refusing(Collector):
        async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
            return "550 No such mailbox"

    smtp.collector = Refusing()
    smtp.start()
    queue_message(kind="password_reset", to_email="nobody@example.no", subject="x",
                  context={"link": "http://x/", "hours": 2})
    db.session.commit()
    report = send_due()
    assert report.failed == 1
    [message] = outbox()
    assert message.status == OutboxStatus.FAILED and "550" in message.last_error


# -- two senders --------------------------------------------------------------------------

@pytest.mark.commits
def test_two_senders_at_once_deliver_every_message_exactly_once(app, smtp_up, make_user):
    with app.app_context():
        for n in range(40):
            queue_message(kind="password_reset", to_email=f"p{n}@example.no", subject=f"m{n}",
                          context={"link": f"http://x/{n}", "hours": 2})
        db.session.commit()

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                while send_due(limit=3).claimed:
                    pass
                db.session.remove()
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    recipients = [e.rcpt_tos[0] for e in smtp_up.envelopes]
    assert sorted(recipients) == sorted(f"p{n}@example.no" for n in range(40))
    with app.app_context():
        assert {m.status for m in outbox()} == {OutboxStatus.SENT}
        assert all(m.attempts == 1 for m in outbox())


# -- nothing is sent inside a request; no server configured -------------------------------

def test_booking_over_http_only_writes_to_the_outbox(app, client, login, now, smtp_up,
                                                     make_user, make_equipment):
    person = make_user()
    machine = make_equipment()
    login(person)
    response = client.post(f"/equipment/{machine.id}/book", data={
        "date": "2026-12-08", "start": "10:00", "duration": "60", "confirm": "1"})
    assert response.status_code == 302
    assert smtp_up.envelopes == []
    with app.app_context():
        [message] = outbox()
        assert (message.kind, message.status, message.attempts) == (
            "booking_confirmed", OutboxStatus.PENDING, 0)
        assert message.user_id == person.id and message.booking_id is not None
        # written when it is sent: the request wrote neither its text nor its files
        assert message.text_body is message.html_body is None and message.attachments == []
        messages.write(message)
        assert "Bookingen din er bekreftet." in message.text_body  # in its language, nb
        assert [a.content_type for a in message.attachments] == ["image/png", "text/calendar"]
        # the QR code is kept as what it encodes and drawn when sent
        qr = message.attachments[0]
        assert qr.content == b"" and qr.qr_payload.endswith("/C/" + person_booking_token(person))
        assert qr.data.startswith(b"\x89PNG")


def person_booking_token(person) -> str:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(Booking.checkin_token).where(
        Booking.user_id == person.id)).upper()


class TestWithoutServer:
    @pytest.fixture
    def app_config(self):  # type: ignore[no-untyped-def]
        return {"MAIL_SERVER": None}

    def test_nothing_is_sent_and_admins_read_the_outbox(self, app, client, login, runner, now,
                                                         make_user, make_equipment):
        admin = make_user("admin@example.no", role=Role.ADMIN)
        person = make_user("kari@example.no", name="Kari <script>", locale="en")
        with app.app_context():
            book(person.id, make_equipment().id)
        result = runner.invoke(args=["send-mail"])
        assert result.exit_code == 0, result.output
        assert "MAIL_SERVER is not set" in result.output and "1 message(s) pending" in result.output
        with app.app_context():
            [message] = outbox()
            assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
            message_id = message.id

        login(admin)
        page = client.get("/admin/outbox").get_data(as_text=True)
        assert 'id="not-configured"' in page
        assert 'class="outbox-pending"' in page and "kari@example.no" in page
        detail = client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
        assert "Hello Kari &lt;script&gt;," in detail  # the text body, escaped
        assert "<script>" not in detail
        assert "&lt;html lang=&#34;en&#34;&gt;" in detail or "&lt;html lang=\"en\"&gt;" in detail
        # not written yet: what it would say now, its files by name
        assert 'id="written-when-sent"' in detail and "checkin-qr.png" in detail
        assert not re.findall(rf"/admin/outbox/{message_id}/files/\d+", detail)
        with app.app_context():
            assert db.session.get(OutboxMessage, message_id).text_body is None  # still
            messages.write(db.session.get(OutboxMessage, message_id))
            db.session.commit()
        detail = client.get(f"/admin/outbox/{message_id}").get_data(as_text=True)
        assert 'id="written-when-sent"' not in detail and "Hello Kari &lt;script&gt;," in detail
        files = re.findall(rf"/admin/outbox/{message_id}/files/\d+", detail)
        assert len(files) == 2
        png = client.get(files[0])
        assert png.mimetype == "image/png" and png.headers["Content-Disposition"].startswith(
            "attachment")
        [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
        assert "/C/" in decoded.text

    def test_outbox_is_for_admins_only(self, client, login, make_user):
        assert client.get("/admin/outbox").status_code == 302  # log in first
        login(make_user(role=Role.LIBRARIAN))
        assert client.get("/admin/outbox").status_code == 404
        assert client.get("/admin/outbox/1").status_code == 404


def test_send_mail_and_tick_commands_send_what_is_due(app, runner, smtp_up, make_user):
    with app.app_context():
        queue_message(kind="password_reset", to_email="a@example.no", subject="a",
                      context={"link": "http://x/", "hours": 2})
        db.session.commit()
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    with app.app_context():
        queue_message(kind="password_reset", to_email="b@example.no", subject="b",
                      context={"link": "http://x/", "hours": 2})
        db.session.commit()
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    assert [e.rcpt_tos for e in smtp_up.envelopes] == [["a@example.no"], ["b@example.no"]]


# -- password reset -----------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["nb", "nn", "en"])
def test_password_reset_end_to_end(app, client, smtp_up, make_user, locale):
    make_user("kari@example.no", locale=locale)
    headers = {"Accept-Language": locale}
    assert client.get("/login", headers=headers).get_data(as_text=True).count(
        "/password/forgot") == 1
    known = client.post("/password/forgot", data={"email": "Kari@Example.no"}, headers=headers,
                        follow_redirects=True)
    unknown = client.post("/password/forgot", data={"email": "nobody@example.no"},
                          headers=headers, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert _flash(known) == _flash(unknown) and _flash(known)

    with app.app_context():
        [queued] = outbox()
        assert (queued.kind, queued.to_email, queued.locale) == (
            "password_reset", "kari@example.no", locale)
        assert send_due().sent == 1
    [message] = smtp_up.messages()
    path = link_in(plain(message), "/password/reset/")
    assert f'lang="{locale}"' in html(message)

    form = client.get(path, headers=headers)
    assert form.status_code == 200 and f'<html lang="{locale}">' in form.get_data(as_text=True)
    mismatch = client.post(path, data={"password": "a new long secret",
                                       "password_again": "another one"})
    assert mismatch.status_code == 422
    done = client.post(path, data={"password": "a new long secret",
                                   "password_again": "a new long secret"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")

    assert client.post("/login", data={"email": "kari@example.no",
                                       "password": PASSWORD}).status_code == 422
    assert client.post("/login", data={"email": "kari@example.no",
                                       "password": "a new long secret"}).status_code == 302
    again = client.get(path, headers=headers)
    assert again.status_code == 400 and 'data-code="invalid_link"' in again.get_data(as_text=True)
    assert client.post(path, data={"password": "third secret!!", "password_again":
                                   "third secret!!"}).status_code == 400


def _flash(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<p class="message[^"]*"[^>]*>(.*?)</p>', response.get_data(as_text=True))


def test_reset_links_are_signed_and_expire(app_ctx, make_user, monkeypatch):
    from makerspace.accounts import tokens

    person = db.session.get(User, make_user().id)
    token = tokens.password_reset_token(person)
    assert tokens.user_for_reset_token(token).id == person.id
    with pytest.raises(tokens.InvalidLink):
        tokens.user_for_reset_token(token[:-2] + "xx")
    with pytest.raises(tokens.InvalidLink):  # a verification token is no reset token
        tokens.user_for_reset_token(tokens.verification_token(person))
    import itsdangerous.timed

    later = itsdangerous.timed.time.time() + 2 * 3600 + 5
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    with pytest.raises(tokens.ExpiredLink):
        tokens.user_for_reset_token(token)


# -- verification -------------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["nb", "nn", "en"])
def test_registration_requires_verification_before_booking(app, client, now, smtp_up,
                                                           make_equipment, make_token, locale):
    machine = make_equipment()
    response = client.post("/register", headers={"Accept-Language": locale}, data={
        "name": "Sigrid Test", "email": "sigrid@example.no", "birth_year": "1999",
        "password": PASSWORD, "password_again": PASSWORD})
    assert response.status_code == 302
    with app.app_context():
        person = db.session.scalar(select(User).where(User.email == "sigrid@example.no"))
        assert person.email_verified_at is None and person.locale == locale
        token = make_token(person)
        [queued] = outbox()
        assert (queued.kind, queued.locale) == ("email_verification", locale)
        # the outbox holds no working link, only a placeholder the sender fills in
        assert "/verify/" not in queued.text_body + queued.html_body
    client.post("/login", data={"email": "sigrid@example.no", "password": PASSWORD})

    home = client.get("/").get_data(as_text=True)
    assert 'id="verify-notice"' in home
    page = client.post(f"/equipment/{machine.id}/book", data={
        "date": "2026-12-08", "start": "10:00", "duration": "60"})
    assert page.status_code == 422
    assert 'data-code="email_not_verified"' in page.get_data(as_text=True)
    assert 'id="verify-notice"' in page.get_data(as_text=True)  # with the resend button
    api = client.post("/api/v1/bookings", headers=bearer(token), json={
        "equipment_id": machine.id, "start": "2026-12-08T10:00:00+01:00",
        "end": "2026-12-08T11:00:00+01:00"})
    assert api.status_code == 403 and api.get_json()["code"] == "email_not_verified"

    assert client.post("/verify/resend").status_code == 302
    with app.app_context():
        assert len(outbox("email_verification")) == 1  # asked again at once: not resent
        assert send_due().sent == 1
    path = link_in(plain(smtp_up.messages()[0]), "/verify/")
    forged = client.get(path[:-3] + "abc")
    assert forged.status_code == 400 and 'data-code="invalid_link"' in forged.get_data(
        as_text=True)
    assert client.get(path).status_code == 302
    assert client.get(path).status_code == 302  # again: still fine
    assert 'id="verify-notice"' not in client.get("/").get_data(as_text=True)
    api = client.post("/api/v1/bookings", headers=bearer(token), json={
        "equipment_id": machine.id, "start": "2026-12-08T10:00:00+01:00",
        "end": "2026-12-08T11:00:00+01:00"})
    assert api.status_code == 201


def test_staff_may_book_a_walk_in_for_someone_not_yet_verified(app_ctx, now, make_user,
                                                               make_equipment):
    from makerspace.accounts.services import register_citizen

    machine = make_equipment()
    librarian = db.session.get(User, make_user(role=Role.LIBRARIAN,
                                               branches=[machine.branch]).id)
    citizen = register_citizen(email="new@example.no", name="New", password=PASSWORD,
                               birth_year=1990)
    booking = create_booking(user=citizen, equipment=db.session.get(Equipment, machine.id),
                             start=START, end=START + timedelta(hours=1), booked_by=librarian)
    assert booking.status == BookingStatus.CONFIRMED


# -- the other occasions ------------------------------------------------------------------

@pytest.fixture
def course(app_ctx, now, open_branch):  # type: ignore[no-untyped-def]
    branch = db.session.get(Branch, open_branch("hoved").id)
    event = create_event(branch=branch, title="Laserkutter – grunnkurs", start=START,
                         end=START + timedelta(hours=2), capacity=1)
    db.session.commit()
    return event


def test_waitlist_and_promotion_are_told(course, make_user):
    first = db.session.get(User, make_user(locale="en").id)
    second = db.session.get(User, make_user(locale="nn").id)
    seat = sign_up(event=course, user=first)
    sign_up(event=course, user=second)
    db.session.commit()
    [confirmed] = outbox("signup_confirmed")
    [waitlisted] = outbox("signup_waitlisted")
    assert confirmed.user_id == first.id and len(confirmed.attachments) == 2
    assert waitlisted.user_id == second.id and ": 1." in waitlisted.text_body
    assert waitlisted.attachments == []

    leave(db.session.get(Signup, seat.id), by=first)
    db.session.commit()
    [promoted] = outbox("signup_promoted")
    assert promoted.user_id == second.id and promoted.locale == "nn"
    assert {a.content_type for a in promoted.attachments} == {"image/png", "text/calendar"}
    assert "/events/" in promoted.text_body
    assert "Gode nyheiter: ein plass vart ledig" in promoted.text_body  # the promotion, in nn
    assert "Gode nyheiter" in promoted.html_body
    assert "Du har plass på kurset." not in promoted.text_body  # not the plain confirmation


def test_cancelled_course_tells_everyone_with_a_place(course, make_user):
    people = [db.session.get(User, make_user().id) for _ in range(3)]
    for person in people:
        sign_up(event=course, user=person)
    leave(db.session.scalar(select(Signup).where(Signup.user_id == people[2].id)),
          by=people[2])
    cancel_event(db.session.get(Event, course.id), reason="Instruktøren er sjuk")
    db.session.commit()
    told = outbox("event_cancelled")
    assert sorted(m.user_id for m in told) == sorted(p.id for p in people[:2])
    assert all("Instruktøren er sjuk" in m.text_body for m in told)


def test_staff_cancellation_and_outage_are_told_with_the_reason(app_ctx, now, make_user,
                                                                make_equipment):
    machine = make_equipment()
    librarian = db.session.get(User, make_user(role=Role.LIBRARIAN,
                                               branches=[machine.branch]).id)
    person = make_user()
    first = book(person.id, machine.id)
    second = book(person.id, machine.id, start=START + timedelta(hours=2))
    cancel_booking(db.session.get(Booking, first.id), by=librarian, reason="Dysa er tett")
    take_out_of_service(db.session.get(Equipment, machine.id), start=NOW, end=None,
                        reason="Ny printer kommer", by=librarian)
    db.session.commit()
    [staff] = outbox("booking_cancelled_by_staff")
    assert "Dysa er tett" in staff.text_body and f"/bookings/{first.id}" in staff.text_body
    [outage] = outbox("booking_out_of_service")
    assert "Ny printer kommer" in outage.text_body and outage.user_id == person.id
    assert f"/equipment/{machine.id}" in outage.text_body
    assert second.id


def test_own_cancellation_sends_nothing(app_ctx, now, make_user, make_equipment):
    person = db.session.get(User, make_user().id)
    booking = book(person.id, make_equipment().id)
    cancel_booking(db.session.get(Booking, booking.id), by=person)
    db.session.commit()
    assert [m.kind for m in outbox()] == ["booking_confirmed"]


def test_reminders_are_queued_once(course, make_user, make_equipment, make_booking):
    person = make_user()
    machine = make_equipment()
    soon = make_booking(machine, person, START)  # 25 h ahead of NOW
    later = make_booking(machine, person, START + timedelta(days=1))
    for booking_id in (soon.id, later.id):
        db.session.get(Booking, booking_id).created_at = NOW - timedelta(days=2)
    signup = sign_up(event=course, user=db.session.get(User, person.id))
    signup.created_at = NOW - timedelta(days=2)
    db.session.commit()

    assert messages.queue_reminders(NOW) == 0  # more than 24 h away
    moment = START - timedelta(hours=23)
    assert messages.queue_reminders(moment) == 2
    db.session.commit()
    assert messages.queue_reminders(moment + timedelta(minutes=1)) == 0
    db.session.commit()
    kinds = sorted(m.kind for m in outbox() if m.kind.startswith("reminder"))
    assert kinds == ["reminder_booking", "reminder_signup"]
    assert db.session.get(Booking, later.id).reminded_at is None


def test_a_block_can_be_told(app_ctx, now, make_user):
    from makerspace.booking.models import BookingBlock

    person = make_user(locale="en")
    block = BookingBlock(user_id=person.id, starts_at=NOW, ends_at=NOW + timedelta(days=30),
                         reason="3 no-shows")
    db.session.add(block)
    db.session.flush()
    message = messages.booking_block_started(block)
    assert message.kind == "no_show_block" and "January" in message.text_body
    assert message.user_id == person.id


def test_messages_are_written_in_the_callers_transaction(app_ctx, now, make_user,
                                                         make_equipment):
    person = make_user()
    book(person.id, make_equipment().id)
    queue_message(kind="password_reset", to_email="x@example.no", subject="x",
                  context={"link": "http://x/", "hours": 2})
    db.session.rollback()
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1


# -- templates ----------------------------------------------------------------------------

TEMPLATES = Path(__file__).resolve().parent.parent / "makerspace" / "templates" / "mail"


def test_every_kind_has_text_and_html_and_text_strings_are_extractable():
    """babel.cfg extracts *.html only: every msgid of a .txt template must also be in .html."""
    texts = {p.stem for p in TEMPLATES.glob("[!_]*.txt")}
    htmls = {p.stem for p in TEMPLATES.glob("[!_]*.html")}
    assert texts == htmls and len(texts) >= 12
    msgid = re.compile(r'_\("((?:[^"\\]|\\.)*)"')
    in_html = set()
    for path in TEMPLATES.glob("*.html"):
        in_html |= set(msgid.findall(path.read_text()))
    for path in TEMPLATES.glob("*.txt"):
        missing = set(msgid.findall(path.read_text())) - in_html
        assert not missing, (path.name, missing)


def test_clock_is_used_for_new_messages(app_ctx, now):
    message = queue_message(kind="password_reset", to_email="x@example.no", subject="x",
                            context={"link": "http://x/", "hours": 2})
    assert message.next_attempt_at == clock.now()


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):  # type: ignore[no-untyped-def]
        return {"WTF_CSRF_ENABLED": True}

    def test_posts_without_a_token_are_refused(self, app, client, login, make_user):
        make_user("kari@example.no")
        assert client.post("/password/forgot",
                           data={"email": "kari@example.no"}).status_code in (400, 422)
        login(make_user(role=Role.ADMIN))
        assert client.post("/verify/resend").status_code == 400
        for path in ["/password/forgot", "/admin/outbox"]:
            html_page = client.get(path).get_data(as_text=True)
            for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", html_page, re.S):
                assert 'name="csrf_token"' in form
        with app.app_context():
            assert outbox() == []


def test_a_booking_made_within_the_reminder_window_is_marked_by_its_confirmation(
        app_ctx, make_user, make_equipment, frozen_clock):
    """Made 23 h before the start, an hour before a tick: no separate reminder (the
    confirmation is it), and the booking says so; made 26 h before: reminded at 24 h."""
    frozen_clock.set(START - timedelta(hours=23))
    person, machine = make_user(), make_equipment()
    close = book(person.id, machine.id)
    assert close.reminded_at == START - timedelta(hours=23)  # marked, explicitly, at once
    frozen_clock.set(START - timedelta(hours=22, minutes=30))
    assert messages.queue_reminders() == 0
    assert [m.kind for m in outbox()] == ["booking_confirmed"]

    frozen_clock.set(START - timedelta(hours=26))
    early = book(person.id, machine.id, START + timedelta(hours=2))
    assert early.reminded_at is None
    frozen_clock.set(START - timedelta(hours=21))
    assert messages.queue_reminders() == 1
    db.session.commit()
    assert [m.kind for m in outbox()][-1] == "reminder_booking"
