"""A small SIP2 (3M Standard Interchange Protocol 2.00) client: Login (93/94), then Patron
Information (63/64) or Patron Status (23/24), over TCP or TLS.

Why not pysip2's codec: pysip2 0.1.0 (alpha, one release) implements the library-system side
(its server is the stand-in in our tests), and its decoder drops every field it does not know,
so the extension fields libraries use for birth dates and expiry dates never reach the caller.
The frames we need are four; this module builds and reads them, and the test suite checks
them against pysip2's independent implementation (its server decodes our requests and
verifies our checksums).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# Positions in the 14-character patron status (SIP2 2.00, "patron status"); "Y" means denied.
PATRON_STATUS_FLAGS = (
    "charge privileges denied", "renewal privileges denied", "recall privileges denied",
    "hold privileges denied", "card reported lost", "too many items charged",
    "too many items overdue", "too many renewals", "too many claims of items returned",
    "too many items lost", "excessive outstanding fines", "excessive outstanding fees",
    "recall overdue", "too many items billed",
)
_FIXED_LENGTH = {"94": 1, "64": 14 + 3 + 18 + 6 * 4, "24": 14 + 3 + 18}
_MAX_FRAME = 64 * 1024


class Sip2Error(Exception):
    """The library system did not answer, or not in SIP2."""


@dataclass(frozen=True)
class Sip2Settings:
    host: str
    port: int = 6001
    tls: bool = False
    tls_ca_file: str | None = None
    user: str = ""
    password: str = ""
    institution: str = ""
    location: str = ""
    timeout: float = 5.0
    delimiter: str = "|"
    checksum: bool = True
    encoding: str = "utf-8"
    patron_message: str = "63"  # or "23" (Patron Status)
    birthdate_field: str | None = None
    expiry_field: str | None = None
    blocking_flags: tuple[int, ...] = (0, 4)


@dataclass(frozen=True)
class Frame:
    command: str
    fixed: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def first(self, field_id: str) -> str | None:
        values = self.fields.get(field_id)
        return values[0] if values else None


@dataclass(frozen=True)
class Patron:
    """What the library system said about a card and PIN."""

    valid: bool  # BL
    pin_ok: bool  # CQ
    name: str  # AE
    status: str  # the 14 flags
    screen_messages: tuple[str, ...]  # AF
    birth_date: date | None
    expires_on: date | None

    def denied(self, positions: tuple[int, ...]) -> bool:
        """Whether any of the patron status flags at `positions` says denied."""
        return any(p < len(self.status) and self.status[p] == "Y" for p in positions)


def checksum(prefix: bytes) -> str:
    """The AZ checksum of every byte up to and including "AZ": the two's complement of the
    16-bit sum, four upper-case hex digits."""
    return f"{(-sum(prefix)) & 0xFFFF:04X}"


def build_frame(command: str, fixed: str, fields: list[tuple[str, str]], settings: Sip2Settings,
                sequence: int) -> bytes:
    """One request frame, with the AY/AZ trailer when checksums are on."""
    for field_id, value in fields:
        if settings.delimiter in value or "\r" in value:
            raise ValueError(f"field {field_id} holds the delimiter or a carriage return")
    body = command + fixed + "".join(f"{fid}{value}{settings.delimiter}"
                                     for fid, value in fields)
    data = body.encode(settings.encoding)
    if settings.checksum:
        data += f"AY{sequence % 10}AZ".encode("ascii")
        data += checksum(data).encode("ascii")
    return data + b"\r"


def parse_frame(raw: bytes, settings: Sip2Settings) -> Frame:
    """A response frame; every identified field is kept, known to SIP2 2.00 or not."""
    data = raw.rstrip(b"\r\n")
    if len(data) >= 6 and data[-6:-4] == b"AZ":
        if settings.checksum and (sum(data[:-4]) + int(data[-4:], 16)) & 0xFFFF:
            raise Sip2Error("checksum mismatch in the answer")
        data = data[:-6]
        if len(data) >= 3 and data[-3:-1] == b"AY":
            data = data[:-3]
    elif settings.checksum:
        raise Sip2Error("the answer has no checksum")
    try:
        text = data.decode(settings.encoding)
    except UnicodeDecodeError as error:
        raise Sip2Error(f"the answer is not {settings.encoding}") from error
    command = text[:2]
    length = _FIXED_LENGTH.get(command)
    if length is None or len(text) < 2 + length:
        raise Sip2Error(f"unexpected answer {command!r}")
    fixed, rest = text[2:2 + length], text[2 + length:]
    fields: dict[str, list[str]] = {}
    for part in rest.split(settings.delimiter):
        if len(part) >= 2:
            fields.setdefault(part[:2], []).append(part[2:])
    return Frame(command, fixed, fields)


def _sip_date(moment: datetime) -> str:
    return moment.strftime("%Y%m%d") + "    " + moment.strftime("%H%M%S")


def _date(value: str | None) -> date | None:
    if not value:
        return None
    digits = "".join(c for c in value.strip()[:10] if c.isdigit())
    try:
        return datetime.strptime(digits[:8], "%Y%m%d").date()  # noqa: DTZ007  (a date)
    except ValueError:
        return None


class Connection:
    def __init__(self, settings: Sip2Settings) -> None:
        self.settings = settings
        self.sequence = 0
        self.buffer = b""
        try:
            raw = socket.create_connection((settings.host, settings.port),
                                           timeout=settings.timeout)
            if settings.tls:
                context = ssl.create_default_context(cafile=settings.tls_ca_file)
                raw = context.wrap_socket(raw, server_hostname=settings.host)
        except OSError as error:
            raise Sip2Error(f"cannot connect: {error}") from error
        self.socket = raw

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.socket.close()

    def ask(self, command: str, fixed: str, fields: list[tuple[str, str]], answer: str) -> Frame:
        frame = build_frame(command, fixed, fields, self.settings, self.sequence)
        self.sequence += 1
        try:
            self.socket.sendall(frame)
            while b"\r" not in self.buffer:
                chunk = self.socket.recv(4096)
                if not chunk:
                    raise Sip2Error("the library system closed the connection")
                self.buffer += chunk
                if len(self.buffer) > _MAX_FRAME:
                    raise Sip2Error("answer too long")
        except OSError as error:  # timeouts included
            raise Sip2Error(f"no answer: {error}") from error
        raw, _, self.buffer = self.buffer.partition(b"\r")
        parsed = parse_frame(raw, self.settings)
        if parsed.command != answer:
            raise Sip2Error(f"expected {answer}, got {parsed.command}")
        return parsed


def look_up_patron(settings: Sip2Settings, card_number: str, pin: str,
                   now: datetime) -> Patron:
    """Log in as the app's SIP user, then ask about the card and PIN; raises Sip2Error when
    the system does not answer (in time, or in SIP2), or refuses our SIP user."""
    with Connection(settings) as connection:
        if settings.user:
            login = connection.ask("93", "00", [("CN", settings.user), ("CO", settings.password),
                                                ("CP", settings.location)], "94")
            if login.fixed != "1":
                raise Sip2Error("the library system refused the SIP user")
        patron_fields = [("AO", settings.institution), ("AA", card_number), ("AC", ""),
                         ("AD", pin)]
        if settings.patron_message == "23":
            answer = connection.ask("23", "000" + _sip_date(now), patron_fields, "24")
        else:
            answer = connection.ask("63", "000" + _sip_date(now) + " " * 10, patron_fields,
                                    "64")
    return Patron(
        valid=answer.first("BL") == "Y",
        pin_ok=answer.first("CQ") == "Y",
        name=(answer.first("AE") or "").strip(),
        status=answer.fixed[:14],
        screen_messages=tuple(m.strip() for m in answer.fields.get("AF", []) if m.strip()),
        birth_date=_date(answer.first(settings.birthdate_field))
        if settings.birthdate_field else None,
        expires_on=_date(answer.first(settings.expiry_field)) if settings.expiry_field else None,
    )
