"""Datasette's pages as reviewers read them: Chinese first on HTML, fractions and codes in JSON and CSV.

Each test reads a page through ``Datasette([path]).client`` and checks what a
reviewer sees against the database or ``caselog.summary`` on the same file.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

from datasette.app import Datasette
from markupsafe import escape

from caselog import opening, report
from caselog import summary as summaries
from caselog.reviewer import pages, queries
from test_reviewer import fetch, get, read, summary_of


def _th_labels(html: str) -> list[str]:
    return re.findall(r'<th[^>]*class="col-(\w+)"[^>]*scope="col"', html)


def test_home_and_database_pages_are_titled_in_chinese_and_list_tables_by_title(example_db):
    index, database = fetch(Datasette([str(example_db)]), "/", "/reviews")
    assert "<h1>行政诉讼案件日志 · caselog" in index.text and "<title>行政诉讼案件日志" in index.text
    assert '<a href="/reviews/appearance_units">应出庭单位(案件·审级) · Appearance units</a>' in index.text
    assert "Datasette:" not in index.text.split("</title>")[0]
    assert '<a href="/reviews/outcomes">审结与败诉 · Outcomes</a>' in database.text
    assert '<a href="/reviews/silent_heads">出庭不出声 · Heads who appeared and stayed silent</a>' in database.text
    assert "_caselog_projection" not in database.text.split("内部表")[0]


def test_table_columns_are_labelled_in_chinese_with_the_glossary_folded(example_db):
    html = get(Datasette([str(example_db)]), "/reviews/outcomes").text
    assert '<details class="caselog-glossary">' in html and "<summary>字段说明" in html
    assert '经二审核减<br><span class="caselog-code">reduced_on_appeal</span>' in html
    assert "Link" not in _th_labels(html)


def test_hash_columns_are_hidden_on_the_page_but_kept_in_json_and_csv(example_db):
    ds = Datasette([str(example_db)])
    page, shown, as_json, as_csv = fetch(ds, "/reviews/events", "/reviews/events?_hashes=1",
                                         "/reviews/events.json?_shape=objects", "/reviews/events.csv")
    assert "hash" not in _th_labels(page.text) and "payload_sha256" not in _th_labels(page.text)
    assert '<a href="/reviews/events?_hashes=1">显示 · show</a>' in page.text
    assert {"hash", "payload_sha256"} <= set(_th_labels(shown.text))
    assert len(as_json.json()["rows"][0]["hash"]) == 64
    assert "hash" in next(csv.reader(io.StringIO(as_csv.text)))


def test_rates_are_percentages_on_the_page_and_fractions_in_json(example_db):
    ds = Datasette([str(example_db)])
    path = "/reviews/yearly_figures?year=2022&level=all&agency="
    html, body = fetch(ds, path, path.replace("yearly_figures?", "yearly_figures.json?_shape=objects&"))
    [row] = body.json()["rows"]
    s = summary_of(example_db, year=2022)
    assert row["appearance_rate"] == s["appearance_rate"] and 0 < row["appearance_rate"] < 1
    assert f'<td class="col-appearance_rate type-float">{report.pct(s["appearance_rate"])}</td>' in html.text
    change = f'{s["appearance_rate_change_pp"]:+.2f} 个百分点'
    assert f'<td class="col-appearance_rate_change_pp type-float">{change}</td>' in html.text
    query = get(ds, "/reviews/rates_by_agency?year=2022&level=all").text
    worst = report.worst_first(s["by_agency"])[0]["appearance_rate"]
    assert re.findall(r'<td class="col-appearance_rate">([^<]*)</td>', query)[0] == report.pct(worst)


def test_flags_are_yes_or_no_on_the_page_and_zero_or_one_in_csv(example_db):
    ds = Datasette([str(example_db)])
    html, as_csv = fetch(ds, "/reviews/outcomes?loss=1", "/reviews/outcomes.csv?loss=1")
    assert re.findall(r'<td class="col-loss type-int">([^<]*)</td>', html.text) and set(
        re.findall(r'<td class="col-loss type-int">([^<]*)</td>', html.text)) == {"是"}
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows and {r["loss"] for r in rows} == {"1"}
    counts = get(ds, "/reviews/yearly_figures?year=2022&level=all&agency=").text
    assert re.search(r'<td class="col-reduced_on_appeal type-int">\d+</td>', counts), "in yearly figures it is a count"


def test_facet_values_are_labelled_in_chinese_and_years_in_order(demo_db):
    ds = Datasette([str(demo_db)])
    html = get(ds, "/demo/outcomes?_facet=disposition").text
    years = re.findall(r'href="[^"]*outcomes\?_facet=disposition&amp;year=(\d{4})"', html)
    assert len(years) > 2 and years == sorted(years)
    assert re.search(r'>撤销 <span class="caselog-code">revoked</span></a> [\d,]+</li>', html)
    assert re.search(r'>是 <span class="caselog-code">1</span></a> [\d,]+</li>', html)


def test_case_numbers_link_to_the_cases_trail(example_db):
    ds = Datasette([str(example_db)])
    html = get(ds, "/reviews/cases").text
    case = read(example_db, 'SELECT "case" FROM cases ORDER BY filed_on DESC LIMIT 1')[0][0]
    href = f"/reviews/case_trail?case={quote(case)}"
    assert f'<a class="caselog-case" href="{href}">{case}</a>' in html
    trail = get(ds, href).text
    events = read(example_db, 'SELECT count(*) FROM events WHERE "case" = ?', (case,))[0][0]
    assert f"共 {events} 行" in trail and trail.count('<td class="col-position">') == events


def test_canned_queries_hide_their_sql_and_say_what_each_parameter_takes(example_db):
    ds = Datasette([str(example_db)])
    for name, q in queries.QUERIES.items():
        html = get(ds, f"/reviews/{name}").text
        assert 'id="sql-query"' not in html and "SELECT" not in html, name
        for param in q["params"]:
            zh, _, help_text = queries.PARAMS[param]
            assert f'{zh} <span class="caselog-code">{param}</span>' in html and escape(help_text) in html, (name, param)


def test_an_empty_year_means_the_latest_complete_year(demo_db):
    ds = Datasette([str(demo_db)])
    conn = opening.open_log(demo_db, create=False)
    latest = summaries.latest_complete_year(conn)
    conn.close()
    assert read(demo_db, f"SELECT {queries.LATEST_COMPLETE_YEAR}")[0][0] == latest
    defaulted, given = fetch(ds, "/demo/silent_heads.json?_shape=objects&_size=max",
                             f"/demo/silent_heads.json?_shape=objects&_size=max&year={latest}")
    assert defaulted.json()["rows"] == given.json()["rows"] and given.json()["rows"]
    assert f'name="year" value="{latest}"' in get(ds, "/demo/silent_heads").text


def test_a_query_page_says_how_many_rows_there_are(demo_db):
    ds = Datasette([str(demo_db)], settings={"max_returned_rows": 5})
    year = summaries.latest_complete_year(opening.open_log(demo_db, create=False))
    s = summary_of(demo_db, year=year)
    html = get(ds, f"/demo/silent_heads?year={year}").text
    assert s["silent"] > 5
    assert f"共 {s['silent']:,} 行" in html and "本页显示前 5 行" in html


def test_codes_and_flags_have_chinese_labels():
    assert pages.value_label("attendance", "deputy") == "副职负责人"
    assert pages.value_label("loss", 1) == "是" and pages.value_label("court", "x") is None


def test_every_csv_export_has_every_row(demo_db):
    """With max_returned_rows 5, a canned query's CSV and a table's CSV link still give every row."""
    ds = Datasette([str(demo_db)], settings={"max_returned_rows": 5})
    year = summaries.latest_complete_year(opening.open_log(demo_db, create=False))
    s = summary_of(demo_db, year=year)
    query_csv, table_csv, json_page = fetch(ds, f"/demo/silent_heads.csv?year={year}&level=&agency=",
                                            "/demo/cases.csv?_size=max", f"/demo/silent_heads.json?year={year}")
    rows = list(csv.DictReader(io.StringIO(query_csv.text)))
    assert len(rows) == s["silent"] > 5 and {r["attendance"] for r in rows} <= {"principal", "deputy", "other_head"}
    assert list(rows[0]) == get(ds, f"/demo/silent_heads.json?year={year}").json()["columns"]
    cases = read(demo_db, "SELECT count(*) FROM cases")[0][0]
    assert len(list(csv.DictReader(io.StringIO(table_csv.text)))) == cases > 5
    assert json_page.json()["truncated"] is True  # JSON says so itself; the page says how many (above)
