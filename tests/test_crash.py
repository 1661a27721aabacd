"""Crash safety: an import killed with SIGKILL at any moment lands all or nothing.

A log already holding the example (399 events) imports four shifted copies of
it (1,596 events) in a separate process, killed after a seeded random delay
that spans the whole run: before the process has started writing, while it
writes, and after it has finished.  So does an empty log, whose first import
runs with a rollback journal instead of the write-ahead log.  Afterwards the file must be exactly the log
before the import or exactly the log after a clean import (byte-identical
export), pass ``PRAGMA integrity_check``, and pass ``caselog verify`` (chain
intact, projections equal a rebuild).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import statistics
import subprocess
import time

import pytest

from caselog import opening
from integrity_support import (build_example_db, caselog_command, copy_db, count, example_events, integrity,
                               invoke, jsonl, shifted)

TRIALS = 36
COPIES = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return _setup(tmp_path_factory.mktemp("crash"), build_example_db)


@pytest.fixture(scope="module")
def empty_setup(tmp_path_factory):
    """A first import into an empty log, which writes without the write-ahead log."""
    def empty(path):
        opening.open_log(path).close()
        return path

    return _setup(tmp_path_factory.mktemp("crash-empty"), empty)


def _setup(folder, make_base) -> dict:
    """The starting log, the file to import, the log after a clean import, and how long that takes."""
    base = make_base(folder / "base.db")
    events = example_events()
    source = folder / "import.jsonl"
    source.write_text(jsonl([e for k in range(1, COPIES + 1) for e in shifted(events, k)]), "utf-8")
    durations = []
    for attempt in range(3):
        done = copy_db(base, folder / f"clean{attempt}.db")
        started = time.monotonic()
        process = start_import(done, source)
        assert process.wait(timeout=60) == 0, process.stderr.read().decode()
        durations.append(time.monotonic() - started)
    return {
        "base": base,
        "source": source,
        "before": export_bytes(base),
        "after": export_bytes(done),
        "count_before": count(base),
        "count_after": count(done),
        "duration": statistics.median(durations),
        "trigger": no_replace_trigger(base) or pytest.fail("the example log has no trigger refusing INSERT OR REPLACE"),
    }


def no_replace_trigger(db) -> str | None:
    """An import sets this trigger aside inside its transaction: a crash must never leave it away."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_no_replace'").fetchone()
        return row and row[0]
    finally:
        conn.close()


def start_import(db, source) -> subprocess.Popen:
    env = {**os.environ, "CASELOG_DB": str(db), "CASELOG_CLERK": "clerk-crash"}
    return subprocess.Popen([*caselog_command(), "import", str(source)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def export_bytes(db) -> bytes:
    result = invoke(db, "export")
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def delay(trial: int, duration: float) -> float | None:
    """Seconds to wait before SIGKILL; None waits for the import to finish first."""
    if trial == 0:
        return 0.0
    if trial == TRIALS - 1:
        return None
    return random.Random(f"crash-{trial}").uniform(0, 1.3 * duration)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_import_killed_at_random_lands_all_or_nothing(trial, setup, tmp_path):
    killed_at_random(trial, setup, tmp_path)


@pytest.mark.parametrize("trial", range(0, TRIALS, 3))
def test_a_first_import_killed_at_random_lands_all_or_nothing_and_the_log_returns_to_wal(trial, empty_setup, tmp_path):
    db = killed_at_random(trial, empty_setup, tmp_path)
    assert opening.open_log(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def killed_at_random(trial: int, setup: dict, tmp_path) -> str:
    db = copy_db(setup["base"], tmp_path / "caselog.db")
    wait = delay(trial, setup["duration"])
    process = start_import(db, setup["source"])
    if wait is None:
        process.wait(timeout=60)
    else:
        time.sleep(wait)
    process.send_signal(signal.SIGKILL)
    status = process.wait(timeout=60)
    process.stderr.close()

    landed = count(db)
    assert landed in (setup["count_before"], setup["count_after"]), (
        f"killed after {wait}s (exit {status}): {landed} events, expected {setup['count_before']} "
        f"(nothing landed) or {setup['count_after']} (all landed)"
    )
    assert integrity(db) == "ok"
    assert no_replace_trigger(db) == setup["trigger"], "the trigger refusing INSERT OR REPLACE is not as it was"
    verified = invoke(db, "verify")
    assert verified.exit_code == 0, verified.output
    expected = setup["before"] if landed == setup["count_before"] else setup["after"]
    assert export_bytes(db) == expected
    if status == 0:
        assert landed == setup["count_after"], "the import reported success but its events are not all in the log"
    return db
