"""The second core: the only module that knows about another process, scratch files and splits.

Long jobs run the very functions a single process would, over two parts of the
work, and merge the results:

- a chain check: ``chain.check`` over two stretches of positions; in a full
  verify, ``chain.check_masks`` beside the replay of the rules;
- a full refresh (rebuild, verify, as-of): ``projections.refresh`` over two
  ranges of cases, the upper one computed into a scratch file and absorbed;
- an import of a big file: ``interchange.read_jsonl`` runs in a helper that
  sends the checked events here in batches while this process applies the
  rules, the chain and the inserts.  Into an empty log, the helper also keeps
  a copy of the events (this transaction's rows are invisible to any other
  connection) and refreshes the upper range of cases from it.

A helper dies with this process: it is ended when the job stops, however it
stops, and it watches for its parent in case that is killed outright.  Scratch
folders left by a killed process are removed when the next job starts.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable, Iterator

import attrs

from caselog import chain, database, errors, figures, projections
from caselog import events as ev

if TYPE_CHECKING:
    from caselog import signing, writer

FROM_EVENTS = 200_000  # below this many events, starting a second process costs more than it saves
READ_APART_FROM = 16 * 1024 * 1024  # bytes of an import file: below this, reading it in a helper costs more than it saves
_BATCH = 2_000  # events a message from the reading helper


def usable_cpus() -> int:
    """The cores this process may run on: a machine's count can include cores a container or
    ``taskset`` keeps it off, where a second process would only take turns with the first."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this system (macOS, Windows)
        return os.cpu_count() or 1


def worth_it(events: int) -> bool:
    """Whether a job over ``events`` events should hand part of itself to a second process."""
    return events > 0 and events >= FROM_EVENTS and usable_cpus() > 1


# --- helpers and their scratch files ---------------------------------------------------------

_PREFIX = "caselog-"


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    """A new folder for scratch files, named after this process; those of dead processes go first."""
    root = Path(tempfile.gettempdir())
    sweep()
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=root))
    except OSError as error:
        raise errors.CaselogError(f"cannot make a scratch folder in {root} (TMPDIR): {error.strerror}") from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep() -> None:
    """Remove the scratch folders of caselog processes that are gone (killed before they could)."""
    with contextlib.suppress(OSError):
        for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
            pid = folder.name[len(_PREFIX):].partition("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def full_scratch(error: sqlite3.Error) -> errors.CaselogError | None:
    """A scratch file's 'disk is full' as what it is: the temporary folder is full, not the log."""
    if "full" in str(error):
        return errors.CaselogError(f"the temporary folder {tempfile.gettempdir()} (TMPDIR) is full; "
                                   "free space there or point TMPDIR elsewhere; nothing was changed")
    return None


def _die_with(parent: int) -> None:
    """In a helper: exit as soon as the process that started it is gone, whatever it is doing."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


_SPAWN = multiprocessing.get_context("spawn")


@attrs.frozen
class Done:
    """What a function run apart returned."""

    value: object


@attrs.frozen
class Failed:
    """The exception a function run apart raised."""

    error: BaseException


@contextlib.contextmanager
def _apart(function: Callable[..., object], *args: object) -> Iterator[Callable[[], object]]:
    """``function(*args)`` in a second process; yields a call that waits for its result (or raises its
    error).  The process is ended when the block is left, whether its result was wanted or not."""
    receiving, sending = _SPAWN.Pipe(duplex=False)
    process = _SPAWN.Process(target=_run_apart, args=(os.getpid(), sending, function, args), daemon=True)
    process.start()
    sending.close()

    def result() -> object:
        try:
            message = receiving.recv()
        except (EOFError, OSError):
            raise errors.CaselogError("the second process working on the log stopped unexpectedly; "
                                      "nothing was changed") from None
        if isinstance(message, Failed):
            raise message.error
        return message.value

    try:
        yield result
    finally:
        receiving.close()
        if process.is_alive():  # interrupted, or failed here: nothing it still computes is of use
            process.terminate()
        process.join()


def _run_apart(parent: int, sending: Connection, function: Callable[..., object], args: tuple) -> None:
    _die_with(parent)
    try:
        message: Done | Failed = Done(function(*args))
    except Exception as error:  # sent to the parent, which raises it
        message = Failed(error)
    with contextlib.suppress(BrokenPipeError):
        sending.send(message)


# --- a chain check in two stretches ------------------------------------------------------------


def verify_chain(conn: sqlite3.Connection, anchor: tuple[int, str] | None = None) -> chain.Head:
    """Recompute the whole chain; raise TamperError naming the first position that does not hold.

    Each link names the one before it, so a long log is checked in two stretches at once, the
    second in another process starting from the stored link where the first ends; the first then
    checks that very link.
    """
    last = chain.head(conn)
    end = last.position
    if not worth_it(end):
        return chain.verdict([chain.check(conn, chain.Stretch(1, end, chain.GENESIS, anchor))], last, anchor)
    split = end // 2
    (prev,) = conn.execute("SELECT hash FROM events WHERE position = ?", (split,)).fetchone() or (chain.GENESIS,)
    with _apart(_check_apart, database.file_of(conn), chain.Stretch(split + 1, end, prev, anchor)) as second:
        first = chain.check(conn, chain.Stretch(1, split, chain.GENESIS, anchor))
        return chain.verdict([first, second()], last, anchor)


def _check_apart(path: str, stretch: chain.Stretch) -> chain.Break | None:
    with contextlib.closing(database.read_only(path)) as conn, database.reading(conn):
        return chain.check(conn, stretch)


@contextlib.contextmanager
def masks_checked(conn: sqlite3.Connection) -> Iterator[Callable[[], chain.Break | None]]:
    """``chain.check_masks`` of the log, in a second process while the block runs if it has many events
    to check: yields a call that returns its result (at a million events it is 3 s of one core)."""
    # Only the events that name someone have a digest to check, and a log of schema version 1 has none.
    (salted,) = conn.execute(f"SELECT count(*) FROM {chain.SALTS}").fetchone()
    if not worth_it(salted):
        yield lambda: chain.check_masks(conn)
        return
    with _apart(_masks_apart, database.file_of(conn)) as result:
        yield result


def _masks_apart(path: str) -> chain.Break | None:
    with contextlib.closing(database.read_only(path)) as conn, database.reading(conn):
        return chain.check_masks(conn)


# --- a full refresh over two ranges of cases -------------------------------------------------------


def refresh_all(conn: sqlite3.Connection, head: chain.Head, log: str = "main", upto: int | None = None) -> None:
    """``projections.refresh`` of every case of the events in ``log`` (a schema name) up to ``upto``;
    for a long log the upper range of cases is recomputed by another process, reading the log's file."""
    if not worth_it(head.position):
        projections.refresh(conn, head, projections.EVERY_CASE, log, upto)
        return
    path = next(row[2] for row in conn.execute("PRAGMA database_list") if row[1] == log)
    split = middle_case(conn, log, head.position)
    with scratch_folder() as folder:
        rows = str(folder / _UPPER)
        with _apart(_recompute_apart, path, rows, split, upto) as theirs:
            mine = projections.recompute(conn, projections.CaseRange(None, split), log, upto)
            try:
                moved = theirs()
            except sqlite3.Error as error:
                raise full_scratch(error) or errors.CaselogError(f"the second process could not refresh its cases: {error}") from None
        projections.absorb(conn, rows)
    projections.settle(conn, head, figures.combined(mine, moved))


def middle_case(conn: sqlite3.Connection, log: str, events: int) -> str:
    """The case that ends the first half of ``events`` events in case order: where the other process's
    range of cases begins.  Halves: this process, which absorbs the other's rows, spends about as long
    on its half as the other spends starting and on its own (BENCHMARKS.md, ninth session)."""
    (case,) = conn.execute(f'SELECT "case" FROM {log}.events ORDER BY "case" LIMIT 1 OFFSET ?',
                           (events // 2,)).fetchone()
    return case


def _recompute_apart(path: str, rows: str, first: str, upto: int | None) -> figures.Tally:
    """In the other process: the rows of the cases from ``first`` on, of the events of the log file
    ``path`` up to ``upto``, into the new database ``rows``; returns how they move the yearly counts."""
    with contextlib.closing(database.scratch(rows)) as conn:
        conn.execute("ATTACH DATABASE ? AS log", (database.read_only_uri(path),))
        projections.create(conn)
        conn.execute("BEGIN")
        moved = projections.recompute(conn, projections.CaseRange(first, None), "log", upto)
        conn.execute("COMMIT")
        return moved


@contextlib.contextmanager
def replayed(conn: sqlite3.Connection, upto: int | None = None) -> Iterator[tuple[sqlite3.Connection, chain.Head]]:
    """The projections of the log up to position ``upto`` (all of it by default), rebuilt through
    the same refresh in a scratch database that is deleted afterwards.

    A file rather than memory: at a national scale the rows alone take hundreds of MB.  The
    scratch database reads the log's file; events up to ``upto`` never change, so what it reads
    agrees with the caller's own snapshot.
    """
    head = chain.head_at(conn, upto)
    path = database.file_of(conn)
    if not path:
        raise errors.InputError("an as-of view or a verify reads the log's file, and this log is in memory")
    with scratch_folder() as folder:
        fresh = database.scratch(str(folder / "projections.db"))
        try:
            fresh.execute("ATTACH DATABASE ? AS log", (database.read_only_uri(path),))
            projections.create(fresh)
            fresh.execute("BEGIN")
            refresh_all(fresh, head, "log", head.position)
            fresh.execute("COMMIT")
            fresh.execute("DETACH DATABASE log")
        except sqlite3.OperationalError as error:
            fresh.close()
            raise full_scratch(error) or error
        try:
            yield fresh, head
        finally:
            fresh.close()


# --- an import, read by a helper ----------------------------------------------------------


@attrs.frozen
class Batch:
    """Checked events from the reading helper, field by field (columns pickle faster than objects):
    each list holds one entry an event, in the file's order."""

    read: int  # bytes of the file read so far
    types: list[str]
    values: list[tuple]  # the event's fields in ``ev.FIELDS`` order
    envelopes: list[tuple]  # ``_ENVELOPE``, in that order


@attrs.frozen
class Refused:
    """The first line the helper refused: the error's class name in ``caselog.errors`` and its message."""

    kind: str
    message: str


@attrs.frozen
class AllRead:
    """Every line is sent; ``first`` is where the helper's range of cases begins (None: the helper
    refreshes nothing)."""

    first: str | None


@attrs.frozen
class Refreshed:
    """The helper's range of cases is recomputed into ``rows`` (None: it could not be), moving the
    yearly counts by ``moved``."""

    rows: str | None
    moved: figures.Tally = attrs.Factory(dict)


# What the helper sends of each event's envelope: Proposed's fields, less the event and the expected
# version (an import line has none).
_ENVELOPE = ("case", "recorded_by", "event_id", "recorded_at", "version", "position", "schema_version",
             "stored", "hash", "source")


@attrs.define
class Reading:
    """The events of an import file as Proposed, in order, and how to refresh every case once they
    are in (``refresh_all``, for a log that began empty)."""

    items: Iterator[writer.Proposed]
    refresh_all: writer.RefreshAll

    def __iter__(self) -> Iterator[writer.Proposed]:
        return self.items


@contextlib.contextmanager
def reading(file: BinaryIO, clerk: str, progress: Callable[[int], None] | None = None,
            empty: bool = False) -> Iterator[Reading]:
    """The file's events; ``progress`` gets the bytes read so far.  A big file is read by a helper;
    into an ``empty`` log, the helper also refreshes part of the cases."""
    # Imported here, not above: every process started for a chain check or a refresh imports this
    # module, and the import path (the writer, signatures, the interchange) took each 30 ms to import.
    from caselog import writer

    size = _regular_size(file)
    if size is None or size < READ_APART_FROM or usable_cpus() < 2:
        yield Reading(_counted(file, clerk, progress), writer.refresh_here)
        return
    receiving, sending = _SPAWN.Pipe(duplex=False)
    with scratch_folder() as folder:
        helper = _SPAWN.Process(target=_read_apart, args=(file.name, clerk, sending, str(folder) if empty else "",
                                                          os.getpid()), daemon=True)
        helper.start()
        sending.close()  # the helper's end: once it is gone, a read here ends instead of waiting
        messages = _Messages(receiving)
        try:
            yield Reading(_received(messages, progress), _HelpedRefresh(messages) if empty else writer.refresh_here)
        except BaseException:
            helper.terminate()  # refused or interrupted: nothing it still computes is of use
            raise
        finally:
            receiving.close()  # a helper still sending gets a broken pipe and stops
            helper.join(timeout=5)
            if helper.is_alive():
                helper.terminate()


class _Messages:
    """The helper's messages; None once it is gone."""

    def __init__(self, receiving: Connection):
        self.receiving = receiving
        self.first: str | None = None  # from AllRead

    def next(self) -> object:
        try:
            return self.receiving.recv()
        except (EOFError, OSError):
            return None


def _received(messages: _Messages, progress: Callable[[int], None] | None) -> Iterator[writer.Proposed]:
    from caselog import writer

    proposed, event = writer.Proposed, ev.unchecked
    while True:
        message = messages.next()
        if message is None:
            raise errors.InputError("the process reading the file stopped unexpectedly; nothing was imported")
        if isinstance(message, AllRead):
            messages.first = message.first
            return
        if isinstance(message, Refused):
            raise getattr(errors, message.kind)(message.message)
        for type_, values, (case, recorded_by, event_id, recorded_at, version, position, schema_version, stored,
                            hash_, source) in zip(message.types, message.values, message.envelopes):
            # Positional: keywords cost a million-event import a second.
            yield proposed(event(type_, values), case, recorded_by, event_id, recorded_at, None, version, position,
                           schema_version, stored, hash_, source)
        if progress is not None:
            progress(message.read)


class _HelpedRefresh:
    """The full refresh of an import into an empty log: the lower range of cases here, the upper one
    taken from the helper if it refreshed it from a copy that ends where the log does."""

    def __init__(self, messages: _Messages):
        self.messages = messages

    def __call__(self, conn: sqlite3.Connection, head: chain.Head) -> None:
        first = self.messages.first
        if first is None:
            projections.refresh(conn, head)
            return
        mine = projections.recompute(conn, projections.CaseRange(None, first))
        done = self.messages.next()
        if isinstance(done, Refreshed) and done.rows is not None and _copy_ends_with_log(conn, done.rows):
            projections.absorb(conn, done.rows)
            theirs = done.moved
        else:  # the helper could not: this process recomputes the rest too
            theirs = projections.recompute(conn, projections.CaseRange(first, None))
        projections.settle(conn, head, figures.combined(mine, theirs))


def _copy_ends_with_log(conn: sqlite3.Connection, rows: str) -> bool:
    """Whether the helper's copy of the events ends where the log does, with the same event: a
    cheap guard against absorbing rows computed from anything else."""
    last = "SELECT position, event_id FROM events ORDER BY position DESC LIMIT 1"
    try:
        with contextlib.closing(database.read_only(Path(rows).with_name(_COPY))) as copy:
            theirs = copy.execute(last).fetchone()
    except sqlite3.Error:
        return False
    return theirs == conn.execute(last).fetchone()


def _regular_size(file: BinaryIO) -> int | None:
    """The size of a file the helper can open by its name; None for stdin, a pipe or a stream."""
    try:
        stat = os.fstat(file.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    name = getattr(file, "name", None)
    return stat.st_size if isinstance(name, str) and os.path.isfile(name) else None


def _counted(file: BinaryIO, clerk: str, progress: Callable[[int], None] | None) -> Iterator[writer.Proposed]:
    from caselog import interchange

    for n, item in enumerate(interchange.read_jsonl(file, clerk), 1):
        if progress is not None and n % 10_000 == 0:
            progress(file.tell())
        yield item


_COPY, _UPPER = "events.db", "upper.db"  # the helper's copy of the events; its range's projections


def _read_apart(path: str, clerk: str, sending: Connection, folder: str, parent: int) -> None:
    """The helper: read and check every line, sending Batches, then AllRead (or Refused).  With a
    ``folder``, also copy the events there as they will be logged into an empty log, then refresh
    the upper range of cases from the copy and send Refreshed."""
    from caselog import interchange

    _die_with(parent)
    copy = _EventsCopy(os.path.join(folder, _COPY) if folder else "")
    try:
        with open(path, "rb") as file:
            batch = _Collecting()
            try:
                for item in interchange.read_jsonl(file, clerk):
                    batch.add(item)
                    if len(batch.types) == _BATCH:
                        copy.add(batch)
                        sending.send(batch.sent(file.tell()))
                        batch = _Collecting()
            except errors.CaselogError as error:
                sending.send(batch.sent(file.tell()))
                sending.send(Refused(type(error).__name__, str(error)))
                return
            copy.add(batch)
            sending.send(batch.sent(file.tell()))
        first = copy.split() if folder else None
        sending.send(AllRead(first))
        if first is not None:
            done = Refreshed(None)
            if copy.finish():
                with contextlib.suppress(sqlite3.Error):
                    rows = os.path.join(folder, _UPPER)
                    done = Refreshed(rows, _recompute_apart(copy.path, rows, first, copy.position))
            sending.send(done)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the import stopped, refused or killed: nobody is listening
    except OSError as error:
        with contextlib.suppress(OSError):
            sending.send(Refused("InputError", f"cannot read {path}: {error.strerror}"))


class _Collecting:
    """A Batch being filled."""

    def __init__(self) -> None:
        self.types: list[str] = []
        self.values: list[tuple] = []
        self.envelopes: list[tuple] = []

    def add(self, item: writer.Proposed) -> None:
        # An id is given here rather than by the writer, so that the copy of the events holds the same one.
        event_id = item.event_id or ev.new_event_id()
        self.types.append(item.event.TYPE)
        self.values.append(ev.field_values(item.event))
        self.envelopes.append((item.case, item.recorded_by, event_id, item.recorded_at, item.version, item.position,
                               item.schema_version, item.stored, item.hash, item.source))

    def sent(self, read: int) -> Batch:
        return Batch(read, self.types, self.values, self.envelopes)


class _EventsCopy:
    """What the projections read of the events, as an import into an empty log will log them.

    Only a help: if it cannot be written (a full disk), copying stops, the import goes on, and the
    importing process refreshes every case itself.
    """

    def __init__(self, path: str):
        self.path = path
        self.position = 0
        self.conn: sqlite3.Connection | None = None
        if path:
            with contextlib.suppress(sqlite3.Error):
                self.conn = database.scratch(path)
        self._write(
            'CREATE TABLE events (position INTEGER PRIMARY KEY, event_id TEXT, "case" TEXT, type TEXT, '
            "schema_version INTEGER, payload TEXT)",
            "BEGIN",
        )

    def add(self, batch: _Collecting) -> None:
        first, self.position = self.position + 1, self.position + len(batch.types)
        rows = [(position, envelope[2], envelope[0], type_, envelope[6], envelope[7][0])
                for position, type_, envelope in zip(range(first, self.position + 1), batch.types, batch.envelopes)]
        self._write(("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows))

    def split(self) -> str | None:
        """Where the refresh's cases are split; None if the copy failed."""
        # The projections' SQL looks events up by case and by id, and reads the corrections first.
        self._write('CREATE INDEX events_case ON events ("case")')
        if self.conn is None or not self.position:
            return None
        try:
            return middle_case(self.conn, "main", self.position)
        except sqlite3.Error:
            return None

    def finish(self) -> bool:
        """Whether the copy is complete and committed."""
        self._write("CREATE INDEX events_event_id ON events (event_id)",
                    f"CREATE INDEX events_corrections ON events (position) WHERE {database.CORRECTIONS}", "COMMIT")
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


def import_file(conn: sqlite3.Connection, file: BinaryIO, clerk: str,
                progress: Callable[[int], None] | None = None, all_read: Callable[[], None] | None = None,
                seal: signing.Seal | None = None) -> int:
    """Import a JSON Lines file all or nothing; returns how many events were logged.  ``all_read`` is
    called once every line is checked and appended, before the projections are refreshed; ``seal``
    signs the import (``writer.append``)."""
    from caselog import writer

    empty = chain.head(conn).position == 0
    with reading(file, clerk, progress, empty) as items:
        lines: Iterable[writer.Proposed] = items if all_read is None else _then(items, all_read)
        return writer.import_events(conn, lines, refresh_all=items.refresh_all, seal=seal)


def _then(items: Iterable[writer.Proposed], done: Callable[[], None]) -> Iterator[writer.Proposed]:
    yield from items
    done()
