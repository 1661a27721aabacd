"""The database file: connections, pragmas, the events table's migrations, transactions.

Durability: WAL with ``synchronous=FULL``.  NORMAL would survive a process
crash but may lose the last commits on power loss; a clerk who was told an
event was recorded must be able to rely on it, and a bulk import pays the
fsync once, so FULL costs little.  An import into an empty log runs with a
rollback journal instead (``written_once``).

Only the log's own tables (``LOG_TABLES``: the events and the signed trust
log) have frozen migrations: every other table is a projection that
``caselog.projections`` drops and rebuilds at will.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Iterator

from caselog.chain import COLUMNS, REDACTIONS, SALTS
from caselog.errors import ConflictError, InputError

SCHEMA = 4  # PRAGMA user_version once every migration below has run
BUSY_TIMEOUT_MS = 30_000
# The page size of every database caselog creates, the log and its scratch files: four times
# SQLite's default (BENCHMARKS.md: fewer pages to write, sync and checkpoint).
PAGE_SIZE = 16_384
# The tables of the log itself; every other table is a projection.
LOG_TABLES = ("events", "_sqlite_migrations", "_caselog_trust", SALTS)
# Corrections and retractions, about 1% of the log.  The log indexes them under this very condition
# (a partial index), which SQLite uses only when a query spells it the same way.
CORRECTIONS = "type IN ('event_corrected', 'event_retracted')"


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
    db.execute(NO_REPLACE)


# INSERT OR REPLACE deletes the row it collides with without firing DELETE triggers.
NO_REPLACE = (
    "CREATE TRIGGER events_no_replace BEFORE INSERT ON events WHEN "
    "EXISTS (SELECT 1 FROM events WHERE position = NEW.position) "
    "OR EXISTS (SELECT 1 FROM events WHERE event_id = NEW.event_id) "
    'OR EXISTS (SELECT 1 FROM events WHERE "case" = NEW."case" AND version = NEW.version) '
    "BEGIN SELECT RAISE(ABORT, 'events is append-only: a logged row cannot be replaced'); END"
)


def _migrate_v2(db) -> None:
    # Every refresh reads the corrections and retractions first: without this index, by a scan of the log.
    db.execute(f"CREATE INDEX idx_events_corrections ON events (position) WHERE {CORRECTIONS}")


def _migrate_v3(db) -> None:
    # The signed trust log (caselog.signing): keys, checkpoints and redactions, chained among themselves.
    db["_caselog_trust"].create(
        {"seq": int, "kind": str, "name": str, "role": str, "key": str, "position": int, "head": str,
         "at": str, "signer": str, "detail": str, "prev": str, "signature": str},
        pk="seq", not_null={"seq", "kind", "name", "role", "key", "position", "head", "at", "signer", "detail",
                            "prev", "signature"},
    )
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER trust_no_{verb.lower()} BEFORE {verb} ON _caselog_trust BEGIN "
            "SELECT RAISE(ABORT, '_caselog_trust is append-only'); END"
        )
    db.execute("CREATE TRIGGER trust_no_replace BEFORE INSERT ON _caselog_trust WHEN "
               "EXISTS (SELECT 1 FROM _caselog_trust WHERE seq = NEW.seq) "
               "BEGIN SELECT RAISE(ABORT, '_caselog_trust is append-only'); END")


def _migrate_v4(db) -> None:
    # The salts of schema-version-2 payloads (caselog.chain.committed), one row an event: bytes, or the
    # JSON text of a redacted event's.  A row replaced or edited changes the commitments it yields, which
    # verify catches; the triggers keep mistakes out.
    db.execute(f"CREATE TABLE {SALTS} (position INTEGER PRIMARY KEY, salts BLOB NOT NULL)")
    for verb in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER salts_no_{verb.lower()} BEFORE {verb} ON {SALTS} BEGIN "
                   f"SELECT RAISE(ABORT, '{SALTS} is append-only: only `caselog redact` rewrites it'); END")
    # Verify reads every redaction before checking the chain: an index keeps that from scanning the log.
    db.execute(f"CREATE INDEX idx_events_redactions ON events (position) WHERE {REDACTIONS}")


def _migrations():
    from sqlite_utils.migrations import Migrations  # only a new database pays for this import

    migrations = Migrations("caselog")
    migrations(name="events_and_projections")(_migrate_v1)
    migrations(name="corrections_index")(_migrate_v2)
    migrations(name="trust")(_migrate_v3)
    migrations(name="redaction")(_migrate_v4)
    return migrations


class ReadOnly(sqlite3.Connection):
    """A connection to a log this process cannot write: reads work, ``Transaction`` refuses to begin."""


def connect(path: str | Path, create: bool = True) -> sqlite3.Connection:
    """Open (and on first use create) a caselog database; one this process cannot write is opened
    read-only (``ReadOnly``)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a caselog database")
    if path.exists() and not path.is_file():
        # A device or a FIFO: SQLite would block on it, or write its journal beside it (in /dev).
        raise InputError(f"{path} is not a caselog database: it is not a regular file")
    new = not path.exists() or path.stat().st_size == 0
    if new:
        if not create:
            raise InputError(f"no caselog database at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not writable(path):
            raise InputError(f"cannot create a caselog database at {path}: {_READ_ONLY}")
    elif path.stat().st_size < 512:
        # Smaller than any SQLite page.  (No peeking at the header: closing a file
        # descriptor drops every POSIX lock this process holds on the file.)
        raise InputError(f"{path} is not an SQLite database, let alone caselog's")
    if new or writable(path):
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        conn = sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                               factory=ReadOnly)
    try:
        _prepare(conn, path)
    except sqlite3.OperationalError as error:
        conn.close()
        if "locked" in str(error):  # held past the busy timeout, as by a long first import (written_once)
            raise ConflictError(f"{path} stayed locked by another command for {BUSY_TIMEOUT_MS // 1000} s; retry") from None
        raise InputError(f"{path} is not a usable caselog database: {error}") from None
    except sqlite3.DatabaseError as error:
        conn.close()
        raise InputError(f"{path} is not a usable caselog database: {error}") from None
    except BaseException:
        conn.close()
        raise
    return conn


_READ_ONLY = "the file or its folder is read-only"


def writable(path: Path) -> bool:
    """Whether this process may write the file at ``path`` and create files beside it (SQLite's -wal,
    -shm and journal), as it must to write a log."""
    return (not path.exists() or os.access(path, os.W_OK)) and os.access(path.parent, os.W_OK)


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Check the schema, migrate a new or older database, and set the pragmas."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version < SCHEMA:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if (version == 0 and tables - {"_sqlite_migrations"}) or (version > 0 and "events" not in tables):
            raise InputError(f"{path} is an SQLite database but not caselog's")
        if isinstance(conn, ReadOnly):
            raise InputError(f"{path} was written by an older caselog and needs its schema brought up to date, "
                             f"but {_READ_ONLY}")
        if version == 0:
            # Set before the first table is written (and WAL chosen), after which it cannot change.
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
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
    if isinstance(conn, ReadOnly):
        return  # nothing to set: the pragmas below are for writing
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        journal_mode(conn, "wal", wait_ms=0)  # a first import that could not switch back, or was killed
    conn.execute("PRAGMA synchronous = FULL")
    # Filled only as a large transaction needs it: an import inserts into the (case, version) index at
    # random pages, 37 MB of them at a million events, and with 8 MiB it took 48 s instead of 28.
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    # Some builds zero every freed page.  Nothing caselog deletes is secret (only projection rows, which
    # the log can always recompute), and zeroing made dropping them for a rebuild 20 times slower.
    conn.execute("PRAGMA secure_delete = OFF")


CACHE_KIB = 32_768
SORTING_KIB = 8_192


@contextlib.contextmanager
def sorting(conn: sqlite3.Connection) -> Iterator[None]:
    """At most ``SORTING_KIB`` of page cache while the block runs.  SQLite lets each sort hold as much
    memory as the page cache before it spills to a temporary file, and a full refresh runs several sorts
    at once: with the whole cache each, an import's process grew by 70 MB, no faster."""
    (before,) = conn.execute("PRAGMA cache_size").fetchone()
    if before < 0 and -before <= SORTING_KIB:
        yield
        return
    conn.execute(f"PRAGMA cache_size = -{SORTING_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {before}")


def scratch(path: str) -> sqlite3.Connection:
    """A new scratch database at ``path``: rows computed elsewhere, or a copy to compute from."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = OFF")  # nothing to recover after a crash
    conn.execute("PRAGMA synchronous = OFF")
    return conn


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error.

    IMMEDIATE takes the write lock up front, so concurrent clerks queue on the
    busy timeout instead of failing when a read would turn into a write.
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        if isinstance(self.conn, ReadOnly):
            raise InputError(f"cannot write to {file_of(self.conn)}: {_READ_ONLY}; only reading commands work on it")
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
        detach_scratch(self.conn)


def uri(path: str | Path, **options: str) -> str:
    """An SQLite URI for ``path`` (quoted: a name may hold '?', '#' or '%') with query ``options``."""
    query = urllib.parse.urlencode(options)
    return f"file:{urllib.parse.quote(str(Path(path).absolute()))}" + (f"?{query}" if query else "")


def read_only(path: str | Path) -> sqlite3.Connection:
    """A connection that cannot write to ``path``."""
    return sqlite3.connect(read_only_uri(path), uri=True)


def read_only_uri(path: str | Path) -> str:
    """The URI by which a connection reads ``path`` without writing anything."""
    return uri(path, mode="ro", immutable="1") if immutable(path) else uri(path, mode="ro")


def immutable(path: str | Path) -> bool:
    """Whether SQLite can read ``path`` only as an immutable file.

    A reader of a log in WAL mode needs its -shm file, which SQLite cannot create in a folder this
    process cannot write; without one, ``immutable=1`` reads the file as it is.  That is safe while
    no one writes it, as no one can through this folder: a writer would have created the -shm file.
    """
    path = Path(path)
    return not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists()


def file_of(conn: sqlite3.Connection) -> str:
    """The path of the connection's main database; empty for a database in memory."""
    return next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")


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
        detach_scratch(conn)


# A scratch database that a transaction has read (rows computed by another process, a rebuild to
# compare with) cannot be detached before the transaction ends; it is let go of then.
SCRATCH = "_scratch_"


@contextlib.contextmanager
def attached(conn: sqlite3.Connection, path: str, name: str) -> Iterator[str]:
    """``path`` attached as a scratch database; yields its schema name.  Detached after use or,
    inside a transaction, when the transaction ends."""
    name = SCRATCH + name
    conn.execute(f"ATTACH DATABASE ? AS {name}", (path,))
    try:
        yield name
    finally:
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute(f"DETACH DATABASE {name}")


def detach_scratch(conn: sqlite3.Connection) -> None:
    for _, name, _ in conn.execute("PRAGMA database_list").fetchall():
        if name.startswith(SCRATCH):
            conn.execute(f"DETACH DATABASE {name}")


@contextlib.contextmanager
def written_once(conn: sqlite3.Connection, empty: bool) -> Iterator[None]:
    """An import into an ``empty`` log writes its pages straight into the database file, once.

    In WAL mode every page goes to the write-ahead log first and is copied into the file by the
    checkpoint after the commit: about a second of a million-event import.  With a rollback
    journal instead, a crash still leaves the log as it was (empty); other connections wait for
    the import rather than read an empty log.  SQLite leaves WAL mode only when no other
    connection has the log open, so an import that finds one open keeps to WAL.  The log returns
    to WAL afterwards, or when it is next opened (see ``_prepare``) if that is not possible then.
    """
    if not empty or not journal_mode(conn, "delete", wait_ms=0):
        yield
        return
    try:
        yield
    finally:
        journal_mode(conn, "wal", wait_ms=1000)


def journal_mode(conn: sqlite3.Connection, mode: str, wait_ms: int) -> bool:
    """Switch the log to journal ``mode``, waiting at most ``wait_ms`` for other connections to let
    go of it; whether it is in that mode now."""
    conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
    try:
        return conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode
    except sqlite3.OperationalError:  # "database is locked": another connection holds it
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
