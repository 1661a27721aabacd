"""Backups: a consistent copy of a live log, taken while clerks keep writing."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
import stat
from pathlib import Path
from typing import Callable, Iterator

from caselog import chain, database, parallel, signing
from caselog.errors import InputError, TamperError

# 16 MiB at the log's 16 KiB pages: a progress report per step.  Clerks' appends never wait for a
# step, because the backup reads a snapshot and WAL lets them commit beside it.
PAGES_PER_STEP = 1024
_SIDECARS = ("-wal", "-shm", "-journal")


def backup(conn: sqlite3.Connection, target: str | Path, force: bool = False, pages: int = PAGES_PER_STEP,
           progress: Callable[[int, int], None] | None = None) -> chain.Head:
    """Copy the log to ``target`` with SQLite's online backup, verify the copy, return its head.

    The copy is the log as it stood when the backup began: a read transaction
    pins that snapshot while clerks keep appending (WAL lets them), which also
    keeps the backup from restarting after each of their commits.  The copy is
    written beside ``target``, as the hidden ``.NAME.partial`` (what a killed
    backup left there is overwritten), and moved into place only once its
    chain verifies.  ``target`` must not be the log or one of its files, nor
    anything that exists and is not a regular file.  ``progress`` is called
    after each step of ``pages`` pages with (pages remaining, pages in all).
    """
    target = Path(target)
    partial = _partial(conn, target, force)
    with _claimed(partial, target):
        try:
            snapshot = _copy(conn, partial, pages, progress)
            copy = database.connect(partial, create=False)
            try:
                problems = [row[0] for row in copy.execute("PRAGMA quick_check")]
                if problems != ["ok"]:
                    raise TamperError(f"the copy fails SQLite's check: {'; '.join(problems)}")
                head = parallel.verify_chain(copy)
                signing.verify(copy, head)
            finally:
                copy.close()
            if head != snapshot:
                raise TamperError(f"the copy ends at {head}, not at the log's head {snapshot} when the backup began")
            _remove(partial, _SIDECARS)
            _remove(target, _SIDECARS)  # a stale WAL beside the new file would be replayed into it
            os.replace(partial, target)
            _sync_directory(target.parent)
        except BaseException:
            _remove(partial, ("",) + _SIDECARS)
            raise
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


def _partial(conn: sqlite3.Connection, target: Path, force: bool) -> Path:
    """The hidden file the copy is written to first, once ``target`` is known to be safe to replace."""
    if target.is_dir():
        raise InputError(f"{target} is a directory: give the backup a file name")
    partial = target.with_name(f".{target.name}.partial")
    source = database.file_of(conn)
    if source and any(_files(str(path)) & _files(os.path.realpath(source)) for path in (target, partial)):
        raise InputError(f"backing up to {target} would overwrite the log or one of its files: choose another name")
    if not target.parent.is_dir():
        raise InputError(f"no directory {target.parent} to put {target.name} in")
    if target.exists():
        if not target.is_file():
            raise InputError(f"{target} is not a regular file: give the backup a file name")
        if not force:
            raise InputError(f"{target} already exists: use --force to overwrite it")
    return partial


def _files(path: str) -> set[str | tuple[int, int]]:
    """What ``path`` and its WAL, shared memory and journal are, through any links: real names and inodes.

    A sidecar counts by name even when missing: SQLite would take a file put
    there for its own (a journal it rolls back, a WAL it replays).
    """
    found: set[str | tuple[int, int]] = set()
    for name in (path + suffix for suffix in ("",) + _SIDECARS):
        found.add(os.path.realpath(name))
        with contextlib.suppress(OSError):
            info = os.stat(name)
            found.add((info.st_dev, info.st_ino))
    return found


@contextlib.contextmanager
def _claimed(partial: Path, target: Path) -> Iterator[None]:
    """Hold ``partial`` for this backup alone, emptied of what a killed backup left in it."""
    # Never through a link: what the name points at could be anyone's file, the log's included.
    refused = InputError(f"{partial} is not a backup's partial copy: move it away")
    try:
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise refused from None
        raise
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_nlink != 1:
            raise refused
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"another backup to {target} is running: wait for it to finish") from None
        os.ftruncate(fd, 0)
        _remove(partial, _SIDECARS)  # a killed backup's WAL would be replayed into the new copy
        yield
    finally:
        os.close(fd)


def _remove(path: Path, suffixes: tuple[str, ...]) -> None:
    for suffix in suffixes:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
