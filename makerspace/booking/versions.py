"""Change tokens for availability answers, so a repeated `If-None-Match` is answered 304
without the database.

Every committed change that can alter a machine's free or busy time replaces a random token:
the machine's (its bookings, outages and rules), its branch's (weekly hours, closures and
other date exceptions, the branch's own settings) or, for bulk statements that name no single
row, the county's. An availability ETag is a hash of the three tokens, the whole minute the
answer was made for (free time starts at the next whole minute, so an answer holds for a
minute at most) and the query. The tokens are replaced in the session's `after_commit`, that
is before the writing request answers, so the next answer after a change is a new one.

Where the tokens live: in Redis (when VERSIONS_STORAGE_URI, or else RATELIMIT_STORAGE_URI, is
a redis:// address), shared by every web worker and the job worker (`flask worker`), whose
no-shows and holds change availability too; in this process only under TESTING. Without a
shared store there are no tokens and the ETag is a hash of the answer itself, as before (the
304 then costs the query).
Tokens are random, not counters, so a store that was emptied (a Redis restart) can never
make an old ETag match again: a missing token means "ask the database".
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from flask import Flask, Response, current_app, has_app_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from makerspace import clock
from makerspace.booking.availability import next_whole_minute
from makerspace.booking.models import Booking, Equipment, EquipmentOutage
from makerspace.branches.models import Branch, DateException, StaffedHours, WeeklyHours
from makerspace.certifications.models import Certification
from makerspace.database import snapshot_taken
from makerspace.extensions import db

LOG = logging.getLogger(__name__)
COUNTY = "county"
_MARKS = "availability_changed"  # in Session.info: the token keys to replace at commit
# A certification's name is on the machines' pages: a change to one (rare) is the county's.
_WATCHED = (Booking, EquipmentOutage, Equipment, Branch, WeeklyHours, DateException,
            StaffedHours, Certification)


class TokenStore(Protocol):
    def get(self, keys: list[str]) -> list[str | None]: ...

    def get_or_make(self, keys: list[str]) -> list[str]: ...

    def replace(self, keys: Iterable[str]) -> None: ...


class MemoryTokens:
    """Tokens in this process (one process only)."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, keys: list[str]) -> list[str | None]:
        return [self._tokens.get(k) for k in keys]

    def get_or_make(self, keys: list[str]) -> list[str]:
        with self._lock:
            return [self._tokens.setdefault(k, secrets.token_hex(8)) for k in keys]

    def replace(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._tokens[key] = secrets.token_hex(8)


class RedisTokens:
    """Tokens in Redis, shared by every worker on every host. When Redis cannot be reached,
    reading gives no tokens (answers are then made, and hashed, from the database).

    Each process keeps a copy of the tokens it has read, so that a repeated request costs no
    round trip to Redis (an `MGET` was half of a 304). A replacement is published on a
    channel in the same pipeline as the new tokens, and every reader takes the messages
    waiting on its subscription (a non-blocking read) before it answers from its copy. Redis
    writes the message to the subscribers' sockets before it answers the writer, so on one
    host a change is in every reader's socket before the changing request has answered; from
    another host it arrives with the network's delay. A copy is used for KEPT_SECONDS at
    most, so a message that was lost (a writer that could not reach Redis) delays a change by
    that much, and while the subscription is broken every read goes to Redis."""

    PREFIX = "folkeverksted:availability:"
    KEPT_SECONDS = 5.0
    RETRY_SECONDS = 5.0  # between attempts to subscribe again after the subscription broke

    def __init__(self, url: str) -> None:
        import redis  # only where a Redis store is configured

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, decode_responses=True)
        self._errors = redis.RedisError
        self._lock = threading.Lock()
        self._copy: dict[str, tuple[str, float]] = {}  # key -> (token, read at)
        self._subscription: Any = None
        self._subscribed_in = 0  # the process id: a subscription is not shared with a fork
        self._next_attempt = 0.0
        self._reconnected = False

    @property
    def channel(self) -> str:
        return self.PREFIX + "replaced"

    def get(self, keys: list[str]) -> list[str | None]:
        with self._lock:
            if not self._listening():
                return self._read(keys)
            now = time.monotonic()
            found = [self._copy.get(k) for k in keys]
            if all(f is not None and now - f[1] < self.KEPT_SECONDS for f in found):
                return [f[0] for f in found]  # type: ignore[index]
            read = self._read(keys)
            for key, token in zip(keys, read, strict=True):
                if token is not None:
                    self._copy[key] = (token, now)
            return read

    def _read(self, keys: list[str]) -> list[str | None]:
        try:
            return self._redis.mget([self.PREFIX + k for k in keys])
        except self._errors:
            return [None] * len(keys)

    def _listening(self) -> bool:
        """Whether the copy is current: subscribed, with every waiting message taken."""
        if self._subscription is not None and self._subscribed_in != os.getpid():
            self._subscription = None  # inherited from the parent process: not ours
            self._copy.clear()
        if self._subscription is None and not self._subscribe():
            return False
        try:
            while (message := self._subscription.get_message(timeout=0)) is not None:
                if message["type"] == "message":
                    for key in message["data"].split():
                        self._copy.pop(key, None)
        except self._errors:
            self._drop_subscription()
            return False
        if self._reconnected:  # messages may have been missed while it was away
            self._drop_subscription()
            return False
        return True

    def _subscribe(self) -> bool:
        now = time.monotonic()
        if now < self._next_attempt:
            return False
        self._next_attempt = now + self.RETRY_SECONDS
        subscription = self._redis.pubsub()
        try:
            subscription.subscribe(self.channel)
            # Only once the server has confirmed does every later replacement reach us.
            deadline = now + 0.5
            while time.monotonic() < deadline:
                confirmed = subscription.get_message(timeout=0.1)
                if confirmed is not None and confirmed["type"] == "subscribe":
                    break
            else:
                subscription.close()
                return False
        except self._errors:
            with contextlib.suppress(self._errors):
                subscription.close()
            return False
        # redis-py connects again by itself after an error; what was published meanwhile
        # never arrives, so a new connection means a new subscription (and an empty copy).
        subscription.connection.register_connect_callback(self._on_reconnect)
        self._subscription, self._subscribed_in = subscription, os.getpid()
        self._reconnected = False
        self._copy.clear()
        return True

    def _on_reconnect(self, _connection: Any) -> None:
        self._reconnected = True

    def _drop_subscription(self) -> None:
        with contextlib.suppress(self._errors):
            self._subscription.close()
        self._subscription = None
        self._next_attempt = 0.0  # subscribe again with the next read
        self._copy.clear()

    def get_or_make(self, keys: list[str]) -> list[str]:
        found = self.get(keys)
        missing = [k for k, v in zip(keys, found, strict=True) if v is None]
        if missing:
            try:
                with self._redis.pipeline(transaction=False) as pipe:
                    for key in missing:
                        pipe.set(self.PREFIX + key, secrets.token_hex(8), nx=True)
                    pipe.execute()
            except self._errors:
                return [""] * len(keys)
            found = self.get(keys)
        return [v or "" for v in found]

    def replace(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        names = [self.PREFIX + k for k in keys]
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.set(name, secrets.token_hex(8))
                # After the new tokens, so a reader that hears of it reads the new ones.
                pipe.publish(self.channel, " ".join(keys))
                pipe.execute()
        except self._errors:
            # The change is committed; a token that could not be replaced may let an old
            # ETag through until the minute ends. Say so loudly; try to drop them instead.
            LOG.error("availability tokens not replaced", extra={"keys": names})
            with contextlib.suppress(self._errors):
                self._redis.delete(*names)
        with self._lock:  # this process's own copy at once, whatever Redis said
            for key in keys:
                self._copy.pop(key, None)


def make_store(config: dict[str, Any]) -> TokenStore | None:
    """The store the settings ask for, or None where no store would be right."""
    uri = str(config.get("VERSIONS_STORAGE_URI") or config.get("RATELIMIT_STORAGE_URI") or "")
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return RedisTokens(uri)
    if uri.startswith("memory://") and config.get("TESTING"):
        # Only where one process is all there is. A web server with memory:// still has the
        # job worker (`flask worker`: no-shows, holds, printers) in another process, whose
        # changes this process would never hear of.
        return MemoryTokens()
    return None


def store() -> TokenStore | None:
    return current_app.extensions.get("availability_tokens")


# -- the keys a change touches ------------------------------------------------------------

def machine_key(equipment_id: int) -> str:
    return f"m{equipment_id}"


def branch_key(branch_id: int) -> str:
    return f"b{branch_id}"


def _keys_of(obj: Any) -> Iterable[str]:
    if isinstance(obj, Booking | EquipmentOutage):
        # Also the machine it was on before, should a row ever move.
        history = inspect(obj).attrs.equipment_id.history
        for equipment_id in (obj.equipment_id, *history.deleted):
            if equipment_id is not None:
                yield machine_key(equipment_id)
    elif isinstance(obj, Equipment):
        if obj.id is not None:
            yield machine_key(obj.id)
        # Its branch's too (and the one it left): which machines a branch has is on the
        # branch's page, which is kept by the branch's token without asking the database.
        history = inspect(obj).attrs.branch_id.history
        for branch_id in (obj.branch_id, *history.deleted):
            if branch_id is not None:
                yield branch_key(branch_id)
    elif isinstance(obj, Branch):
        if obj.id is not None:
            yield branch_key(obj.id)
    elif isinstance(obj, Certification):
        yield COUNTY
    else:  # hours and date exceptions
        history = inspect(obj).attrs.branch_id.history
        for branch_id in (obj.branch_id, *history.deleted):
            if branch_id is not None:
                yield branch_key(branch_id)


def _mark(session: Session, keys: Iterable[str]) -> None:
    session.info.setdefault(_MARKS, set()).update(keys)


def _after_flush(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _WATCHED):
            _mark(session, _keys_of(obj))


def _bulk_statement(state: ORMExecuteState) -> None:
    # update()/delete()/insert() through the session name no single row: every token goes.
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mappers = [m.class_ for m in state.all_mappers] if state.all_mappers else []
    if any(issubclass(cls, _WATCHED) for cls in mappers):
        _mark(state.session, [COUNTY])


def _after_commit(session: Session) -> None:
    marks = session.info.pop(_MARKS, None)
    if not marks or not has_app_context():
        return
    tokens = store()
    if tokens is not None:
        tokens.replace(marks)


_listening = False


def install(app: Flask) -> None:
    """Keep tokens for this app (once per app) and listen to every session's commits."""
    global _listening
    tokens = make_store(app.config)
    if tokens is not None:
        app.extensions["availability_tokens"] = tokens
    app.extensions["availability_branches"] = {}
    app.extensions["availability_branch_pages"] = {}
    app.extensions["availability_pages"] = KeptPages()
    if not _listening:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _bulk_statement)
        event.listen(Session, "after_commit", _after_commit)
        _listening = True


# -- the fingerprint ----------------------------------------------------------------------

def _branch_of() -> dict[int, int]:
    """Which branch a machine is at, learned from full answers (a machine that moves replaces
    its own token, so a stale entry can only cost a full answer, never a wrong 304)."""
    return current_app.extensions["availability_branches"]


def fingerprint(tokens: Iterable[str | None], minute: datetime, query: str) -> str | None:
    tokens = list(tokens)
    if any(not t for t in tokens):
        return None
    seed = "|".join((*tokens, minute.isoformat(), query)).encode()  # type: ignore[arg-type]
    return hashlib.blake2b(seed, digest_size=16).hexdigest()


def token_keys(equipment_id: int, branch_id: int) -> list[str]:
    return [COUNTY, branch_key(branch_id), machine_key(equipment_id)]


def query_key(args: Any) -> str:
    """The part of the query the answer depends on, as sent."""
    return f"{args.get('from', '')}/{args.get('days', '')}"


def known_tag(equipment_id: int, minute: datetime, query: str,
              extensions: dict[str, Any] | None = None) -> str | None:
    """The ETag the current state would have, from the store alone (None: ask the database).
    `extensions`: the app's, for a caller outside an app context."""
    extensions = current_app.extensions if extensions is None else extensions
    tokens = extensions.get("availability_tokens")
    branch_id = extensions["availability_branches"].get(equipment_id)
    if tokens is None or branch_id is None:
        return None
    return fingerprint(tokens.get(token_keys(equipment_id, branch_id)), minute, query)


def tag_before_reading(equipment_id: int, minute: datetime, query: str) -> str | None:
    """The ETag of an answer about to be made: the tokens are read before the database, so a
    change committed in between can only make the tag older than the answer, never newer.
    None when the machine's branch is not known yet (the caller then hashes the answer), or
    when this request has read from SQLite already (a logged-in person): its reads see the
    database as it was then, which may be older than the tokens."""
    tokens = store()
    branch_id = _branch_of().get(equipment_id)
    if tokens is None or branch_id is None or snapshot_taken(db.session):
        return None
    return fingerprint(tokens.get_or_make(token_keys(equipment_id, branch_id)), minute, query)


def confirm_branch(equipment_id: int, branch_id: int) -> bool:
    """Whether the tag read before the machine was loaded named its branch; learns it."""
    branches = _branch_of()
    known = branches.get(equipment_id) == branch_id
    branches[equipment_id] = branch_id
    return known


def branch_page_tag(slug: str, minute: datetime, asked: str) -> str | None:
    """The fingerprint of a branch page's part about to be made, read before the database
    like tag_before_reading: the tokens of the county, the branch and each of its machines
    in use, as learned from the page's last full answer in this process (a machine added,
    retired or moved changes the list, and confirm_branch_page then refuses the tag)."""
    tokens = store()
    learned = current_app.extensions["availability_branch_pages"].get(slug)
    if tokens is None or learned is None or snapshot_taken(db.session):
        return None
    branch_id, machine_ids = learned
    keys = [COUNTY, branch_key(branch_id), *(machine_key(i) for i in machine_ids)]
    return fingerprint(tokens.get_or_make(keys), minute, f"branch|{slug}|{asked}")


def kept_branch_page(tag: str | None) -> Any:
    """The branch page's kept parts for this fingerprint, or None. Its tokens cover all the
    page says, the machines it lists included (a machine's change replaces its branch's
    token), so a kept page needs no query at all."""
    return kept_pages().get(tag) if tag is not None else None


def confirm_branch_page(slug: str, branch_id: int, machine_ids: Iterable[int]) -> bool:
    """Whether the tag read before the database named this branch and these machines;
    learns them."""
    pages = current_app.extensions["availability_branch_pages"]
    found = (branch_id, tuple(sorted(machine_ids)))
    known = pages.get(slug) == found
    pages[slug] = found
    return known


class KeptPages:
    """Rendered page parts by their fingerprint, the newest few (this process)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._kept: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tag: str) -> Any:
        with self._lock:
            found = self._kept.get(tag)
            if found is not None:
                self._kept.move_to_end(tag)
            return found

    def put(self, tag: str, part: Any) -> None:
        with self._lock:
            self._kept[tag] = part
            self._kept.move_to_end(tag)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


def kept_or_made(tag: str | None, make: Callable[[], Any]) -> Any:
    """The page part kept for this fingerprint, or one made now (and kept, with a tag)."""
    part = kept_pages().get(tag) if tag else None
    if part is None:
        part = make()
        if tag:
            kept_pages().put(tag, part)
    return part


def answer_key(tag: str) -> str:
    """Where a whole availability answer (JSON bytes) is kept: by its ETag."""
    return f"answer|{tag}"


def kept_pages(extensions: dict[str, Any] | None = None) -> KeptPages:
    return (current_app.extensions if extensions is None else extensions)["availability_pages"]


def moment_key(now: datetime) -> tuple[datetime, str]:
    """The whole minute a page part made at `now` holds for, and what else tells it apart.
    Slots start on whole minutes, so "past", "bookable" and "ahead" are the same for every
    moment strictly between two whole minutes; a moment exactly on one is its own case."""
    minute = next_whole_minute(now)
    return minute, "exact" if minute == now else "within"


AVAILABILITY_ENDPOINT = "booking_api.availability"


def answer_not_modified() -> Response | None:
    """Before any other work: a repeated availability request whose ETag still holds gets
    its 304 from the tokens alone (no session, no query, no argument parsing)."""
    if request.endpoint != AVAILABILITY_ENDPOINT or "If-None-Match" not in request.headers:
        return None
    if request.method != "GET":
        return None
    tag = known_tag(request.view_args["equipment_id"],  # type: ignore[index]
                    next_whole_minute(clock.now()), query_key(request.args))
    if tag is None or not request.if_none_match.contains(tag):
        return None
    return Response(status=304, headers={"ETag": f'"{tag}"', "Cache-Control": "no-cache"})
