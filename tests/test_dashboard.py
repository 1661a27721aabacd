"""The yearly dashboard: the year it opens on, the unfinished year, the rows behind each count, the agency table.

Figures are checked against ``caselog.summary.summary`` on the same file, and
each drill-down link is followed to check it lists exactly the rows counted.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
import sqlite3

import pytest
from datasette.app import Datasette

from caselog import interchange, opening, report, writer
from caselog import summary as summaries
from caselog.reviewer import charts, dashboard
from test_reviewer import fetch, get, read, summary_of


def _links(html: str, key: str) -> str:
    [href] = re.findall(rf'<tr data-figure="{key}">.*?<td><a href="([^"]*)">', html, re.S)
    return htmllib.unescape(href)


def _rows_behind(ds: Datasette, href: str) -> int:
    path, _, query = href.partition("?")
    body = get(ds, f"{path}.json?{query}&_size=0").json()
    return body["filtered_table_rows_count"]


@pytest.fixture
def this_year_db(example_db, tmp_path):
    """The example log with one case filed and heard this year: the current year is unfinished."""
    path = tmp_path / "now.db"
    opening.open_log(example_db, create=False).backup(sqlite3.connect(path))
    conn = opening.open_log(path, create=False)
    today = dt.date.today()
    case = f"({today.year})浙0302行初9001号"
    writer.append(conn, [interchange.proposed_from_json(obj, "test") for obj in (
        {"type": "case_filed", "case": case, "filed_on": f"{today.year}-01-01", "court": "某法院", "agency": "市公安局",
         "cause": "行政处罚"},
        {"type": "hearing_held", "case": case, "held_on": f"{today.year}-01-01", "attendance": "deputy", "spoke": False},
    )])
    conn.close()
    return path


def test_the_dashboard_opens_on_the_latest_complete_year_not_the_unfinished_one(this_year_db):
    html = get(Datasette([str(this_year_db)]), "/-/caselog/dashboard").text
    year = dt.date.today().year - 1
    assert f'<option value="{year}" selected>' in html and "年度未完" not in html
    assert f'<option value="{year + 1}">' in html


@pytest.mark.skipif(dt.date.today() == dt.date(dt.date.today().year, 12, 31), reason="the year is complete today")
def test_the_unfinished_year_is_labelled_and_compared_with_the_same_dates_a_year_earlier(this_year_db):
    today = dt.date.today()
    html = get(Datasette([str(this_year_db)]), f"/-/caselog/dashboard?year={today.year}").text
    s = summary_of(this_year_db, start=dt.date(today.year, 1, 1), end=today)
    assert "年度未完" in html and f"{today.year - 1}年同期" in html and s["filed"] == 1
    assert report.paragraph(s, "zh") in html
    assert _links(html, "filed").endswith(f"filed_on__gte={today.year}-01-01&filed_on__lte={today.isoformat()}")
    previous = summary_of(this_year_db, start=summaries.year_before(dt.date(today.year, 1, 1)),
                          end=summaries.year_before(today))
    row = re.search(r'<tr data-figure="filed">.*?</tr>', html, re.S).group(0)
    assert f"<td>{previous['filed']}</td>" in row


@pytest.mark.parametrize("args", ["", "&level=first", "&agency={agency}"])
def test_every_count_leads_to_the_rows_behind_it(demo_db, args):
    ds = Datasette([str(demo_db)])
    [(year,)] = read(demo_db, "SELECT year FROM yearly_figures WHERE agency = '' AND level = 'all' "
                              "ORDER BY reduced_on_appeal DESC, year LIMIT 1")
    s = summary_of(demo_db, year=year)
    agency = max(s["by_agency"], key=lambda r: r["heard"])["agency"]
    args = args.format(agency=agency)
    html = get(ds, f"/-/caselog/dashboard?year={year}{args}").text
    scoped = summary_of(demo_db, year=year, level="first" if "first" in args else "all",
                        agency=agency if "agency" in args else None)
    for key in dashboard.ROWS_OF:
        assert _rows_behind(ds, _links(html, key)) == scoped[key], key
    if not args:
        assert scoped["reduced_on_appeal"] and scoped["silent"] and scoped["recommendations_expected"]


def test_the_agency_table_has_every_attendance_and_sorts(demo_db, monkeypatch):
    ds = Datasette([str(demo_db)])
    s = summary_of(demo_db, year=2024)
    html = get(ds, "/-/caselog/dashboard?year=2024&sort=loss_rate&desc=1").text
    headings = re.findall(r'<th data-sort="(\w+)">', html)
    assert {"principal", "deputy", "other_head", "staff", "lawyer_only", "none", "silent", "speaking_rate",
            "recommendations_expected"} <= set(headings)
    shown = re.findall(r'<tr><th scope="row"><a href="[^"]*">(.*?)</a></th>', html)
    rate = {r["agency"]: r["loss_rate"] for r in s["by_agency"]}
    rates = [rate[a] for a in shown]
    assert len(shown) == len(rate) and None not in rates[:rates.index(None)] if None in rates else True
    known = [r for r in rates if r is not None]
    assert known == sorted(known, reverse=True) and rates[:len(known)] == known
    monkeypatch.setattr(dashboard, "AGENCIES_PER_PAGE", 3)
    first, second = fetch(ds, "/-/caselog/dashboard?year=2024", "/-/caselog/dashboard?year=2024&page=2")
    worst = [r["agency"] for r in report.worst_first(s["by_agency"])]
    assert re.findall(r'<tr><th scope="row"><a href="[^"]*">(.*?)</a></th>', first.text) == worst[:3]
    assert re.findall(r'<tr><th scope="row"><a href="[^"]*">(.*?)</a></th>', second.text) == worst[3:6]
    assert f"共 {len(worst)} 个单位" in first.text and "page=2#agencies" in first.text


def test_the_speaking_rate_has_its_change_on_the_year_before(demo_db):
    s = summary_of(demo_db, year=2024)
    html = get(Datasette([str(demo_db)]), "/-/caselog/dashboard?year=2024").text
    card = re.search(r'data-figure="speaking_rate">.*?</div>\s*</div>', html, re.S).group(0)
    assert f"{s['speaking_rate_change_pp']:+.2f} 个百分点" in card


def test_the_dashboard_links_to_the_written_report(demo_db):
    html = get(Datasette([str(demo_db)]), "/-/caselog/dashboard?year=2024&level=first").text
    assert '<a href="/-/caselog/report?year=2024&amp;level=first">' in html


@pytest.mark.parametrize("args", ["?sort=nope", "?page=0", "?page=x"])
def test_the_agency_table_refuses_bad_parameters(example_db, args):
    assert get(Datasette([str(example_db)]), "/-/caselog/dashboard" + args).status_code == 400


def test_a_rate_axis_fits_its_values_and_marks_the_selected_year():
    assert charts.rate_axis([0.05, 0.16]) == [5.0, 7.5, 10.0, 12.5, 15.0, 17.5]
    assert charts.rate_axis([0.94, 0.995]) == [94, 96, 98, 100]
    assert charts.rate_axis([None, None]) == [0, 20, 40, 60, 80, 100]
    svg = charts.rate_chart("败诉率", ["2021", "2022", "2023"], [0.05, 0.16, 0.1], selected="2022")
    assert ">17.5%</text>" in svg and ">0%</text>" not in svg and ">100%</text>" not in svg
    assert svg.count('class="caselog-selected"') == 1 and 'font-weight="bold">2022</text>' in svg
