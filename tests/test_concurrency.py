"""Eight clerks appending at once lose nothing and duplicate nothing.

Eight spawned processes log hearings through the CLI on the same ten filed
cases, every process cycling over all of them.  Every other append passes
``--expect-version`` read with ``caselog show`` just before, so some are
stale by the time they run.  Every append must either land (exit 0) or be
refused as a conflict: exit 1, one ``Error:`` line naming the case and how to
retry, no traceback.  Appends without ``--expect-version`` must all land.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import re
import sqlite3
from pathlib import Path

import pytest

from integrity_support import invoke, jsonl

PROCESSES = 8
APPENDS = 56  # per process: 448 in all
CASES = [f"(2022)浙0302行初{n}号" for n in range(1, 11)]


def _worker(db: str, worker: int, start, out: str) -> None:
    """One clerk: APPENDS hearings over all CASES; results written to ``out`` as JSON."""
    rng = random.Random(worker)
    results = []
    start.wait(120)  # a barrier: every clerk begins at once
    for i in range(APPENDS):
        case = CASES[(worker + i) % len(CASES)]
        held_on = f"2022-{rng.randint(2, 12):02d}-{rng.randint(1, 28):02d}"
        args = ["hearing", case, "--held-on", held_on, "--attendance", "staff", "--json"]
        expected = None
        if i % 2:
            shown = invoke(db, "show", case, "--json")
            expected = json.loads(shown.stdout)["state"]["version"] if shown.exit_code == 0 else -1
            args += ["--expect-version", str(expected)]
        result = invoke(db, *args, clerk=f"clerk-{worker}")
        error = result.exception
        results.append({
            "case": case, "expected": expected, "exit_code": result.exit_code, "stdout": result.stdout,
            "stderr": result.stderr, "exception": None if error is None or isinstance(error, SystemExit) else repr(error),
        })
    Path(out).write_text(json.dumps(results, ensure_ascii=False), "utf-8")


@pytest.fixture(scope="module")
def race(tmp_path_factory):
    """Run the eight clerks once; the tests below check what they left."""
    folder = tmp_path_factory.mktemp("concurrency")
    db = folder / "caselog.db"
    filings = [{"type": "case_filed", "case": case, "filed_on": "2022-01-10", "court": "某某区人民法院",
                "agency": "市公安局", "cause": "行政处罚"} for case in CASES]
    (folder / "filed.jsonl").write_text(jsonl(filings), "utf-8")
    assert invoke(db, "import", str(folder / "filed.jsonl")).exit_code == 0
    before = len(CASES)

    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES + 1)
    outs = [folder / f"worker{n}.json" for n in range(PROCESSES)]
    workers = [context.Process(target=_worker, args=(str(db), n, start, str(out))) for n, out in enumerate(outs)]
    for process in workers:
        process.start()
    start.wait(120)
    for process in workers:
        process.join(120)
        assert process.exitcode == 0, f"worker crashed with exit {process.exitcode}"
    results = [r for out in outs for r in json.loads(out.read_text("utf-8"))]
    assert len(results) == PROCESSES * APPENDS
    return {"db": db, "before": before, "results": results}


def rows(db) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute('SELECT position, event_id, "case", version FROM events ORDER BY position').fetchall()
    finally:
        conn.close()


def test_every_append_lands_or_is_refused_as_a_clear_conflict(race):
    for r in race["results"]:
        shown = json.dumps(r, ensure_ascii=False)
        assert r["exception"] is None, shown
        assert "Traceback" not in r["stdout"] + r["stderr"], shown
        if r["exit_code"] == 0:
            continue
        assert r["expected"] is not None, f"an append without --expect-version was refused: {shown}"
        assert r["exit_code"] == 1 and r["stdout"] == "", shown
        line = r["stderr"].strip()
        assert line.count("\n") == 0 and line.startswith("Error: "), shown
        assert r["case"] in line and "another clerk" in line and "retry" in line, shown
        current = re.search(r"--expect-version (\d+)", line)
        assert current and int(current[1]) > r["expected"], f"the conflict should name a newer version: {shown}"


def test_some_appends_conflicted_and_some_expected_versions_held(race):
    guarded = [r for r in race["results"] if r["expected"] is not None]
    conflicts = [r for r in guarded if r["exit_code"] == 1]
    assert conflicts, "no append conflicted: the race did not exercise --expect-version"
    assert len(conflicts) < len(guarded), "every guarded append conflicted"


def test_nothing_lost_or_duplicated(race):
    landed = [json.loads(r["stdout"]) for r in race["results"] if r["exit_code"] == 0]
    log = rows(race["db"])
    assert len(log) == race["before"] + len(landed)
    assert [position for position, *_ in log] == list(range(1, len(log) + 1))
    ids = [event["event_id"] for event in landed]
    assert len(set(ids)) == len(ids)
    by_id = {event_id: (position, case, version) for position, event_id, case, version in log}
    assert len(by_id) == len(log), "duplicate event ids in the log"
    for event in landed:
        assert by_id.get(event["event_id"]) == (event["position"], event["case"], event["version"]), event


def test_guarded_appends_got_the_version_they_expected(race):
    for r in race["results"]:
        if r["exit_code"] == 0 and r["expected"] is not None:
            assert json.loads(r["stdout"])["version"] == r["expected"] + 1, r


def test_per_case_versions_have_no_gaps(race):
    versions: dict[str, list[int]] = {}
    for _, _, case, version in rows(race["db"]):
        versions.setdefault(case, []).append(version)
    assert set(versions) == set(CASES)
    for case, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"{case}: versions {seen}"


def test_log_verifies_after_the_race(race):
    result = invoke(race["db"], "verify")
    assert result.exit_code == 0, result.output

