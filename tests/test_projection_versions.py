"""Projections are disposable: a log whose projections another version of the code made has them
rebuilt before any command reads or writes, with one line on stderr and no manual step."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from caselog import figures, opening, projections
from cli import cli

FILED = [
    ("(2022)浙0302行初1号", "2022-02-01", "张某"),
    ("(2022)浙0302行初2号", "2022-03-01", None),
    ("(2022)浙0302行初3号", "2022-04-01", "李某"),
    ("(2023)浙0302行初1号", "2023-01-05", "王某"),
]


def run(db, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), "--clerk", "clerk-t", *args])


def _filed_log(db) -> None:
    for case, filed_on, plaintiff in FILED:
        args = ["file", case, "--filed-on", filed_on, "--court", "某区法院", "--agency", "市公安局", "--cause", "行政处罚"]
        result = run(db, *args, *(["--plaintiff", plaintiff] if plaintiff else []))
        assert result.exit_code == 0, result.output


def _with_a_new_figure(monkeypatch) -> None:
    """What a maintainer does to add a figure: one more count, how rows make it, one more column."""
    counts = figures.COUNTS + ("with_plaintiff",)
    monkeypatch.setattr(figures, "COUNTS", counts)
    monkeypatch.setattr(figures, "KEYS", counts + figures.DERIVED)
    (table, date, names), *city = figures.COUNTED[figures.CITY]
    assert table == "cases"
    counted = (table, date, {**names, "with_plaintiff": "plaintiff IS NOT NULL"})
    monkeypatch.setattr(figures, "COUNTED", {**figures.COUNTED, figures.CITY: (counted, *city)})
    yearly = {"year": "INTEGER", "level": "TEXT", "agency": "TEXT", **{k: "INTEGER" for k in counts}, **figures.DERIVED_TYPES}
    monkeypatch.setattr(projections, "TABLES", {**projections.TABLES, "yearly_figures": yearly})


def test_a_new_figure_is_right_on_an_existing_log_with_no_manual_step(tmp_path, monkeypatch):
    db = tmp_path / "caselog.db"
    _filed_log(db)
    _with_a_new_figure(monkeypatch)

    summary = run(db, "summary", "--year", "2022", "--format", "json")
    assert summary.exit_code == 0, summary.output
    assert "rebuilding them from the 4 events" in summary.stderr
    figures_2022 = json.loads(summary.stdout)
    assert (figures_2022["filed"], figures_2022["with_plaintiff"]) == (3, 2)  # cases 1 and 3 name a plaintiff

    # A clerk command on the same log now keeps the new column up to date, without a second rebuild.
    filed = run(db, "file", "(2022)浙0302行初4号", "--filed-on", "2022-05-01", "--court", "某区法院",
                "--agency", "市公安局", "--cause", "行政处罚", "--plaintiff", "赵某")
    assert filed.exit_code == 0, filed.output
    assert "rebuilding" not in filed.stderr
    again = json.loads(run(db, "summary", "--year", "2022", "--format", "json").stdout)
    assert (again["filed"], again["with_plaintiff"]) == (4, 3)
    assert json.loads(run(db, "summary", "--year", "2023", "--format", "json").stdout)["with_plaintiff"] == 1


def test_projections_without_a_fingerprint_are_rebuilt_once(tmp_path):
    """A log whose projections were made before fingerprints (or by other code) is rebuilt on opening,
    and the rebuilt projections equal the incremental ones."""
    db = tmp_path / "caselog.db"
    _filed_log(db)
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT * FROM yearly_figures ORDER BY year, level, agency").fetchall()
        conn.execute("DELETE FROM _caselog_projection WHERE name = 'fingerprint'")
        conn.execute("UPDATE yearly_figures SET filed = 99")
    shown = run(db, "summary", "--year", "2022", "--format", "json")
    assert shown.exit_code == 0 and "rebuilding" in shown.stderr
    assert json.loads(shown.stdout)["filed"] == 3
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT * FROM yearly_figures ORDER BY year, level, agency").fetchall() == before
    assert "rebuilding" not in run(db, "summary", "--year", "2022").stderr


def test_the_fingerprint_follows_the_schema_and_the_counting(monkeypatch):
    before = projections.fingerprint()
    *agency, (table, date, names) = figures.COUNTED["agency"]
    assert table == "defendant_outcomes"
    monkeypatch.setattr(figures, "COUNTED", {**figures.COUNTED, "agency": (*agency, (table, date, {**names, "losses": "0"}))})
    assert projections.fingerprint() != before


def test_a_new_log_gets_its_projections_silently(tmp_path):
    conn = opening.open_log(tmp_path / "new.db", notice=lambda line: (_ for _ in ()).throw(AssertionError(line)))
    assert projections.stored_fingerprint(conn) == projections.fingerprint()
    conn.close()
