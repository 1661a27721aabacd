"""Reading an import file: in this process, or for a big file in a second one.

Parsing and checking lines is a third of a bulk import's work and needs
nothing from the log, so a big file is read by a helper process on the other
core while this one applies the rules, the chain and the inserts.  The helper
runs the very same ``store.read_jsonl``; it sends each event's checked fields
and its payload as it will be stored (canonical JSON and its hash), which this
process takes as they are, and the first refused line's error,
which is raised here when the import reaches that line.  Nothing is written
until the whole file has been read, so the outcome is the same either way.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from multiprocessing.connection import Connection
from typing import BinaryIO, Callable, Iterator

from caselog import errors, store
from caselog import events as ev

APART_FROM = 16 * 1024 * 1024  # bytes: below this, starting a helper costs more than it saves
_BATCH = 2_000  # events per message from the helper
_ENVELOPE = ("case", "recorded_by", "event_id", "recorded_at", "version", "position", "schema_version",
             "stored", "hash", "source")


@contextlib.contextmanager
def proposals(file: BinaryIO, clerk: str,
              progress: Callable[[int], None] | None = None) -> Iterator[Iterator[store.Proposed]]:
    """The file's events as Proposed, in order; ``progress`` gets the bytes read so far."""
    size = _regular_size(file)
    if size is None or size < APART_FROM:
        yield _counted(file, clerk, progress)
        return
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    helper = context.Process(target=_read_apart, args=(file.name, clerk, sending), daemon=True)
    helper.start()
    sending.close()  # the helper's end: once it is gone, a read here ends instead of waiting
    try:
        yield _received(receiving, progress)
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


def _read_apart(path: str, clerk: str, sending: Connection) -> None:
    """The helper: read and check every line, sending batches of checked fields, then None."""
    batch: list[tuple] = []
    try:
        with open(path, "rb") as file:
            try:
                for item in store.read_jsonl(file, clerk):
                    batch.append((item.event.TYPE, ev.payload(item.event), *(getattr(item, k) for k in _ENVELOPE)))
                    if len(batch) == _BATCH:
                        sending.send((file.tell(), batch))
                        batch = []
            except errors.CaselogError as error:
                sending.send((file.tell(), batch))
                sending.send((type(error).__name__, str(error)))
                return
            sending.send((file.tell(), batch))
            sending.send(None)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the import stopped, refused or killed: nobody is listening
    except OSError as error:
        with contextlib.suppress(OSError):
            sending.send(("InputError", f"cannot read {path}: {error.strerror}"))


def _received(receiving: Connection, progress: Callable[[int], None] | None) -> Iterator[store.Proposed]:
    while True:
        try:
            message = receiving.recv()
        except EOFError:
            raise errors.InputError("the process reading the file stopped unexpectedly; nothing was imported") from None
        if message is None:
            return
        first, rest = message
        if isinstance(first, str):  # a refused line
            raise getattr(errors, first)(rest)
        for type_, payload, *envelope in rest:
            fields = dict(zip(_ENVELOPE, envelope))
            yield store.Proposed(ev.trusted(type_, payload), **fields)
        if progress is not None:
            progress(first)
