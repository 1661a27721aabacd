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
empty log (position, id, case, type, payload) in a scratch file, since the
log's own new rows are not committed yet and no other connection can see them.
Once it has read the whole file, it computes the projections of a range of
the cases from that copy (``projections.Share``) while this process finishes
appending and computes the rest; then the helper's rows are copied in.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import operator
import os
import sqlite3
import tempfile
from multiprocessing.connection import Connection
from typing import BinaryIO, Callable, Iterable, Iterator

from caselog import cores, errors, figures, projections, store
from caselog import events as ev

APART_FROM = 16 * 1024 * 1024  # bytes: below this, starting a helper costs more than it saves
_BATCH = 2_000  # events per message from the helper
# What the helper sends of each line besides its type and field values: store.Proposed's fields in
# their order, less the event and the expected version (an import line has none).
_ENVELOPE = ("case", "recorded_by", "event_id", "recorded_at", "version", "position", "schema_version",
             "stored", "hash", "source")
# Where fields sit in a row sent: the event's type and field values come first.
_EVENT_ID, _CASE, _SCHEMA_VERSION, _STORED = (2 + _ENVELOPE.index(k) for k in ("event_id", "case", "schema_version", "stored"))


# The share of an import's refresh left to the importing process, which also copies the helper's
# rows in; the helper first finishes its copy of the events.
_MINE = 0.49


class Reading:
    """The file's events as Proposed, in order; once they are all taken, ``share()`` offers the
    part of the refresh the helper computed from its copy of them (a file read in this process has none)."""

    def __init__(self, items: Iterable[store.Proposed] = (), receiving: Connection | None = None, folder: str = ""):
        """``folder``: where the helper writes its copy of the events and its share of the refresh."""
        self.items = iter(items)
        self.receiving = receiving
        self.folder = folder
        self.all_read = False  # set once the helper has sent every event

    def __iter__(self) -> Iterator[store.Proposed]:
        return self.items

    def share(self) -> projections.Share | None:
        if not (self.all_read and self.folder) or self.receiving is None:
            return None
        split = self._receive()  # sent with the end of the events
        if split is None:
            return None
        return projections.Share(split, os.path.join(self.folder, _COPY), self._rows)

    def _rows(self) -> tuple[str, figures.Tally] | None:
        tally = self._receive()
        return None if tally is None else (os.path.join(self.folder, _UPPER), tally)

    def _receive(self) -> object:
        try:
            return self.receiving.recv()
        except (EOFError, OSError):  # the helper died: this process computes the refresh alone
            return None


_COPY, _UPPER = "events.db", "upper.db"  # the helper's copy of the events; its share of the refresh


@contextlib.contextmanager
def proposals(file: BinaryIO, clerk: str, progress: Callable[[int], None] | None = None,
              copy_events: bool = False) -> Iterator[Reading]:
    """The file's events; ``progress`` gets the bytes read so far.  ``copy_events``: the log is
    empty, so a helper reading the file also writes the copy of its events for the refresh."""
    size = _regular_size(file)
    if size is None or size < APART_FROM or not cores.more_than_one():
        yield Reading(_counted(file, clerk, progress))
        return
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    with tempfile.TemporaryDirectory(prefix="caselog-") as folder:
        helper = context.Process(target=_read_apart, args=(file.name, clerk, sending, folder if copy_events else ""),
                                 daemon=True)
        helper.start()
        sending.close()  # the helper's end: once it is gone, a read here ends instead of waiting
        reading = Reading(receiving=receiving, folder=folder if copy_events else "")
        reading.items = _received(receiving, progress, reading)
        try:
            yield reading
        except BaseException:
            helper.terminate()  # refused or interrupted: nothing it still computes is of use
            raise
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


def _read_apart(path: str, clerk: str, sending: Connection, folder: str) -> None:
    """The helper: read and check every line, sending batches of checked fields, then None.  If
    ``folder`` is given, also write the copy of the events there, then compute the upper range of
    the refresh from it: send the range's first case, then the tally of its rows (None for either
    if it cannot)."""
    batch: list[tuple] = []
    envelope = operator.attrgetter(*_ENVELOPE)
    events = _EventsCopy(os.path.join(folder, _COPY) if folder else "")
    try:
        with open(path, "rb") as file:
            try:
                for item in store.read_jsonl(file, clerk):
                    row = (item.event.TYPE, ev.field_values(item.event), *envelope(item))
                    if item.event_id is None:
                        # An id is given here rather than by the writer, so that the copy holds the same one.
                        row = (*row[:_EVENT_ID], ev.new_event_id(), *row[_EVENT_ID + 1:])
                    batch.append(row)
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
        if not folder:
            sending.send(None)
            return
        # The split goes with the end of the events, so that the importing process can start on its
        # range of the refresh as soon as it has appended them.
        split = events.split(_MINE)
        sending.send(None)
        sending.send(split)
        if split is not None:
            tally = None
            if events.finish():
                with contextlib.suppress(sqlite3.Error):
                    tally = projections.fill_upper(events.path, os.path.join(folder, _UPPER), split)
            sending.send(tally)
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

    def __init__(self, path: str):
        self.path = path
        self.position = 0
        self.conn: sqlite3.Connection | None = None
        if path:
            with contextlib.suppress(sqlite3.Error):
                self.conn = projections.scratch(path)
        self._write(
            'CREATE TABLE events (position INTEGER PRIMARY KEY, event_id TEXT, "case" TEXT, type TEXT, '
            "schema_version INTEGER, payload TEXT)",
            "BEGIN",
        )

    def add(self, batch: list[tuple]) -> None:
        first, self.position = self.position + 1, self.position + len(batch)
        rows = [(position, row[_EVENT_ID], row[_CASE], row[0], row[_SCHEMA_VERSION], row[_STORED][0])
                for position, row in enumerate(batch, first)]
        self._write(("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows))

    def split(self, mine: float) -> str | None:
        """Where the refresh's cases are split (``projections.split_case``), None if the copy failed."""
        # The projections' SQL looks events up by case and by id, and reads the corrections first.
        self._write('CREATE INDEX events_case ON events ("case")')
        if self.conn is None or not self.position:
            return None
        try:
            return projections.split_case(self.conn, "main", self.position, mine)
        except sqlite3.Error:
            return None

    def finish(self) -> bool:
        """Whether the copy is complete and committed."""
        self._write("CREATE INDEX events_event_id ON events (event_id)",
                    f"CREATE INDEX events_corrections ON events (position) WHERE {projections.CORRECTIONS}", "COMMIT")
        if self.conn is None:
            return False
        self.conn.close()
        return True

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


def _received(receiving: Connection, progress: Callable[[int], None] | None, reading: Reading) -> Iterator[store.Proposed]:
    while True:
        try:
            message = receiving.recv()
        except EOFError:
            raise errors.InputError("the process reading the file stopped unexpectedly; nothing was imported") from None
        if message is None:
            reading.all_read = True
            return
        first, rest = message
        if isinstance(first, str):  # a refused line
            raise getattr(errors, first)(rest)
        proposed, event = store.Proposed, ev.from_values
        for type_, values, case, recorded_by, event_id, recorded_at, version, position, schema_version, stored, \
                hash_, source in rest:
            # Positional: keywords cost a million-event import a second.
            yield proposed(event(type_, values), case, recorded_by, event_id, recorded_at, None, version, position,
                           schema_version, stored, hash_, source)
        if progress is not None:
            progress(first)
