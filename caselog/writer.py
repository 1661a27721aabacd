"""The writer: the only code that inserts into ``events``.

Every append runs in one ``BEGIN IMMEDIATE`` transaction that checks the rules,
extends the hash chain and refreshes the projections of the cases it touched,
so readers never see one without the others.  SQLite itself refuses UPDATE and
DELETE on ``events`` (triggers made by ``caselog.database``).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import sqlite3
from typing import Callable, Iterable

import attrs

from caselog import agencies, chain, database, projections, rules, signing
from caselog import events as ev
from caselog.errors import CaselogError, ConflictError, InputError, RuleViolation, TamperError

_INSERT = "INSERT INTO events VALUES (" + ", ".join("?" * len(chain.COLUMNS)) + ")"
_INSERT_SALTS = f"INSERT INTO {chain.SALTS} VALUES (?, ?)"
_BATCH = 2_000  # rows a Writer inserts at once


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
    # The payload as it will be stored (canonical JSON, under schema_version), its hash and its salts
    # (None under schema version 1, and under 3 with no personal field), when the reader of an import file prepared them; otherwise the
    # writer spells them from the event.
    stored: tuple[str, str, bytes | str | None] | None = None
    hash: str | None = None
    source: str | None = None  # where it came from, for messages: "line 12"


# The events that name another of their case, and what they do to it.
_TARGETING = {"event_corrected": "correct", "event_retracted": "retract", ev.PayloadRedacted.TYPE: "redact"}


def stored(event: ev.Event, schema_version: int = ev.SCHEMA_VERSION) -> tuple[str, str, bytes | str | None]:
    """``Proposed.stored`` for ``event``: new salts for its personal fields under schema version 3, for
    every field under 2, none under 1."""
    if schema_version >= 3:
        return chain.personal_salted(event.TYPE, ev.payload(event))
    if schema_version == 2:
        return chain.committed(ev.payload(event))
    return (*chain.stored(ev.payload(event)), None)


def record(row: tuple) -> ev.Recorded:
    """A logged row (``chain.COLUMNS``) as the event it records, trusted: the writer checked it."""
    position, event_id, case, version, type_, schema_version, payload, _, recorded_at, recorded_by, _ = row
    data = ev.upcast(type_, schema_version, json.loads(payload))
    return ev.Recorded(ev.trusted(type_, data), case, event_id, recorded_at, recorded_by, version, position)


def history(conn: sqlite3.Connection, case: str) -> list[ev.Recorded]:
    """A case's logged events in log order."""
    return [record(r) for r in conn.execute(chain.SELECT + ' WHERE "case" = ? ORDER BY position', (case,))]


def state_of(conn: sqlite3.Connection, case: str) -> rules.CaseState:
    return rules.fold(case, history(conn, case))


def registry_of(conn: sqlite3.Connection) -> agencies.Registry:
    """The agency registry as the log holds it now."""
    return agencies.fold(rec.event for rec in history(conn, ev.REGISTRY))


def find(conn: sqlite3.Connection, event_id: str) -> ev.Recorded | None:
    row = conn.execute(chain.SELECT + " WHERE event_id = ?", (event_id,)).fetchone()
    return record(row) if row else None


# How the projections of a log that began empty are refreshed once every event is in: every case,
# here (projections.refresh) or split with another process (caselog.parallel).
RefreshAll = Callable[[sqlite3.Connection, chain.Head], None]


def refresh_here(conn: sqlite3.Connection, head: chain.Head) -> None:
    projections.refresh(conn, head)


class Writer:
    """Appends within one transaction: rules, chain, projections, all or nothing."""

    def __init__(self, conn: sqlite3.Connection, today: dt.date | None = None):
        self.conn = conn
        self.today = today or dt.date.today()  # once: an import that runs past midnight keeps its day
        start = chain.head(conn)
        # The head as it moves, in plain attributes: a Head made for every event cost a bulk import time.
        self.position, self.prev, self.last_recorded_at = start.position, start.hash, start.recorded_at
        self.started = chain.now()
        self.states = rules.StateCache(self._load)
        self.empty = start.position == 0
        self.touched: set[str] = set()
        # Rows appended but not yet inserted, with where each came from: inserted a batch at a time,
        # since one executemany costs less than an execute a row.  Anything that reads the log's
        # events inserts them first.
        self.pending: list[tuple] = []
        self.salts: list[tuple[int, bytes | str]] = []
        self.sources: list[str | None] = []
        self.refused: CaselogError | None = None
        self.registry = agencies.Registry() if self.empty else registry_of(conn)
        # Whether the registry resolved a name, so that an event is stored otherwise than its source
        # spelled it: a helper that copied the import file's events then copied something else.
        self.rewritten = False

    @property
    def head(self) -> chain.Head:
        return chain.Head(self.position, self.prev, self.last_recorded_at)

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
        rows, sources, salts = self.pending, self.sources, self.salts
        self.pending, self.sources, self.salts = [], [], []
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
        self.conn.executemany(_INSERT_SALTS, salts)

    def _append(self, item: Proposed) -> ev.Recorded:
        conn = self.conn
        case = item.case
        event = item.event
        in_registry = case == ev.REGISTRY
        if in_registry != (event.TYPE in ev.REGISTRY_TYPES):
            raise InputError(f"{event.TYPE} cannot be logged in the stream {case}: the registry's events go to "
                             f"{ev.REGISTRY}, and only they")
        state = None if in_registry else self.states.take(case, self.position + 1)
        version = self.registry.version if state is None else state.version
        if item.expect_version is not None and item.expect_version != version:
            raise ConflictError(
                f"case {case} is at version {version}, not {item.expect_version}: another clerk wrote "
                f"first; check `caselog show {case}` and retry with --expect-version {version}"
            )
        if item.version is not None and item.version != version + 1:
            raise ConflictError(f"version {item.version} given, but this event would be version {version + 1} of case {case}")
        if state is not None:
            event = agencies.admit(self.registry, event, state.defendants)
        if event.TYPE in _TARGETING:
            self.flush()
            target = find(conn, event.target)
            if target is None:
                raise RuleViolation(f"unknown event {event.target}: nothing to {_TARGETING[event.TYPE]}")
            if target.case != case:
                raise RuleViolation(f"event {event.target} is of case {target.case}, not {case}")
        position = self.position + 1
        if item.position is not None and item.position != position:
            raise InputError(f"position {item.position} given, but the log's next position is {position}")
        recorded_at = item.recorded_at or chain.now()
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
        recorded = ev.Recorded(event, case, event_id, recorded_at, recorded_by, version + 1, position)
        if state is None:
            self.registry = agencies.decide(self.registry, event)
        else:
            new_state = rules.decide(state, recorded, lambda: self._history(case), self.today)
        schema_version = item.schema_version
        if event is not item.event:  # the registry named an agency by its own name: a new payload
            self.rewritten = True
            schema_version = ev.SCHEMA_VERSION
            payload, payload_sha256, salts = stored(event, schema_version)
        else:
            payload, payload_sha256, salts = item.stored or stored(event, schema_version)
        link = chain.link(position, event_id, case, recorded.version, event.TYPE, schema_version,
                          payload_sha256, recorded_at, recorded_by, self.prev)
        if item.hash is not None and item.hash != link:
            raise TamperError(f"hash {item.hash[:12]}… does not match the event: the file was altered, or it does not continue this log")
        self.pending.append((position, event_id, case, recorded.version, event.TYPE, schema_version, payload,
                             payload_sha256, recorded_at, recorded_by, link))
        if salts is not None:
            self.salts.append((position, salts))
        self.sources.append(item.source)
        self.touched.add(case)
        if state is not None:
            self.states.put(case, new_state)
        self.position, self.prev, self.last_recorded_at = position, link, recorded_at
        return recorded

    def finish(self, refresh_all: RefreshAll = refresh_here) -> chain.Head:
        """Refresh the touched cases' projections; every case, by ``refresh_all``, when the log began empty."""
        self.flush()
        self.states = rules.StateCache(self.states.load)  # free the states before the SQL needs memory
        if self.empty:
            (refresh_here if self.rewritten else refresh_all)(self.conn, self.head)
        else:
            projections.refresh(self.conn, self.head, self.touched)
        return self.head


def _from(source: str | None, error: CaselogError) -> CaselogError:
    """The error, naming where its item came from ("line 12: ...") if known."""
    return error if source is None else type(error)(f"{source}: {error}")


def append(conn: sqlite3.Connection, items: Iterable[Proposed], today: dt.date | None = None,
           seal: signing.Seal | None = None) -> list[ev.Recorded]:
    """Append events atomically and return them as logged; the first refused one rolls everything back.

    ``seal`` signs the new head in the same transaction (``signing.seal``); a log with keys refuses
    a write without one.
    """
    done: list[ev.Recorded] = []
    _append(conn, items, today, done.append, seal=seal)
    return done


def import_events(conn: sqlite3.Connection, items: Iterable[Proposed], today: dt.date | None = None,
                  refresh_all: RefreshAll = refresh_here, seal: signing.Seal | None = None) -> int:
    """Append a batch all or nothing, keeping nothing of it in memory; returns how many were logged.

    ``refresh_all`` refreshes the projections if the log began empty (see ``Writer.finish``);
    ``seal`` is as for ``append``.
    """
    return _append(conn, items, today, None, bulk=True, refresh_all=refresh_all, seal=seal)


def append_within(conn: sqlite3.Connection, items: Iterable[Proposed]) -> list[ev.Recorded]:
    """``append`` inside the caller's write transaction, which signs it (as ``caselog.redaction`` does)."""
    done: list[ev.Recorded] = []
    _write(conn, items, None, done.append, refresh_here)
    return done


def _write(conn: sqlite3.Connection, items: Iterable[Proposed], today: dt.date | None,
           keep: Callable[[ev.Recorded], None] | None, refresh_all: RefreshAll) -> int:
    count = 0
    writer = Writer(conn, today)
    for item in items:
        recorded = writer.append(item)
        count += 1
        if keep is not None:
            keep(recorded)
    writer.finish(refresh_all)
    return count


def _append(conn: sqlite3.Connection, items: Iterable[Proposed], today: dt.date | None,
            keep: Callable[[ev.Recorded], None] | None, bulk: bool = False,
            refresh_all: RefreshAll = refresh_here, seal: signing.Seal | None = None) -> int:
    collecting = gc.isenabled()
    gc.disable()  # appends make no reference cycles; full collections over millions of states only cost time
    try:
        with database.written_once(conn, bulk and chain.head(conn).position == 0), database.Transaction(conn):
            signing.required(conn, seal is not None)
            if bulk:
                # The trigger keeps other connections from replacing logged rows; it cost a bulk import
                # 40% of its inserts.  This transaction holds the write lock and inserts plainly (the
                # unique keys still refuse a collision), so it sets the trigger aside and puts it back
                # before COMMIT: no other connection, and no crash, ever sees the log without it.
                conn.execute("DROP TRIGGER IF EXISTS events_no_replace")
            count = _write(conn, items, today, keep, refresh_all)
            if bulk:
                conn.execute(database.NO_REPLACE)
            if seal is not None:
                seal(conn)
    finally:
        if collecting:
            gc.enable()
    return count
