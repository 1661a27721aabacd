"""Reading an import file: in this process, or for a big file in a second one.

Parsing and checking lines is a third of a bulk import's work and needs
nothing from the log, so a big file is read by a helper process on the other
core while this one applies the rules, the chain and the inserts.  The helper
runs the very same ``store.read_jsonl``; it sends each event's checked fields
and its payload as it will be stored (canonical JSON and its hash), which this
process takes as they are, and the first refused line's error,
which is raised here when the import reaches that line.  Nothing is written
until the whole file has been read, so the outcome is the same either way.

The helper also keeps a copy of the events as they will be logged into an
empty log (position, id, case, type, payload) in a scratch file: the
projections of an import into an empty log are then computed on both cores,
the second process reading that copy, since the log's own new rows are not
committed yet and no other connection can see them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sqlite3
import tempfile
from multiprocessing.connection import Connection
from typing import BinaryIO, Callable, Iterable, Iterator

from caselog import errors, projections, store
from caselog import events as ev

APART_FROM = 16 * 1024 * 1024  # bytes: below this, starting a helper costs more than it saves
_BATCH = 2_000  # events per message from the helper
_ENVELOPE = ("case", "recorded_by", "event_id", "recorded_at", "version", "position", "schema_version",
             "stored", "hash", "source")


class Reading:
    """The file's events as Proposed, in order; ``events_copy`` names the helper's copy of them
    once it is complete (a file read in this process has none)."""

    def __init__(self, items: Iterable[store.Proposed] = ()):
        self.items = iter(items)
        self.events_copy = ""

    def __iter__(self) -> Iterator[store.Proposed]:
        return self.items


@contextlib.contextmanager
def proposals(file: BinaryIO, clerk: str, progress: Callable[[int], None] | None = None,
              copy_events: bool = False) -> Iterator[Reading]:
    """The file's events; ``progress`` gets the bytes read so far.  ``copy_events``: the log is
    empty, so a helper reading the file also writes the copy of its events for the refresh."""
    size = _regular_size(file)
    if size is None or size < APART_FROM:
        yield Reading(_counted(file, clerk, progress))
        return
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    with tempfile.TemporaryDirectory(prefix="caselog-") as folder:
        copy = os.path.join(folder, "events.db") if copy_events else ""
        helper = context.Process(target=_read_apart, args=(file.name, clerk, sending, copy), daemon=True)
        helper.start()
        sending.close()  # the helper's end: once it is gone, a read here ends instead of waiting
        reading = Reading()
        reading.items = _received(receiving, progress, reading, copy)
        try:
            yield reading
        finally:
            receiving.close()  # a helper still sending gets a broken pipe and stops
            helper.join(timeout=5)
            if helper.is_alive():
                helper.terminate()


def _regular_size(file: BinaryIO) -> int | None:
    """The size of a file the helper can open by its name; None for stdin, a pipe or a stream."""
    try:
        stat = os.fstat(file.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    name = getattr(file, "name", None)
    return stat.st_size if isinstance(name, str) and os.path.isfile(name) else None


def _counted(file: BinaryIO, clerk: str, progress: Callable[[int], None] | None) -> Iterator[store.Proposed]:
    for n, item in enumerate(store.read_jsonl(file, clerk), 1):
        if progress is not None and n % 10_000 == 0:
            progress(file.tell())
        yield item


def _read_apart(path: str, clerk: str, sending: Connection, copy: str) -> None:
    """The helper: read and check every line, sending batches of checked fields, then None once
    the copy of the events (if ``copy`` names a file) is complete."""
    batch: list[tuple] = []
    events = _EventsCopy(copy)
    try:
        with open(path, "rb") as file:
            try:
                for item in store.read_jsonl(file, clerk):
                    # An id is given here rather than by the writer, so that the copy holds the same one.
                    event_id = item.event_id or ev.new_event_id()
                    batch.append((item.event.TYPE, ev.payload(item.event),
                                  *(event_id if k == "event_id" else getattr(item, k) for k in _ENVELOPE)))
                    if len(batch) == _BATCH:
                        events.add(batch)
                        sending.send((file.tell(), batch))
                        batch = []
            except errors.CaselogError as error:
                sending.send((file.tell(), batch))
                sending.send((type(error).__name__, str(error)))
                return
            events.add(batch)
            sending.send((file.tell(), batch))
            events.finish()
            sending.send(None)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the import stopped, refused or killed: nobody is listening
    except OSError as error:
        with contextlib.suppress(OSError):
            sending.send(("InputError", f"cannot read {path}: {error.strerror}"))


class _EventsCopy:
    """What the projections read of the events, as an import into an empty log will log them.

    Only a help: if it cannot be written (a full disk), copying stops, the import goes on, and
    ``Writer.finish`` finds that the copy does not end where the log does.
    """

    _EVENT_ID, _CASE, _SCHEMA_VERSION, _STORED = (2 + _ENVELOPE.index(k) for k in
                                                   ("event_id", "case", "schema_version", "stored"))

    def __init__(self, path: str):
        self.position = 0
        self.conn: sqlite3.Connection | None = None
        if path:
            with contextlib.suppress(sqlite3.Error):
                self.conn = sqlite3.connect(path, isolation_level=None)
        self._write(
            "PRAGMA journal_mode = OFF",  # scratch: nothing to recover after a crash
            "PRAGMA synchronous = OFF",
            'CREATE TABLE events (position INTEGER PRIMARY KEY, event_id TEXT, "case" TEXT, type TEXT, '
            "schema_version INTEGER, payload TEXT)",
            "BEGIN",
        )

    def add(self, batch: list[tuple]) -> None:
        first, self.position = self.position + 1, self.position + len(batch)
        rows = [(position, row[self._EVENT_ID], row[self._CASE], row[0], row[self._SCHEMA_VERSION], row[self._STORED][0])
                for position, row in enumerate(batch, first)]
        self._write(("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows))

    def finish(self) -> None:
        # The projections' SQL looks events up by case and by id, and reads the corrections first.
        self._write('CREATE INDEX events_case ON events ("case")', "CREATE INDEX events_event_id ON events (event_id)",
                    f"CREATE INDEX events_corrections ON events (position) WHERE {projections.CORRECTIONS}", "COMMIT")
        if self.conn is not None:
            self.conn.close()

    def _write(self, *statements: str | tuple[str, list]) -> None:
        if self.conn is None:
            return
        try:
            for statement in statements:
                if isinstance(statement, tuple):
                    self.conn.executemany(*statement)
                else:
                    self.conn.execute(statement)
        except sqlite3.Error:
            self.conn.close()
            self.conn = None


def _received(receiving: Connection, progress: Callable[[int], None] | None, reading: Reading,
              copy: str) -> Iterator[store.Proposed]:
    while True:
        try:
            message = receiving.recv()
        except EOFError:
            raise errors.InputError("the process reading the file stopped unexpectedly; nothing was imported") from None
        if message is None:
            reading.events_copy = copy
            return
        first, rest = message
        if isinstance(first, str):  # a refused line
            raise getattr(errors, first)(rest)
        for type_, payload, *envelope in rest:
            fields = dict(zip(_ENVELOPE, envelope))
            yield store.Proposed(ev.trusted(type_, payload), **fields)
        if progress is not None:
            progress(first)
