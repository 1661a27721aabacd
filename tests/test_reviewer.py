"""The reviewer UI: the Datasette plugin, its canned queries, the dashboard, and what reviewers cannot do.

Everything goes through ``Datasette([path]).client``, as plain ``datasette
FILE`` would serve it; figures are checked against ``caselog.summary.summary``
on the same file, the code the CLI's ``caselog summary`` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from datasette.app import Datasette

from caselog import audit, chain, database, figures, interchange, opening, projections, report, rules, writer
from caselog import events as ev
from caselog import summary as summaries
from caselog.reviewer import charts, dashboard, guard, limits, meta, queries, serve
from conftest import EXAMPLE_LOG
from integrity_support import rows_of_projections

HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{3,}")


def fetch(ds: Datasette, *paths: str, method: str = "GET", **kwargs) -> list:
    """Run requests against the Datasette instance, in order, in one event loop."""

    async def run():
        return [await ds.client.request(method, path, **kwargs) for path in paths]

    return asyncio.run(run())


def get(ds: Datasette, path: str):
    return fetch(ds, path)[0]


def read(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def summary_of(path: Path, **kwargs) -> dict:
    conn = opening.open_log(path, create=False)
    try:
        return summaries.summary(conn, **kwargs)
    finally:
        conn.close()


def years_of(path: Path) -> list[int]:
    return [y for (y,) in read(path, "SELECT year FROM yearly_figures WHERE agency = '' AND level = 'all' ORDER BY year")]


def query(ds: Datasette, name: str, **params) -> list[dict]:
    response = get(ds, f"/{ds_name(ds)}/{name}.json?_shape=objects&_size=max&" + "&".join(
        f"{k}={v}" for k, v in params.items()))
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("truncated"), name
    return body["rows"]


def ds_name(ds: Datasette) -> str:
    [name] = meta.caselog_databases(ds)
    return name


def export(path: Path) -> list[dict]:
    conn = opening.open_log(path, create=False)
    try:
        return list(interchange.export(conn))
    finally:
        conn.close()


# --- metadata -------------------------------------------------------------------------------------


def test_every_table_and_column_has_a_chinese_and_english_title_and_description(example_db):
    ds = Datasette([str(example_db)])
    served = get(ds, "/-/metadata.json").json()["databases"]["reviews"]
    tables = {name: [c for _, c, *_ in read(example_db, f'PRAGMA table_info("{name}")')]
              for (name,) in read(example_db, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert set(tables) == set(projections.TABLES) | set(projections.VIEWS) | set(database.LOG_TABLES)
    assert HAN.search(served["title"]) and LATIN.search(served["title"])
    for name, columns in tables.items():
        table = served["tables"][name]
        for key in ("title", "description"):
            assert HAN.search(table[key]) and LATIN.search(table[key]), (name, key)
        assert set(table["columns"]) == set(columns), name
        for column, text in table["columns"].items():
            assert HAN.search(text) and LATIN.search(text), (name, column)
    assert set(served["tables"]["events"]["columns"]) == set(chain.COLUMNS)
    for name, columns in [*projections.TABLES.items(), *((name, c) for name, (c, _) in projections.VIEWS.items())]:
        assert list(served["tables"][name]["columns"]) == list(columns), "metadata.json lists columns in table order"


def test_internal_tables_are_hidden_and_the_others_shown(example_db):
    ds = Datasette([str(example_db)])
    listed = {t["name"]: t["hidden"] for t in get(ds, "/reviews.json").json()["tables"]}
    assert listed["_caselog_projection"] and listed["_sqlite_migrations"]
    assert not any(hidden for name, hidden in listed.items() if not name.startswith("_"))


def test_events_are_shown_newest_first_with_their_payload(example_db):
    ds = Datasette([str(example_db)])
    rows = get(ds, "/reviews/events.json?_shape=objects").json()["rows"]
    positions = [row["position"] for row in rows]
    assert positions == sorted(positions, reverse=True) and positions[0] == len(export(example_db))
    html = get(ds, "/reviews/events").text
    assert '<pre class="caselog-payload">' in html and "&#34;reason&#34;" in html


@pytest.mark.parametrize("table, facets", [
    ("appearance_units", {"year", "agency", "attendance"}),
    ("outcomes", {"year", "agency", "loss"}),
    ("yearly_figures", {"year", "level", "agency"}),
    ("events", set()),  # a million events cannot be grouped in a page's time; the log is read by case
])
def test_tables_open_with_useful_facets(example_db, table, facets):
    body = get(Datasette([str(example_db)]), f"/reviews/{table}.json").json()
    assert facets <= set(body["facet_results"]) and (facets or not body["facet_results"])


def test_metadata_only_goes_to_databases_with_caselogs_events_table(example_db, tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE events (id INTEGER, what TEXT)")
    conn.close()
    ds = Datasette([str(example_db), str(other)])
    assert meta.caselog_databases(ds) == ["reviews"]
    served = get(ds, "/-/metadata.json").json()["databases"]
    assert "other" not in served
    assert get(ds, "/other/rates_by_agency").status_code == 404
    assert get(ds, "/reviews/rates_by_agency").status_code == 200


def test_enum_values_show_their_chinese_label(example_db):
    html = get(Datasette([str(example_db)]), "/reviews/appearance_units?attendance=deputy").text
    assert '副职负责人 <span class="caselog-code">deputy</span>' in html


# --- canned queries -------------------------------------------------------------------------------


def test_every_canned_query_is_titled_described_parametrised_and_read_only():
    from datasette.utils import validate_sql_select

    assert set(queries.QUERIES) == {"rates_by_agency", "silent_heads", "recommendations_expected",
                                    "losses_and_reversals", "reconsideration_without_head", "case_trail", "corrections",
                                    "rates_by_level"}
    for name, q in queries.QUERIES.items():
        assert HAN.search(q["title"]) and LATIN.search(q["title"]), name
        assert HAN.search(q["description"]) and LATIN.search(q["description"]), name
        assert set(q["params"]) == set(re.findall(r":(\w+)", q["sql"])), name
        assert not q.get("write"), name
        validate_sql_select(q["sql"])
        if "year" in q["params"]:
            assert queries.YEAR in q["sql"], name


def test_rates_by_agency_equal_the_summary_worst_first(any_db):
    ds = Datasette([str(any_db)])
    for year in years_of(any_db):
        for level in figures.LEVEL_SCOPES:
            rows = query(ds, "rates_by_agency", year=year, level=level)
            expected = report.worst_first(summary_of(any_db, year=year, level=level)["by_agency"])
            assert [r["agency"] for r in rows] == [e["agency"] for e in expected], (year, level)
            for row, want in zip(rows, expected):
                assert row == {key: want[key] for key in ("agency", *figures.KEYS)}, (year, level, row["agency"])


def test_rates_by_agency_default_to_all_levels(example_db):
    ds = Datasette([str(example_db)])
    assert query(ds, "rates_by_agency", year=2022, level="") == query(ds, "rates_by_agency", year=2022, level="all")


@pytest.mark.parametrize("name, figure", [("silent_heads", "silent"),
                                          ("recommendations_expected", "recommendations_expected")])
def test_unit_queries_list_the_units_the_summary_counts(any_db, name, figure):
    ds = Datasette([str(any_db)])
    for year in years_of(any_db):
        for level in figures.LEVEL_SCOPES:
            s = summary_of(any_db, year=year, level=level)
            rows = query(ds, name, year=year, level=level, agency="")
            assert len(rows) == s[figure], (year, level)
            for agency in s["by_agency"]:
                listed = query(ds, name, year=year, level=level, agency=agency["agency"])
                assert len(listed) == agency[figure] and {r["agency"] for r in listed} <= {agency["agency"]}


def test_silent_heads_are_the_units_where_a_head_appeared_and_none_spoke(demo_db):
    """Checked against the log itself, not the projections the query reads: each case's effective
    hearings as the rules replay them, grouped into units (case, level) dated by their first hearing."""
    year = str(years_of(demo_db)[-2])
    silent = set()
    conn = opening.open_log(demo_db, create=False)
    try:
        for (case,) in conn.execute('SELECT DISTINCT "case" FROM events'):
            units: dict[str, list] = {}
            for _, _, event in rules.effective(writer.history(conn, case), check=False):
                if event.TYPE == "hearing_held":
                    units.setdefault(event.level, []).append(event)
            for level, hearings in units.items():
                heads = [h for h in hearings if h.attendance in ev.HEADS]
                if min(h.held_on for h in hearings)[:4] == year and heads and not any(h.spoke for h in heads):
                    silent.add((case, level))
    finally:
        conn.close()
    rows = query(Datasette([str(demo_db)]), "silent_heads", year=year, level="", agency="")
    assert silent and {(r["case"], r["level"]) for r in rows} == silent
    assert all(r["attendance"] in ev.HEADS for r in rows)


def test_losses_and_reversals_add_up_to_the_summary(any_db):
    ds = Datasette([str(any_db)])
    for year in years_of(any_db):
        s = summary_of(any_db, year=year)
        rows = query(ds, "losses_and_reversals", year=year, agency="")
        for column, figure in (("first_loss", "losses_first_instance"), ("reduced_on_appeal", "reduced_on_appeal"),
                               ("added_on_appeal", "added_on_appeal"), ("loss", "losses")):
            assert sum(r[column] for r in rows) == s[figure], (year, figure)
        for row in rows:
            if row["reduced_on_appeal"] or row["added_on_appeal"]:
                assert any(a["result"] == "reversed" for a in json.loads(row["appeals"])), row


def test_case_trail_is_the_audit_trail_of_the_case(example_db):
    ds = Datasette([str(example_db)])
    case = "(2020)浙0202行初23号"  # corrected twice in the example
    detail = audit.case_detail(opening.open_log(example_db, create=False), case)
    rows = query(ds, "case_trail", case=case.replace("(", "（").replace(")", "）"))
    assert [r["position"] for r in rows] == [t["position"] for t in detail["trail"]]
    for row, entry in zip(rows, detail["trail"]):
        assert json.loads(row["payload"]) == entry["payload"]
        naming = [f"{t['type']} {t['event_id']}" for t in detail["trail"] if t["payload"].get("target") == entry["event_id"]]
        assert (row["corrected_or_retracted_by"] or "").split("; ") == (naming or [""])
    assert any(row["corrected_or_retracted_by"] for row in rows)


def test_corrections_in_a_period_name_who_made_them(example_db):
    ds = Datasette([str(example_db)])
    conn = opening.open_log(example_db, create=False)
    for since, until, clerk in (("", "", ""), ("2026-08-02", "", ""), ("", "2026-08-02", ""),
                                ("2026-08-01T09:00:02Z", "2026-08-02T09:00:00Z", ""), ("", "", "clerk-c")):
        expected = [e for t in ("event_corrected", "event_retracted")
                    for e in audit.list_events(conn, type_=t, since=since or None, until=until or None, clerk=clerk or None)]
        rows = query(ds, "corrections", since=since, until=until, clerk=clerk)
        assert sorted(r["position"] for r in rows) == sorted(e["position"] for e in expected), (since, until, clerk)
        for row in rows:
            assert row["reason"] and row["recorded_by"] and row["target_type"]
    assert len(query(ds, "corrections", since="", until="", clerk="")) == 9


# --- the dashboard --------------------------------------------------------------------------------


def _figure_cells(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-figure="(\w+)"><th scope="row">.*?</th>\s*<td>(?:<a href="[^"]*">)?(.*?)(?:</a>)?</td>',
                           html, re.S))


def _formatted(key: str, value) -> str:
    if value is None:
        return "—"
    return report.pct(value) if key in figures.RATES else str(value)


def test_dashboard_shows_the_latest_years_figures_charts_and_agencies(any_db):
    ds = Datasette([str(any_db)])
    response = get(ds, "/-/caselog/dashboard")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    conn = opening.open_log(any_db, create=False)
    year = summaries.latest_complete_year(conn)
    conn.close()
    s = summary_of(any_db, year=year)
    assert '<meta charset="utf-8">' in html and f'<option value="{year}" selected>' in html
    cells = _figure_cells(html)
    assert cells == {key: _formatted(key, s[key]) for key in dashboard.FIGURE_ROWS}
    previous = summary_of(any_db, year=year - 1)
    assert f"<td>{_formatted('loss_rate', previous['loss_rate'])}</td>" in html
    assert f"{s['appearance_rate_change_pp']:+.2f} 个百分点" in html
    assert report.paragraph(s, "zh") in html
    agencies = re.findall(r'<tr><th scope="row"><a href="[^"]*">(.*?)</a></th>', html)
    assert agencies == [r["agency"] for r in report.worst_first(s["by_agency"])]
    # Three charts over the years, and one of each grouping of the agency registry (the demo has one).
    assert html.count('class="caselog-chart"') == 3 + len(dashboard.group_sections(s))
    assert "<polyline" in html and "<rect" in html and "<circle" in html


def test_dashboard_for_an_agency_a_year_and_first_instance(demo_db):
    ds = Datasette([str(demo_db)])
    year = years_of(demo_db)[-2]
    agency = summary_of(demo_db, year=year)["by_agency"][0]["agency"]
    html = get(ds, f"/-/caselog/dashboard?year={year}&level=first&agency={agency}").text
    s = summary_of(demo_db, year=year, level="first", agency=agency)
    assert _figure_cells(html) == {key: _formatted(key, s[key]) for key in dashboard.FIGURE_ROWS}
    assert f'<option value="{agency}" selected>' in html and '<option value="first" selected>' in html


def test_dashboard_loads_nothing_from_the_internet(example_db):
    ds = Datasette([str(example_db)])
    html = get(ds, "/-/caselog/dashboard").text
    tags = re.findall(r"<(?:script|link|img|iframe|object|embed|source)\b[^>]*>", html)
    assert tags and not [t for t in tags if re.search(r'(?:src|href)="(?:https?:)?//', t)]
    assert "@import" not in html and "url(" not in html
    css = get(ds, "/-/static-plugins/caselog/caselog.css")
    assert css.status_code == 200 and "http" not in css.text and "url(" not in css.text


@pytest.mark.parametrize("args, status", [("?year=twenty", 400), ("?level=second", 400), ("?agency=无此单位", 400),
                                          ("?year=0001", 400), ("?year=1989", 400), ("?year=9999", 400),
                                          ("?database=nope", 404)])
def test_dashboard_refuses_bad_parameters(example_db, args, status):
    response = get(Datasette([str(example_db)]), "/-/caselog/dashboard" + args)
    assert response.status_code == status


def test_dashboard_escapes_agency_names_and_handles_an_empty_log(tmp_path):
    path = tmp_path / "caselog.db"
    conn = opening.open_log(path)
    ds = Datasette([str(path)])
    assert "No yearly figures yet" in get(ds, "/-/caselog/dashboard").text
    writer.append(conn, [interchange.proposed_from_json(
        {"type": "case_filed", "case": "(2022)浙0302行初1号", "filed_on": "2022-03-01", "court": "某法院",
         "agency": "<b>局</b>", "cause": "行政处罚"}, "test")])
    html = get(ds, "/-/caselog/dashboard").text
    assert "&lt;b&gt;局&lt;/b&gt;" in html and "<b>局</b>" not in html


def test_menu_and_database_page_link_to_the_dashboard(example_db):
    ds = Datasette([str(example_db)])
    index, database = fetch(ds, "/", "/reviews")
    assert 'href="/-/caselog/dashboard"' in index.text
    assert 'href="/-/caselog/dashboard"' in database.text


def test_dashboard_reads_the_log_live(example_db, tmp_path):
    path = tmp_path / "live.db"
    opening.open_log(example_db, create=False).backup(sqlite3.connect(path))
    ds = serve.app(path)
    before = get(ds, "/-/caselog/dashboard").text
    conn = opening.open_log(path, create=False)
    [recorded] = writer.append(conn, [interchange.proposed_from_json(
        {"type": "case_filed", "case": "(2025)浙0302行初999号", "filed_on": "2025-12-01", "court": "某法院",
         "agency": "新机关", "cause": "行政许可"}, "test")])
    after = get(ds, "/-/caselog/dashboard?year=2025").text
    assert f"log head {recorded.position}:" in after and f"log head {recorded.position}:" not in before
    assert '<option value="新机关"' in after


# --- the charts -----------------------------------------------------------------------------------


def test_rate_chart_leaves_a_gap_for_a_missing_rate_and_escapes_text():
    svg = charts.rate_chart("<出庭> & rate", ["2020", "2021", "2022", "2023"], [0.5, None, 0.75, 1.0])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "&lt;出庭&gt; &amp; rate" in svg and "<出庭>" not in svg
    assert svg.count("<circle") == 3 and svg.count("<polyline") == 1  # 2022-2023 only: no line across the gap


def test_stacked_chart_draws_one_segment_per_nonzero_count():
    svg = charts.stacked_chart("split", ["2021", "2022"], [("a", [1, 0]), ("b", [2, 3])])
    assert svg.count("<rect") == 3 + 2  # three segments, two legend keys
    assert ">3</text>" in svg


# --- nothing can be changed, nothing outside the file reached ------------------------------------


def _state(path: Path) -> tuple:
    conn = opening.open_log(path, create=False)
    try:
        return list(interchange.export(conn)), rows_of_projections(conn)
    finally:
        conn.close()


WRITES = [
    "DELETE FROM events",
    "UPDATE yearly_figures SET filed = 0",
    "WITH x AS (SELECT 1) DELETE FROM cases",
    "WITH x AS (SELECT 1) INSERT INTO outcomes (\"case\") VALUES ('x')",
    "WITH x AS (SELECT 1) UPDATE yearly_figures SET loss_rate = 0",
    "DROP TABLE events",
]


def test_reviewers_cannot_change_the_log(example_db, tmp_path):
    path = tmp_path / "served.db"
    opening.open_log(example_db, create=False).backup(sqlite3.connect(path))
    before = _state(path)
    for ds in (serve.app(path), Datasette([str(path)])):
        name = ds_name(ds)
        for sql in WRITES:
            response = get(ds, f"/{name}.json?sql={sql}")
            assert response.status_code == 400 and not response.json()["ok"], sql
        posts = [f"/{name}/{q}" for q in queries.QUERIES] + [
            f"/{name}/events", f"/{name}/events/1", f"/{name}", f"/{name}.json", "/-/caselog/dashboard"]
        form = {"sql": WRITES[0], "year": "2022", "case": "(2022)浙0302行初1号"}
        for response in fetch(ds, *posts, method="POST", data=form):
            assert response.status_code in (403, 405), response.request.url  # no CSRF token
        # With a valid CSRF token (any form page hands one out) a POST passes Datasette's check...
        token = re.search(r'name="csrftoken" value="([^"]+)"', (page := get(ds, "/-/messages")).text).group(1)
        for response in fetch(ds, *posts, method="POST", data={**form, "csrftoken": token},
                              cookies={"ds_csrftoken": page.cookies["ds_csrftoken"]}):
            assert response.status_code == 405, response.request.url  # ...and is refused all the same
    assert _state(path) == before


def test_attach_and_file_functions_are_refused(example_db, tmp_path):
    outside = tmp_path / "outside.db"
    sqlite3.connect(outside).execute("CREATE TABLE secret (x)")
    ds = serve.app(example_db)
    name = ds_name(ds)
    for sql in (f"ATTACH DATABASE '{outside}' AS o", f"select load_extension('{outside}')",
                "select readfile('/etc/passwd')", "select writefile('/tmp/x', 'y')"):
        response = get(ds, f"/{name}.json?sql={sql}")
        assert response.status_code == 400 and not response.json()["ok"], sql

    def try_directly(conn):
        # As if Datasette's SELECT-only check were bypassed: the authorizer still refuses.
        refused = []
        for sql in (f"ATTACH DATABASE '{outside}' AS o", "CREATE TEMP TABLE t (x)", "DELETE FROM events",
                    "select load_extension('x')"):
            try:
                conn.execute(sql)
            except sqlite3.DatabaseError as error:
                refused.append("not authorized" in str(error))
        return refused

    assert asyncio.run(ds.get_database(name).execute_fn(try_directly)) == [True] * 4


def test_the_authorizer_lets_reads_through_and_stops_attach():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    guard.protect(conn)
    assert conn.execute("WITH r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT count(*) FROM r, t").fetchone() == (0,)
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        conn.execute("ATTACH DATABASE ':memory:' AS other")


def test_serve_settings_keep_the_file_live_and_closed_to_download(example_db):
    ds = serve.app(example_db)
    assert ds.setting("sql_time_limit_ms") == 3000 and ds.setting("allow_download") is False
    assert limits.sql_at_once(ds) == ds.setting("num_sql_threads") - 1, "one thread is always left for pages"
    assert ds.get_database(ds_name(ds)).is_mutable
    assert get(ds, f"/{ds_name(ds)}.db").status_code in (403, 404)


def test_clerk_commands_do_not_import_datasette(example_db):
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from cli import cli\n"
        "for args in (['--help'], ['--db', sys.argv[1], 'head'], ['--db', sys.argv[1], 'summary', '--year', '2022']):\n"
        "    assert CliRunner().invoke(cli, args).exit_code == 0, args\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('datasette', 'uvicorn')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(example_db)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the demo -------------------------------------------------------------------------------------


def test_demo_prints_the_latest_complete_year_and_the_next_steps(tmp_path, demo_db):
    from cli import cli

    path = tmp_path / "db" / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(path)])
    assert result.exit_code == 0, result.output
    conn = opening.open_log(path, create=False)
    year = summaries.latest_complete_year(conn)
    assert year == years_of(path)[-1] or year == years_of(path)[-2]
    assert result.stdout == report.render(summaries.summary(conn, year=year), "text", "zh")
    assert f"caselog serve --db {path}" in result.stderr and "/-/caselog/dashboard" in result.stderr
    audit.verify(conn)
    conn.close()
    # The same city; each run draws new salts, so the payloads' hashes and the chain differ.
    random = ("salts", "payload_sha256", "hash")
    assert ([{k: v for k, v in e.items() if k not in random} for e in export(path)]
            == [{k: v for k, v in e.items() if k not in random} for e in export(demo_db)]), "the demo is the same city every run"
    assert CliRunner().invoke(cli, ["demo", "--db", str(path)]).exit_code == 0, "an earlier demo is replaced"


def test_demo_never_replaces_a_log_it_did_not_build(example_db, tmp_path):
    from cli import cli

    path = tmp_path / "caselog.db"
    opening.open_log(example_db, create=False).backup(sqlite3.connect(path))
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["demo", "--db", str(path)])
    assert result.exit_code == 1 and "not built by `caselog demo`" in result.stderr
    assert path.read_bytes() == before


# --- the server stays up, and answers plainly ------------------------------------------------------

HEAVY = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"


@pytest.mark.parametrize("sql", [
    "select length(randomblob(1000000000))",
    "select length(replace(hex(zeroblob(1000000)), '00', 'xxxxxxxxxx'))",
])
def test_no_query_can_make_a_huge_value(example_db, sql):
    """One randomblob(1000000000) ran past the time limit; four took the server to 3.3 GB."""
    ds = serve.app(example_db)
    started = time.monotonic()
    response = get(ds, "/reviews.json?" + urlencode({"sql": sql}))
    assert time.monotonic() - started < 1
    assert response.status_code == 400 and "too big" in response.json()["error"]


def test_pages_stay_fast_while_reviewers_run_heavy_queries(example_db):
    """Twelve slow queries queued every page for 12 s: past two at once, reviewers' SQL is turned away."""
    ds = serve.app(example_db)
    pages = ("/", "/reviews/cases", "/-/caselog/dashboard", "/reviews")

    async def timed(path: str):
        started = time.monotonic()
        response = await ds.client.get(path)
        return response, time.monotonic() - started

    async def run():
        heavy = [asyncio.create_task(timed("/reviews.json?" + urlencode({"sql": HEAVY}))) for _ in range(6)]
        await asyncio.sleep(0.3)  # the heavy queries are running, or waiting for a thread
        meanwhile = [await timed(path) for path in pages]
        return meanwhile, await asyncio.gather(*heavy)

    meanwhile, heavy = asyncio.run(run())
    for path, (response, seconds) in zip(pages, meanwhile):
        assert response.status_code == 200 and seconds < 2, (path, response.status_code, seconds)
    statuses = sorted(response.status_code for response, _ in heavy)
    assert statuses == [400] * 2 + [503] * 4  # two ran into the time limit, four were told to come back
    for response, seconds in heavy:
        if response.status_code == 503:
            assert seconds < 1 and response.headers["retry-after"] and "try again" in response.text
        else:
            assert "took too long" in response.json()["error"]


@pytest.mark.parametrize("path, runs_sql", [
    ("/reviews?sql=select+1", True), ("/reviews.json?sql=select+1", True), ("/reviews.csv?sql=select+1", True),
    ("/reviews/rates_by_agency", True), ("/reviews/case_trail.json?case=x", True),
    ("/reviews/events?_where=1", True),
    ("/reviews/events", False), ("/reviews/events.json?type=case_filed", False), ("/reviews/events/1", False),
    ("/reviews", False), ("/", False), ("/-/caselog/dashboard", False), ("/-/metadata.json", False),
])
def test_what_counts_as_a_reviewers_own_sql(example_db, path, runs_sql):
    ds = Datasette([str(example_db)])
    route, _, query_string = path.partition("?")
    scope = {"type": "http", "path": route, "query_string": query_string.encode()}
    assert limits.runs_reviewers_sql(ds, "reviews", scope) is runs_sql


def test_a_log_filed_in_year_one_does_not_make_the_dashboard_summarise_two_thousand_years(tmp_path, monkeypatch):
    """One case filed on 0001-01-01 made the dashboard list 2,027 years and take 1.4 s a request."""
    path = tmp_path / "caselog.db"
    conn = opening.open_log(path)
    with open(EXAMPLE_LOG, "rb") as lines:
        writer.append(conn, interchange.read_jsonl(lines, "test"))
    with monkeypatch.context() as earlier:  # a log written before such dates were refused at entry
        earlier.setattr(ev, "EARLIEST_DATE", "0001-01-01")
        writer.append(conn, [interchange.proposed_from_json(
            {"type": "case_filed", "case": "(2022)浙0302行初9999号", "filed_on": "0001-01-01", "court": "某法院",
             "agency": "某局", "cause": "行政处罚"}, "test")])
    conn.close()
    assert years_of(path)[0] == 1
    summarised = []
    summary = summaries.summary

    def counted(conn, **kwargs):
        summarised.append(kwargs["year"])
        return summary(conn, **kwargs)

    monkeypatch.setattr(dashboard.summaries, "summary", counted)
    response = get(Datasette([str(path)]), "/-/caselog/dashboard")
    assert response.status_code == 200
    shown = sorted(int(y) for y in re.findall(r'<option value="(\d{4})"', response.text))
    real = [y for y in years_of(path) if y >= dashboard.FIRST_YEAR]
    assert shown == list(range(real[0], real[-1] + 1))
    assert summarised == [real[-1]]  # one summary, of the year shown; the charts read the yearly table


@pytest.mark.parametrize("form", [
    {"data": {"message": "hi", "message_type": "bogus"}},
    {"content": b"message=\xff\xfe", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    {"data": {"message": "hi", "csrftoken": "garbage"}},
])
def test_posting_a_message_is_refused_plainly(example_db, form):
    """A bad message type or a body that is not UTF-8 made Datasette's /-/messages answer 500 with a traceback."""
    for ds in (serve.app(example_db), Datasette([str(example_db)])):
        [response] = fetch(ds, "/-/messages", method="POST", **form)
        assert response.status_code == 405 and "Traceback" not in response.text
    assert get(ds, "/-/messages").status_code == 200


def test_every_response_forbids_sniffing_its_type(example_db):
    ds = serve.app(example_db)
    responses = fetch(ds, "/", "/reviews/events", "/-/caselog/dashboard", "/-/caselog/dashboard?year=twenty",
                      "/nope", "/reviews.json?sql=select+nonsense", "/reviews?sql=select+nonsense")
    responses += fetch(ds, "/reviews/events", "/-/messages", method="POST")
    assert sorted({r.status_code for r in responses}) == [200, 400, 404, 405]
    for response in responses:
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], response.request.url


def test_a_log_whose_name_holds_a_hash_is_recognised_protected_and_creates_no_file(tmp_path):
    """The plugin opens logs through the one read-only opener, with a quoted URI: 'a#b.db' read as a
    URI would be the file 'a' with a fragment, created empty and not recognised as caselog's."""
    path = tmp_path / "a#b.db"
    conn = opening.open_log(path)
    with open(EXAMPLE_LOG, "rb") as lines:
        writer.append(conn, interchange.read_jsonl(lines, "test"))
    conn.close()
    ds = Datasette([str(path)])
    served = get(ds, "/-/metadata.json").json()["databases"]
    assert HAN.search(served["a#b"]["title"])
    [loaded] = fetch(ds, ds.urls.database("a#b") + ".json?sql=select+load_extension('x')", follow_redirects=True)
    assert loaded.status_code >= 400 and "not authorized" in loaded.text  # the SQL authorizer is on
    [counted] = fetch(ds, ds.urls.database("a#b") + ".json?sql=select+count(*)+from+events&_shape=array",
                      follow_redirects=True)
    with contextlib.closing(database.read_only(path)) as log:
        logged = log.execute("SELECT count(*) FROM events").fetchone()[0]
    assert counted.json() == [{"count(*)": logged}] and logged > 300  # the log, not an empty 'a'
    assert not (tmp_path / "a").exists()
