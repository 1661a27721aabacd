"""Opening a log: connect, and make sure its projections were made by this code.

The projections are disposable: when the fingerprint stored with them is not
this code's (``projections.fingerprint``), they are dropped and rebuilt from
the log before anything reads or writes them; in a log this process cannot
write, they are computed in a scratch database for as long as the connection
lives instead, and read from there.
"""

from __future__ import annotations

import contextlib
import sqlite3
import weakref
from pathlib import Path
from typing import Callable

from caselog import chain, database, parallel, projections
from caselog.errors import InputError


def open_log(path: str | Path, create: bool = True, notice: Callable[[str], None] | None = None,
             elsewhere: bool = True) -> sqlite3.Connection:
    """A connection to the log at ``path`` whose projections are current; ``notice`` is told of a rebuild.
    Unless ``elsewhere``, stale projections in a read-only log are refused rather than computed aside."""
    parallel.sweep()  # what a killed caselog left in the temporary folder goes at the next start
    conn = database.connect(path, create=create)
    try:
        stale = projections.stored_fingerprint(conn) != projections.fingerprint()
        if stale and not isinstance(conn, database.ReadOnly):
            rebuild(conn, notice)
        elif stale and not elsewhere:
            raise InputError(f"the projections in {path} were made by another version of caselog and "
                             "the file or its folder is read-only: run `caselog rebuild` where it can be written")
        elif stale:
            _read_elsewhere(conn, notice)
    except BaseException:
        conn.close()
        raise
    return conn


def _read_elsewhere(conn: sqlite3.Connection, notice: Callable[[str], None] | None) -> None:
    """Have ``conn`` read projections computed afresh in a scratch database (``parallel.replayed``),
    through temporary views that shadow the log's own tables; the scratch goes when ``conn`` does."""
    if notice is not None:
        notice(f"the projections were made by another version of caselog and {database.file_of(conn)} is read-only; "
               "computing them in a scratch database for this command")
    scratch = contextlib.ExitStack()
    fresh, _ = scratch.enter_context(parallel.replayed(conn))
    weakref.finalize(conn, scratch.close)
    conn.execute("ATTACH DATABASE ? AS fresh", (database.uri(database.file_of(fresh), mode="ro"),))
    for name in (*projections.TABLES, *projections.VIEWS):  # temp comes first when SQLite resolves a name
        conn.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM fresh."{name}"')


def rebuild(conn: sqlite3.Connection, notice: Callable[[str], None] | None = None) -> chain.Head:
    """Drop and rebuild every projection from the log in one transaction."""
    with database.Transaction(conn):
        head = chain.head(conn)
        stale = projections.stored_fingerprint(conn) != projections.fingerprint()
        if notice is not None and stale and head.position:
            notice(f"the projections were made by another version of caselog; rebuilding them from the "
                   f"{head.position} events of the log")
        projections.drop(conn)
        projections.create(conn)
        parallel.refresh_all(conn, head)
    return head
