"""The store: the only writer of the ``events`` table.

Every append runs in one ``BEGIN IMMEDIATE`` transaction that checks the rules,
extends the hash chain and updates the projections, so readers never see one
without the others.  SQLite itself refuses UPDATE and DELETE on ``events``.

Durability: WAL with ``synchronous=FULL``.  NORMAL would survive a process
crash but may lose the last commits on power loss; a clerk who was told an
event was recorded must be able to rely on it, and a bulk import pays the
fsync once, so FULL costs little.  An import into an empty log runs with a
rollback journal instead (``_written_once``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import re
import sqlite3
import urllib.parse
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Callable, Iterable, Iterator

import attrs

from caselog import events as ev
from caselog import cores, figures, projections, rules
from caselog.errors import CaselogError, ConflictError, InputError, RuleViolation, TamperError

GENESIS = "0" * 64
SCHEMA = 2  # PRAGMA user_version once every migration below has run
BUSY_TIMEOUT_MS = 30_000
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")  # not \d: any script's digits
COLUMNS = ("position", "event_id", "case", "version", "type", "schema_version", "payload",
            "payload_sha256", "recorded_at", "recorded_by", "hash")
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM events"
_INSERT = "INSERT INTO events VALUES (" + ", ".join("?" * len(COLUMNS)) + ")"


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The encoder's C core, made once: JSONEncoder.encode makes it again on every call, which was 40% of
# spelling a payload.  No check for reference cycles: a payload read from JSON cannot hold one.
_encode = (c_make_encoder(None, _CANONICAL.default, encode_basestring, None, ":", ",", True, False, True)
           if c_make_encoder is not None else _CANONICAL.iterencode)


def canonical(obj: object) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text kept as is."""
    return "".join(_encode(obj, 0))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(row: dict, prev_hash: str) -> str:
    """The row's link in the chain: the envelope, the payload's own hash, and the previous link.

    Hashing the payload's hash rather than the payload lets a payload be redacted
    one day while the chain still verifies.
    """
    return _link(row["position"], row["event_id"], row["case"], row["version"], row["type"], row["schema_version"],
                 row["payload_sha256"], row["recorded_at"], row["recorded_by"], prev_hash)


def _link(position: int, event_id: str, case: str, version: int, type_: str, schema_version: int,
          payload_sha256: str, recorded_at: str, recorded_by: str, prev_hash: str) -> str:
    # The canonical JSON of the envelope, spelled out: json.dumps(sort_keys=True) on every row was
    # most of verify's time.  Only the two texts people type can hold a character JSON escapes; the
    # ids, hashes, timestamp and type are checked forms that never do, and are quoted as they are.
    # tests/test_store.py holds this equal to the canonical JSON.  (A row altered to hold such a
    # character gives another text, whose hash no more matches the stored one.)
    q = encode_basestring
    return sha256(f'{{"case":{q(case)},"event_id":"{event_id}","payload_sha256":"{payload_sha256}",'
                  f'"position":{position:d},"prev_hash":"{prev_hash}","recorded_at":"{recorded_at}",'
                  f'"recorded_by":{q(recorded_by)},"schema_version":{schema_version:d},"type":"{type_}",'
                  f'"version":{version:d}}}')


def timestamp(value: object) -> str:
    """A UTC instant as ``YYYY-MM-DDTHH:MM:SSZ`` (no zone means UTC; a date means its end)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            if _TIMESTAMP.fullmatch(value):
                dt.datetime.fromisoformat(value[:-1])  # already in the canonical form: only check the calendar
                return value
            if len(value) == 10:
                moment = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(23, 59, 59))
            else:
                moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InputError(f"malformed timestamp {value!r}: expected an ISO date or time, e.g. 2023-01-31T12:00:00Z") from None
    else:
        raise InputError(f"malformed timestamp {value!r}: expected text such as 2023-01-31T12:00:00Z")
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return timestamp(dt.datetime.now(dt.timezone.utc))


@attrs.frozen
class Proposed:
    """An event offered to the log, with whatever of its envelope the caller fixed."""

    event: ev.Event
    case: str
    recorded_by: str
    event_id: str | None = None
    recorded_at: str | None = None
    expect_version: int | None = None
    version: int | None = None  # a version given in an import line must match
    position: int | None = None
    schema_version: int = ev.SCHEMA_VERSION
    # The payload as it will be stored (canonical JSON, under schema_version) and its SHA-256, when the
    # reader of an import file prepared them; otherwise the writer spells them from the event.
    stored: tuple[str, str] | None = None
    hash: str | None = None
    source: str | None = None  # where it came from, for messages: "line 12"


@attrs.frozen
class Head:
    """The last link of the chain: what a published figure can be traced to."""

    position: int
    hash: str
    recorded_at: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"


def _migrate_v1(db) -> None:
    db["events"].create(
        {name: kind for name, kind in zip(COLUMNS, (int, str, str, int, str, int, str, str, str, str, str))},
        pk="position", not_null=set(COLUMNS),
    )
    db["events"].create_index(["event_id"], unique=True)
    db["events"].create_index(["case", "version"], unique=True)
    # transform() would drop these triggers: never transform events.
    for verb, remedy in (("UPDATE", "log a correction"), ("DELETE", "log a retraction")):
        db.execute(
            f"CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events BEGIN "
            f"SELECT RAISE(ABORT, 'events is append-only: {remedy} instead'); END"
        )
    db.execute(_NO_REPLACE)
    projections.create(db.conn)


# INSERT OR REPLACE deletes the row it collides with without firing DELETE triggers.
_NO_REPLACE = (
    "CREATE TRIGGER events_no_replace BEFORE INSERT ON events WHEN "
    "EXISTS (SELECT 1 FROM events WHERE position = NEW.position) "
    "OR EXISTS (SELECT 1 FROM events WHERE event_id = NEW.event_id) "
    'OR EXISTS (SELECT 1 FROM events WHERE "case" = NEW."case" AND version = NEW.version) '
    "BEGIN SELECT RAISE(ABORT, 'events is append-only: a logged row cannot be replaced'); END"
)


def _migrate_v2(db) -> None:
    # Every refresh reads the corrections and retractions first: without this index, by a scan of the log.
    db.execute(f"CREATE INDEX idx_events_corrections ON events (position) WHERE {projections.CORRECTIONS}")


def _migrations():
    from sqlite_utils.migrations import Migrations  # only a new database pays for this import

    migrations = Migrations("caselog")
    migrations(name="events_and_projections")(_migrate_v1)
    migrations(name="corrections_index")(_migrate_v2)
    return migrations


def connect(path: str | Path, create: bool = True) -> sqlite3.Connection:
    """Open (and on first use create) a caselog database."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a caselog database")
    if not path.exists() or path.stat().st_size == 0:
        if not create:
            raise InputError(f"no caselog database at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
    elif path.stat().st_size < 512:
        # Smaller than any SQLite page.  (No peeking at the header: closing a file
        # descriptor drops every POSIX lock this process holds on the file.)
        raise InputError(f"{path} is not an SQLite database, let alone caselog's")
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        _prepare(conn, path)
    except sqlite3.OperationalError as error:
        conn.close()
        if "locked" in str(error):  # held past the busy timeout, as by a long first import (_written_once)
            raise ConflictError(f"{path} stayed locked by another command for {BUSY_TIMEOUT_MS // 1000} s; retry") from None
        raise InputError(f"{path} is not a usable caselog database: {error}") from None
    except sqlite3.DatabaseError as error:
        conn.close()
        raise InputError(f"{path} is not a usable caselog database: {error}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Check the schema, migrate a new or older database, and set the pragmas."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version < SCHEMA:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if (version == 0 and tables - {"_sqlite_migrations"}) or (version > 0 and "events" not in tables):
            raise InputError(f"{path} is an SQLite database but not caselog's")
        if version == 0:
            # Set before the first table is written (and WAL chosen), after which it cannot change.
            conn.execute(f"PRAGMA page_size = {projections.PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode = WAL")
        import sqlite_utils

        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA:
                _migrations().apply(sqlite_utils.Database(conn))
                conn.execute(f"PRAGMA user_version = {SCHEMA}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    elif version > SCHEMA:
        raise InputError(f"{path} was written by a newer caselog (schema {version}); upgrade caselog")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        _journal_mode(conn, "wal", wait_ms=0)  # a first import that could not switch back, or was killed
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -32768")  # 32 MiB, filled only as a large transaction needs it
    # Some builds zero every freed page.  Nothing caselog deletes is secret (only projection rows, which
    # the log can always recompute), and zeroing made dropping them for a rebuild 20 times slower.
    conn.execute("PRAGMA secure_delete = OFF")


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error.

    IMMEDIATE takes the write lock up front, so concurrent clerks queue on the
    busy timeout instead of failing when a read would turn into a write.
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        attempts = 3
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return self.conn
            except sqlite3.OperationalError as error:
                # Nothing has been read or written yet, so trying again is safe.
                attempts -= 1
                if "locked" not in str(error):
                    raise
                if not attempts:
                    raise ConflictError(
                        f"the log stayed locked by another writer for {3 * BUSY_TIMEOUT_MS // 1000} s; retry"
                    ) from None

    def __exit__(self, kind, error, tb) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        projections.let_go_of_scratch(self.conn)


def read_only(path: str | Path) -> sqlite3.Connection:
    """A connection that cannot write to ``path`` (quoted: a name may hold '?', '#' or '%')."""
    return sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=ro", uri=True)


def file_of(conn: sqlite3.Connection) -> str:
    """The path of the connection's main database; empty for a database in memory."""
    return next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")


def head(conn: sqlite3.Connection) -> Head:
    row = conn.execute("SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1").fetchone()
    return Head(*row) if row else Head(0, GENESIS, "")


def head_at(conn: sqlite3.Connection, position: int | None) -> Head:
    """The chain's link at ``position`` (the head, when None)."""
    if position is None:
        return head(conn)
    row = conn.execute("SELECT position, hash, recorded_at FROM events WHERE position = ?", (position,)).fetchone()
    return Head(*row) if row else Head(0, GENESIS, "")


@contextlib.contextmanager
def reading(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: every query inside sees the same log, whatever clerks append meanwhile."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")
        projections.let_go_of_scratch(conn)


def _record(row: tuple) -> ev.Recorded:
    position, event_id, case, version, type_, schema_version, payload, _, recorded_at, recorded_by, _ = row
    data = ev.upcast(type_, schema_version, json.loads(payload))
    return ev.Recorded(ev.trusted(type_, data), case, event_id, recorded_at, recorded_by, version, position)


def history(conn: sqlite3.Connection, case: str, before: int | None = None) -> list[ev.Recorded]:
    """A case's logged events in log order (those before position ``before``, if given)."""
    sql = _SELECT + ' WHERE "case" = ?' + (" AND position < ?" if before else "") + " ORDER BY position"
    return [_record(r) for r in conn.execute(sql, (case, before) if before else (case,))]


def state_of(conn: sqlite3.Connection, case: str) -> rules.CaseState:
    return rules.fold(case, history(conn, case))


def find(conn: sqlite3.Connection, event_id: str) -> ev.Recorded | None:
    row = conn.execute(_SELECT + " WHERE event_id = ?", (event_id,)).fetchone()
    return _record(row) if row else None


_BATCH = 2_000  # rows a Writer inserts at once


class Writer:
    """Appends within one transaction: rules, chain, projections, all or nothing."""

    def __init__(self, conn: sqlite3.Connection, today: dt.date | None = None):
        self.conn = conn
        self.today = today or dt.date.today()  # once: an import that runs past midnight keeps its day
        start = head(conn)
        # The head as it moves, in plain attributes: making a Head an event cost 0.2 µs.
        self.position, self.prev, self.last_recorded_at = start.position, start.hash, start.recorded_at
        self.started = now()
        self.states = rules.StateCache(self._load)
        self.empty = start.position == 0
        self.touched: set[str] = set()
        # Rows appended but not yet inserted, with where each came from: inserted a batch at a time,
        # since one executemany costs less than an execute a row (0.5 µs a row).  Anything that reads
        # the log's events inserts them first.
        self.pending: list[tuple] = []
        self.sources: list[str | None] = []
        self.refused: CaselogError | None = None

    @property
    def head(self) -> Head:
        return Head(self.position, self.prev, self.last_recorded_at)

    def _load(self, case: str, before: int) -> rules.CaseState:
        if self.empty and case not in self.touched:  # a log that began empty holds nothing of it yet
            return rules.CaseState(case)
        self.flush()
        return state_of(self.conn, case)

    def _history(self, case: str) -> list[ev.Recorded]:
        self.flush()
        return history(self.conn, case)

    def append(self, item: Proposed) -> ev.Recorded:
        """Check ``item`` and log it; an error names the item's source, if it has one.  A refusal
        of an earlier item still waiting to be inserted comes first."""
        try:
            recorded = self._append(item)
        except CaselogError as error:
            if error is self.refused:  # an earlier item's row, inserted on the way: it names its source
                raise
            self.flush()
            raise _from(item.source, error) from None
        if len(self.pending) == _BATCH:
            self.flush()
        return recorded

    def flush(self) -> None:
        """Insert the pending rows; a refused one raises the error of its item."""
        if not self.pending:
            return
        rows, sources = self.pending, self.sources
        self.pending, self.sources = [], []
        try:
            self.conn.executemany(_INSERT, rows)
        except sqlite3.IntegrityError:
            # The rows before the refused one are in; asked only now: looking every given id up
            # beforehand cost an import 4% of its time.
            (last,) = self.conn.execute("SELECT max(position) FROM events").fetchone()
            refused = (last or 0) + 1 - rows[0][0]
            position, event_id, case, version = rows[refused][:4]
            if self.conn.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone():
                error: CaselogError = InputError(f"event_id {event_id} is already in the log")
            else:
                error = ConflictError(f"case {case} version {version} was written by another clerk first; retry")
            self.refused = _from(sources[refused], error)
            raise self.refused from None

    def _append(self, item: Proposed) -> ev.Recorded:
        conn = self.conn
        case = item.case
        state = self.states.take(case, self.position + 1)
        if item.expect_version is not None and item.expect_version != state.version:
            raise ConflictError(
                f"case {case} is at version {state.version}, not {item.expect_version}: another clerk wrote "
                f"first; check `caselog show {case}` and retry with --expect-version {state.version}"
            )
        if item.version is not None and item.version != state.version + 1:
            raise ConflictError(f"version {item.version} given, but this event would be version {state.version + 1} of case {case}")
        event = item.event
        if event.TYPE in ev.META_TYPES:
            self.flush()
            target = find(conn, event.target)
            if target is None:
                raise RuleViolation(f"unknown event {event.target}: nothing to {'correct' if event.TYPE == 'event_corrected' else 'retract'}")
            if target.case != case:
                raise RuleViolation(f"event {event.target} is of case {target.case}, not {case}")
        position = self.position + 1
        if item.position is not None and item.position != position:
            raise InputError(f"position {item.position} given, but the log's next position is {position}")
        recorded_at = item.recorded_at or now()
        if item.recorded_at is not None and recorded_at > self.started:
            # A log that claims a future moment would lock every clerk out until then.
            raise InputError(f"recorded_at {recorded_at} is in the future (now is {self.started})")
        if recorded_at < self.last_recorded_at:
            raise InputError(
                f"recorded_at {recorded_at} is earlier than the log's last event ({self.last_recorded_at}): "
                "recorded_at never decreases along the log"
            )
        try:
            recorded_by = ev.checked_text(item.recorded_by)
        except (ValueError, TypeError) as error:
            raise InputError(f"recorded_by (the clerk's name): {error}") from None
        event_id = item.event_id or ev.new_event_id()
        recorded = ev.Recorded(event, case, event_id, recorded_at, recorded_by, state.version + 1, position)
        new_state = rules.decide(state, recorded, lambda: self._history(case), self.today)
        payload, payload_sha256 = item.stored or _stored(ev.payload(event))
        link = _link(position, event_id, case, recorded.version, event.TYPE, item.schema_version, payload_sha256,
                     recorded_at, recorded_by, self.prev)
        if item.hash is not None and item.hash != link:
            raise TamperError(f"hash {item.hash[:12]}… does not match the event: the file was altered, or it does not continue this log")
        self.pending.append((position, event_id, case, recorded.version, event.TYPE, item.schema_version, payload,
                             payload_sha256, recorded_at, recorded_by, link))
        self.sources.append(item.source)
        self.touched.add(case)
        self.states.put(case, new_state)
        self.position, self.prev, self.last_recorded_at = position, link, recorded_at
        return recorded

    def finish(self, share: projections.Share | None = None) -> Head:
        """Refresh the touched cases' projections (all of them, when the log began empty).

        ``share``: part of the cases computed by another process from a copy of what was
        appended (``share.events``, a file with an ``events`` table of position, event id, case,
        type, schema version and payload); used if the log began empty and the copy ends with it.
        """
        self.flush()
        self.states = rules.StateCache(self.states.load)  # free the states before the SQL needs memory
        usable = None
        if self.empty and share is not None:
            usable = projections.Share(share.split, share.events, lambda: self._copied_rows(share))
        projections.refresh(self.conn, self.head, None if self.empty else self.touched, share=usable)
        return self.head

    def _copied_rows(self, share: projections.Share) -> tuple[str, figures.Tally] | None:
        """The share's rows, if the copy they were computed from ends where the log does."""
        found = share.rows()
        return found if found is not None and self._copied(share.events) else None

    def _copied(self, path: str) -> bool:
        """Whether the copy ends where the log does, with the same event: a cheap guard against
        using rows computed from anything else."""
        try:
            with contextlib.closing(read_only(path)) as copy:
                last = copy.execute("SELECT position, event_id FROM events ORDER BY position DESC LIMIT 1").fetchone()
        except sqlite3.Error:  # the helper could not write it
            return False
        mine = self.conn.execute("SELECT position, event_id FROM events ORDER BY position DESC LIMIT 1").fetchone()
        return last == mine


@contextlib.contextmanager
def _written_once(conn: sqlite3.Connection, bulk: bool) -> Iterator[None]:
    """An import into an empty log writes its pages straight into the database file, once.

    In WAL mode every page goes to the write-ahead log first and is copied into the file by the
    checkpoint after the commit: about a second of a million-event import.  With a rollback
    journal instead, a crash still leaves the log as it was (empty); other connections wait for
    the import rather than read an empty log.  SQLite leaves WAL mode only when no other
    connection has the log open, so an import that finds one open keeps to WAL.  The log returns
    to WAL afterwards, or when it is next opened (see ``_prepare``) if that is not possible then.
    """
    if not bulk or head(conn).position or not _journal_mode(conn, "delete", wait_ms=0):
        yield
        return
    try:
        yield
    finally:
        _journal_mode(conn, "wal", wait_ms=1000)


def _journal_mode(conn: sqlite3.Connection, mode: str, wait_ms: int) -> bool:
    """Switch the log to journal ``mode``, waiting at most ``wait_ms`` for other connections to let
    go of it; whether it is in that mode now."""
    conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
    try:
        return conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode
    except sqlite3.OperationalError:  # "database is locked": another connection holds it
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _from(source: str | None, error: CaselogError) -> CaselogError:
    """The error, naming where its item came from ("line 12: ...") if known."""
    return error if source is None else type(error)(f"{source}: {error}")


def append(conn: sqlite3.Connection, items: Iterable[Proposed], today: dt.date | None = None) -> list[ev.Recorded]:
    """Append events atomically and return them as logged; the first refused one rolls everything back."""
    done: list[ev.Recorded] = []
    _append(conn, items, today, done.append)
    return done


def import_events(conn: sqlite3.Connection, items: Iterable[Proposed], today: dt.date | None = None,
                  share: Callable[[], projections.Share | None] = lambda: None) -> int:
    """Append a batch all or nothing, keeping nothing of it in memory; returns how many were logged.

    ``share``, asked once every item is taken, may offer part of the refresh computed by the
    process that read the items (see ``Writer.finish``).
    """
    return _append(conn, items, today, None, bulk=True, share=share)


def _append(conn: sqlite3.Connection, items: Iterable[Proposed], today: dt.date | None,
            keep: Callable[[ev.Recorded], None] | None, bulk: bool = False,
            share: Callable[[], projections.Share | None] = lambda: None) -> int:
    count = 0
    collecting = gc.isenabled()
    gc.disable()  # appends make no reference cycles; full collections over millions of states only cost time
    try:
        with _written_once(conn, bulk), Transaction(conn):
            if bulk:
                # The trigger keeps other connections from replacing logged rows; it cost a bulk import
                # 40% of its inserts.  This transaction holds the write lock and inserts plainly (the
                # unique keys still refuse a collision), so it sets the trigger aside and puts it back
                # before COMMIT: no other connection, and no crash, ever sees the log without it.
                conn.execute("DROP TRIGGER IF EXISTS events_no_replace")
            writer = Writer(conn, today)
            for item in items:
                recorded = writer.append(item)
                count += 1
                if keep is not None:
                    keep(recorded)
            writer.finish(share())
            if bulk:
                conn.execute(_NO_REPLACE)
    finally:
        if collecting:
            gc.enable()
    return count


ENVELOPE = ("event_id", "recorded_at", "recorded_by", "version", "position", "schema_version", "payload_sha256", "hash")


def proposed_from_json(obj: object, clerk: str, source: str | None = None) -> Proposed:
    """An interchange-format object (DOMAIN.md) as a Proposed event."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}")
    data = dict(obj)
    type_ = data.pop("type", None)
    case = data.pop("case", None)
    if type_ is None or case is None:
        raise InputError("every event needs a type and a case")
    envelope = {k: data.pop(k) for k in ENVELOPE if k in data}
    try:
        case = ev.case_number(case)
        schema_version = envelope.get("schema_version", ev.SCHEMA_VERSION)
        if not isinstance(schema_version, int) or not 1 <= schema_version <= ev.SCHEMA_VERSION:
            raise ValueError(f"unknown schema_version {schema_version!r}")
        event = ev.make(type_, data if schema_version == ev.SCHEMA_VERSION else ev.upcast(type_, schema_version, data))
        for key in ("version", "position"):
            if key in envelope and (not isinstance(envelope[key], int) or isinstance(envelope[key], bool)):
                raise ValueError(f"{key} must be a whole number")
        return Proposed(
            event, case,
            recorded_by=envelope.get("recorded_by", clerk),  # checked by the writer, like every clerk name
            event_id=_field("event_id", ev.event_id, envelope),
            recorded_at=_field("recorded_at", timestamp, envelope),
            version=envelope.get("version"),
            position=envelope.get("position"),
            schema_version=schema_version,
            stored=_stored(data if schema_version != ev.SCHEMA_VERSION else ev.payload(event)),
            hash=_field("hash", _hex_digest, envelope),
            source=source,
        )
    except (ValueError, TypeError) as error:
        raise InputError(str(error)) from None


def _stored(payload: dict) -> tuple[str, str]:
    text = canonical(payload)
    return text, sha256(text)


def _hex_digest(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError("expected 64 lowercase hexadecimal digits (a SHA-256)")
    return value


def _field(name: str, convert: Callable[[object], str], envelope: dict) -> str | None:
    if name not in envelope:
        return None
    try:
        return convert(envelope[name])
    except (InputError, ValueError, TypeError) as error:
        raise InputError(f"{name}: {error}") from None


class _DuplicateKey(Exception):
    """A JSON object gives one key twice."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    # json.loads keeps a repeated key's last value: a line saying held_on twice would be logged
    # with whichever came last, silently.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return obj


# Made once: json.loads with a hook makes a decoder on every call.  The hook costs 0.25 µs a line of
# a national synthetic log (2.05 against 1.8 µs to parse it; reading and checking it takes 10 µs).
_decode = json.JSONDecoder(object_pairs_hook=_unique_keys).decode


def read_jsonl(lines: Iterable[bytes], clerk: str) -> Iterator[Proposed]:
    """Parse JSON Lines into Proposed events that know their line; blank lines are skipped."""
    for number, raw in enumerate(lines, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"line {number}: not valid UTF-8") from None
        if number == 1:
            text = text.lstrip("\ufeff")
        if not text.strip():
            continue
        try:
            obj = _decode(text)
        except _DuplicateKey as error:
            raise InputError(f"line {number}: the key {ev.shown(error.args[0])} is given twice: give each key once") from None
        except json.JSONDecodeError as error:
            raise InputError(f"line {number}: not valid JSON ({error.msg} at column {error.colno})") from None
        except (ValueError, RecursionError) as error:  # absurd nesting, or an integer of thousands of digits
            raise InputError(f"line {number}: not JSON caselog can read ({type(error).__name__})") from None
        try:
            yield proposed_from_json(obj, clerk, f"line {number}")
        except CaselogError as error:
            raise type(error)(f"line {number}: {error}") from None


def export_row(row: tuple) -> dict:
    """A stored row in the interchange format: the payload's fields flat, with the whole envelope."""
    data = dict(zip(COLUMNS, row))
    out = {"type": data["type"], "case": data["case"], **json.loads(data["payload"])}
    for key in ENVELOPE:
        out[key] = data[key]
    return out


def export(conn: sqlite3.Connection) -> Iterator[dict]:
    for row in conn.execute(_SELECT + " ORDER BY position"):
        yield export_row(row)




class _Broken(Exception):
    """The first link of a stretch of the chain that does not hold."""

    def __init__(self, position: int, message: str):
        super().__init__(message)
        self.position = position


def verify_chain(conn: sqlite3.Connection, anchor: tuple[int, str] | None = None,
                 progress: Callable[[int], None] | None = None) -> Head:
    """Recompute the whole chain; raise TamperError naming the first position that does not match.

    Each link names the hash before it, so a long log is checked in two halves
    at once, the second in another process starting from the stored hash where
    the first half ends; the first half then checks that very hash.
    """
    last = head(conn)
    end = last.position
    split = end // 2 if cores.worth_it(end) else end
    with contextlib.ExitStack() as stack:
        second = None
        if split < end:
            path = file_of(conn)
            row = conn.execute("SELECT hash FROM events WHERE position = ?", (split,)).fetchone()
            pool = stack.enter_context(cores.second_process())
            second = pool.submit(_verify_stretch, path, split + 1, end, row[0] if row else GENESIS, anchor)
        broken = []
        try:
            _walk(conn, 1, split, GENESIS, anchor, progress)
        except _Broken as error:
            broken.append(error)
        if second is not None:
            found = second.result()
            if found is not None:
                broken.append(_Broken(*found))
    if broken:
        raise TamperError(str(min(broken, key=lambda error: error.position)))
    if anchor is not None and anchor[0] > end:
        raise TamperError(f"position {anchor[0]}: the anchored event is missing: the log was truncated to {end} events")
    return last


def _verify_stretch(path: str, start: int, end: int, prev: str, anchor: tuple[int, str] | None) -> tuple[int, str] | None:
    """Check positions ``start``..``end`` in a process of its own: None, or (position, what is wrong)."""
    conn = read_only(path)
    try:
        with reading(conn):
            _walk(conn, start, end, prev, anchor, None)
    except _Broken as error:
        return error.position, str(error)
    finally:
        conn.close()
    return None


def _walk(conn: sqlite3.Connection, start: int, end: int, prev: str, anchor: tuple[int, str] | None,
          progress: Callable[[int], None] | None) -> None:
    expected = start
    rows = conn.execute(_SELECT + " WHERE position BETWEEN ? AND ? ORDER BY position", (start, end))
    for position, event_id, case, version, type_, schema_version, payload, payload_sha256, recorded_at, recorded_by, link in rows:
        if position != expected:
            raise _Broken(expected, f"position {expected}: missing from the log (the next row is {position}): rows were deleted")
        if sha256(payload) != payload_sha256:
            raise _Broken(position, f"position {position}: the payload does not match its hash: it was altered")
        if _link(position, event_id, case, version, type_, schema_version, payload_sha256, recorded_at,
                 recorded_by, prev) != link:
            raise _Broken(position, f"position {position}: the hash does not match the chain: this row or the one before was altered, inserted or moved")
        if anchor is not None and position == anchor[0] and link != anchor[1]:
            raise _Broken(position, f"position {position}: the hash differs from the anchor: the history up to the anchor was rewritten")
        prev = link
        expected += 1
        if progress is not None and position % 50_000 == 0:
            progress(position)
    if expected <= end:
        raise _Broken(expected, f"position {expected}: missing from the log: rows were deleted")


def as_of_position(conn: sqlite3.Connection, moment: str) -> int:
    """The last position recorded at or before ``moment``.

    recorded_at never decreases along position, so the as-of view is a prefix
    of the log and a binary search over the primary key finds its end.
    """
    low, high = 0, head(conn).position
    while low < high:
        middle = (low + high + 1) // 2
        (recorded_at,) = conn.execute("SELECT recorded_at FROM events WHERE position = ?", (middle,)).fetchone()
        if recorded_at <= moment:
            low = middle
        else:
            high = middle - 1
    return low
