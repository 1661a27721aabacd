"""Backups: a consistent copy of a live log, taken while clerks keep writing."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Callable

from caselog import chain, database, parallel
from caselog.errors import InputError, TamperError

PAGES_PER_STEP = 1024  # 4 MiB at the default page size; clerks' appends commit between steps
_SIDECARS = ("-wal", "-shm", "-journal")


def backup(conn: sqlite3.Connection, target: str | Path, force: bool = False, pages: int = PAGES_PER_STEP,
           progress: Callable[[int, int], None] | None = None) -> chain.Head:
    """Copy the log to ``target`` with SQLite's online backup, verify the copy, return its head.

    The copy is the log as it stood when the backup began: a read transaction
    pins that snapshot while clerks keep appending (WAL lets them), which also
    keeps the backup from restarting after each of their commits.  The copy is
    written beside ``target`` and moved into place only once its chain
    verifies.  ``progress`` is called after each step with (pages remaining,
    pages in all).
    """
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{target} is a directory: give the backup a file name")
    if not target.parent.is_dir():
        raise InputError(f"no directory {target.parent} to put {target.name} in")
    if target.exists():
        if _is_source(conn, target):
            raise InputError(f"{target} is the log itself: back it up to another file")
        if not force:
            raise InputError(f"{target} already exists: use --force to overwrite it")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        snapshot = _copy(conn, partial, pages, progress)
        copy = database.connect(partial, create=False)
        try:
            problems = [row[0] for row in copy.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise TamperError(f"the copy fails SQLite's check: {'; '.join(problems)}")
            head = parallel.verify_chain(copy)
        finally:
            copy.close()
        if head != snapshot:
            raise TamperError(f"the copy ends at {head}, not at the log's head {snapshot} when the backup began")
        _remove(target, _SIDECARS)  # a stale WAL beside the new file would be replayed into it
        os.replace(partial, target)
        _sync_directory(target.parent)
    finally:
        _remove(partial, ("",) + _SIDECARS)
    return head


def _copy(conn: sqlite3.Connection, partial: Path, pages: int,
          progress: Callable[[int, int], None] | None) -> chain.Head:
    destination = sqlite3.connect(partial)
    try:
        conn.execute("BEGIN")
        try:
            snapshot = chain.head(conn)  # this read starts the snapshot the backup copies
            conn.backup(destination, pages=pages,
                        progress=None if progress is None else lambda status, remaining, total: progress(remaining, total))
        finally:
            conn.execute("ROLLBACK")
    finally:
        destination.close()
    return snapshot


def _is_source(conn: sqlite3.Connection, target: Path) -> bool:
    source = database.file_of(conn)
    return bool(source) and os.path.samefile(source, target)


def _remove(path: Path, suffixes: tuple[str, ...]) -> None:
    for suffix in suffixes:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
