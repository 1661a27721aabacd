"""The second core: one spawned worker process for half of a long job (a chain check, a full refresh)."""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Executor
from typing import Iterator

from caselog.errors import CaselogError


FROM_EVENTS = 200_000  # below this many events, starting a second process costs more than it saves


def worth_it(events: int) -> bool:
    """Whether a job over ``events`` events should hand half of itself to a second process."""
    return events >= FROM_EVENTS and more_than_one()


def more_than_one() -> bool:
    """Whether a second process would run on a core of its own."""
    return usable_cpus() > 1


def usable_cpus() -> int:
    """The cores this process may run on: a machine's count can include cores a container or
    ``taskset`` keeps it off, where a second process would only take turns with the first."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this system (macOS, Windows)
        return os.cpu_count() or 1


@contextlib.contextmanager
def second_process() -> Iterator[Executor]:
    """A pool of one worker; if it dies (killed, out of memory) the job fails with a one-line error."""
    import concurrent.futures.process  # only a long job pays for these imports
    import multiprocessing

    try:
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
    except concurrent.futures.process.BrokenProcessPool:
        raise CaselogError("the second process working on the log stopped unexpectedly; nothing was changed") from None
