"""Opening a log: connect, and make sure its projections were made by this code.

The projections are disposable: when the fingerprint stored with them is not
this code's (``projections.fingerprint``), they are dropped and rebuilt from
the log before anything reads or writes them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

from caselog import chain, database, parallel, projections


def open_log(path: str | Path, create: bool = True, notice: Callable[[str], None] | None = None) -> sqlite3.Connection:
    """A connection to the log at ``path`` whose projections are current; ``notice`` is told of a rebuild."""
    parallel.sweep()  # what a killed caselog left in the temporary folder goes at the next start
    conn = database.connect(path, create=create)
    try:
        if projections.stored_fingerprint(conn) != projections.fingerprint():
            rebuild(conn, notice)
    except BaseException:
        conn.close()
        raise
    return conn


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
