"""The demo database: a fictitious city's log (``synthetic.demo_city``) in a fresh file.

The file is built beside its destination and moved into place, so a failed
build leaves the previous demo as it was; a file that an earlier demo did
not build (a clerk's real log) is never replaced.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from caselog import chain, database, interchange, opening, synthetic, writer
from caselog.errors import InputError

DEFAULT_PATH = Path("db") / "demo.db"
CLERK = "demo"  # for generated events that name no clerk
#: SQLite's header field for "what kind of file is this"; marks a file demo may replace.
DEMO_ID = int.from_bytes(b"csld", "big")


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _check_replaceable(path: Path) -> None:
    """Refuse to replace a file unless an earlier demo built it: its header carries DEMO_ID."""
    if not path.exists():
        return
    try:
        conn = database.read_only(path)
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        application_id = None
    if application_id != DEMO_ID:
        raise InputError(f"{path} exists and was not built by `caselog demo`: choose another --db")


def build(path: str | Path = DEFAULT_PATH, seed: int = 2022) -> chain.Head:
    """Write the demo city's log to ``path``, replacing an earlier demo there."""
    path = Path(path)
    _check_replaceable(path)
    building = path.with_name(path.name + ".building")
    _remove(building)
    conn = opening.open_log(building)
    try:
        conn.execute(f"PRAGMA application_id = {DEMO_ID}")
        events = synthetic.demo_city(seed=seed)
        writer.append(conn, (interchange.proposed_from_json(obj, CLERK, f"demo event {n}") for n, obj in enumerate(events, 1)))
        head = chain.head(conn)
    finally:
        conn.close()
    _remove(path)
    os.replace(building, path)
    return head
