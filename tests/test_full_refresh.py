"""A long log's full refresh (rebuild, verify, as-of) runs on two cores: the same rows as on one.

``parallel.FROM_EVENTS`` is lowered so that a small national log takes the
two-process path; each test holds it against the one-process path or a known change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3

import pytest

from caselog import audit, chain, database, figures, opening, parallel, projections, synthetic
from caselog.errors import CaselogError
from integrity_support import copy_db, invoke, jsonl, on_two_cores, snapshot

TODAY = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def national_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("full-refresh")
    source = folder / "national.jsonl"
    source.write_text(jsonl(list(synthetic.national(4_000, today=TODAY))), "utf-8")
    db = folder / "national.db"
    result = invoke(db, "import", str(source))
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def db(national_db, tmp_path):
    return copy_db(national_db, tmp_path / "caselog.db")


def split_case(db) -> str:
    """The first case of the second process's range."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return parallel.middle_case(conn, "main", chain.head(conn).position)


def test_a_rebuild_on_two_cores_equals_the_incremental_projections(db, monkeypatch):
    imported = snapshot(db)
    read_apart = on_two_cores(monkeypatch)
    assert invoke(db, "rebuild").exit_code == 0
    assert len(read_apart) == 1
    rebuilt = snapshot(db)
    assert rebuilt == imported
    # Both halves are there: cases on each side of the split.
    cases = [row[0] for row in rebuilt["cases"]]
    assert cases[0] < split_case(db) <= cases[-1]


def test_two_ranges_of_cases_refreshed_apart_and_absorbed_equal_one_refresh(db, tmp_path):
    """The parts caselog.parallel puts together: a lower range recomputed here, the upper one into
    another database and absorbed, and the two moves of the yearly counts settled at once, give every
    row of a whole refresh."""
    imported = snapshot(db)
    conn = opening.open_log(db)
    with database.Transaction(conn):
        head = chain.head(conn)
        split = parallel.middle_case(conn, "main", head.position)
        projections.drop(conn)
        projections.create(conn)
        mine = projections.recompute(conn, projections.CaseRange(None, split))
        upper = str(tmp_path / "upper.db")
        theirs = parallel._recompute_apart(str(db), upper, split, head.position)
        projections.absorb(conn, upper)
        projections.settle(conn, head, figures.combined(mine, theirs))
    conn.close()
    assert snapshot(db) == imported
    cases = [row[0] for row in imported["cases"]]
    assert cases[0] < split <= cases[-1]


def test_two_rebuilds_on_one_connection(db, monkeypatch):
    """The second process's scratch file stays attached until its transaction ends; a second rebuild still works."""
    before = snapshot(db)
    on_two_cores(monkeypatch)
    conn = opening.open_log(db)
    try:
        opening.rebuild(conn)
        opening.rebuild(conn)
        assert audit.verify(conn).position == chain.head(conn).position
    finally:
        conn.close()
    assert snapshot(db) == before


@pytest.mark.parametrize("where", ["min", "max"])
def test_verify_on_two_cores_catches_an_edited_row_on_either_side_of_the_split(db, monkeypatch, where):
    on_two_cores(monkeypatch)
    assert invoke(db, "verify").exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute(f'UPDATE cases SET court = \'篡改法院\' WHERE "case" = (SELECT {where}("case") FROM cases)')
    result = invoke(db, "verify")
    assert result.exit_code == 1
    assert "cases: 1 row(s) not in a rebuild, 1 missing" in result.stderr, result.output


@pytest.mark.parametrize("change, expected", [
    ('DELETE FROM hearings WHERE "case" = (SELECT min("case") FROM hearings)',
     "hearings: 0 row(s) not in a rebuild, {n} missing"),
    ("INSERT INTO appeals VALUES ('(2099)浙0302行初1号', 1, 'second', NULL, NULL, NULL, NULL, NULL, NULL)",
     "appeals: 1 row(s) not in a rebuild, 0 missing"),
    ("UPDATE yearly_figures SET appearance_rate = 0.5 WHERE agency = '' AND level = 'all' "
     "AND year = (SELECT max(year) FROM yearly_figures)", "yearly_figures: 1 row(s) not in a rebuild, 1 missing"),
])
def test_differences_count_rows_extra_missing_and_changed(db, change, expected):
    conn = opening.open_log(db)
    try:
        with parallel.replayed(conn) as (fresh, _):
            rebuilt = database.file_of(fresh)
            assert projections.differences(conn, rebuilt) == []
            n = conn.execute(change).rowcount
            assert n >= 1
            assert projections.differences(conn, rebuilt) == [expected.format(n=n)]
    finally:
        conn.close()


def test_an_as_of_summary_on_two_cores_equals_one_on_one(db, monkeypatch):
    with sqlite3.connect(db) as conn:
        (moment,) = conn.execute("SELECT recorded_at FROM events WHERE position = 2500").fetchone()
        (year,) = conn.execute("SELECT max(year) FROM yearly_figures").fetchone()
    args = ("summary", "--year", str(year), "--as-of", moment, "--format", "json")
    one = invoke(db, *args)
    read_apart = on_two_cores(monkeypatch)
    two = invoke(db, *args)
    assert one.exit_code == two.exit_code == 0, (one.output, two.output)
    assert len(read_apart) == 1
    assert json.loads(two.stdout) == json.loads(one.stdout)
    assert json.loads(one.stdout)["head"]["position"] == 2500


def test_a_second_process_that_dies_is_a_one_line_error():
    with pytest.raises(CaselogError, match="stopped unexpectedly"):
        with parallel._apart(os._exit, 1) as result:
            result()


@pytest.mark.parametrize("affinity, cpus, second", [({0}, 8, False), ({0, 3}, 8, True), (None, 1, False), (None, 2, True)])
def test_a_second_process_only_with_a_second_core_to_run_on(monkeypatch, affinity, cpus, second):
    """A machine's cores that this process may not use (a pinned container) do not count; without
    affinity (macOS, Windows), the machine's count does."""
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    if affinity is None:
        monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    else:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: affinity, raising=False)
    assert (parallel.usable_cpus() > 1) is second
    assert parallel.worth_it(parallel.FROM_EVENTS) is second


def test_files_with_odd_names_on_two_cores(national_db, tmp_path, monkeypatch):
    """The second processes open files by URI: a name with a space, '#', '?', '%' or Chinese must still work."""
    import tempfile

    odd = tmp_path / "日志 #1?%20"
    odd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(odd))  # the scratch files and the import's copy go here too
    read_apart = on_two_cores(monkeypatch)
    db = copy_db(national_db, odd / "案件 #2?.db")
    for args in (("rebuild",), ("verify",)):
        result = invoke(db, *args)
        assert result.exit_code == 0, result.output
    assert len(read_apart) == 2
    source = odd / "导出 #3?.jsonl"
    source.write_bytes(invoke(db, "export").stdout_bytes)
    fresh = odd / "新 #4?.db"
    result = invoke(fresh, "import", str(source))
    assert result.exit_code == 0, result.output
    assert read_apart[-1].startswith(str(odd)) and read_apart[-1].endswith("upper.db")
    assert snapshot(fresh) == snapshot(db)
