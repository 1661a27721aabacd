"""Published figures edited in the file are refused, not printed under the genuine head (issue 15, part 4).

``yearly_figures`` is a projection that no trigger protects.  Someone holding
the file with a plain sqlite3 connection edits it; ``caselog summary`` (every
format) and the dashboard then refuse with one line naming the table instead of
showing the forged figures, and a rebuild makes them readable again.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from datasette.app import Datasette

from integrity_support import build_example_db, copy_db, invoke

FORGERY = "UPDATE yearly_figures SET appearance_rate = 1.0, head_appeared = heard"


@pytest.fixture(scope="module")
def example_db(tmp_path_factory):
    return build_example_db(tmp_path_factory.mktemp("sealed") / "example.db")


@pytest.fixture
def db(example_db, tmp_path):
    return copy_db(example_db, tmp_path / "caselog.db")


def latest_year(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT max(year) FROM yearly_figures "
                            "WHERE agency = '' AND level = 'all' AND heard > head_appeared").fetchone()[0]


def forge(db, sql: str = FORGERY) -> None:
    conn = sqlite3.connect(db)
    with conn:
        assert conn.execute(sql).rowcount >= 1
    conn.close()


def refused(result) -> str:
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert "Traceback" not in result.output, shown
    assert result.exit_code == 1 and result.stdout == "", shown
    line = result.stderr.strip()
    assert line.startswith("Error: ") and "\n" not in line, shown
    assert "yearly_figures" in line and "caselog verify" in line and "caselog rebuild" in line, shown
    return line


@pytest.mark.parametrize("fmt", ["json", "text", "markdown", "csv"])
def test_summary_refuses_figures_edited_in_the_file_until_a_rebuild(db, fmt):
    args = ("summary", "--year", str(latest_year(db)), "--format", fmt)
    genuine = invoke(db, *args)
    assert genuine.exit_code == 0, genuine.output
    forge(db)
    refused(invoke(db, *args))
    assert invoke(db, "rebuild").exit_code == 0
    assert invoke(db, *args).stdout == genuine.stdout


@pytest.mark.parametrize("change", [
    "UPDATE yearly_figures SET filed = filed + 1 WHERE agency = '' AND level = 'first'",
    "DELETE FROM yearly_figures WHERE agency <> '' AND year = (SELECT max(year) FROM yearly_figures)",
    "UPDATE _caselog_projection SET position = position - 1 WHERE name = 'log'",
])
def test_summary_refuses_any_edit_of_what_it_reads(db, change):
    """Counts at either level, a deleted row, the head the figures claim to reflect."""
    forge(db, change)
    level = "first" if "first" in change else "all"
    refused(invoke(db, "summary", "--year", str(latest_year(db)), "--level", level, "--format", "json"))


def test_the_dashboard_shows_an_error_instead_of_edited_figures(db):
    year = latest_year(db)

    async def dashboard():
        return await Datasette([str(db)]).client.get(f"/-/caselog/dashboard?year={year}")

    assert asyncio.run(dashboard()).status_code == 200
    forge(db)
    response = asyncio.run(dashboard())
    assert response.status_code >= 400
    assert "yearly_figures" in response.text and "100.0%" not in response.text
