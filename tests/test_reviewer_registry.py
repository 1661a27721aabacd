"""The agency registry in Datasette: its tables with facets, agency columns linking to it, the canned
query of a year's rates by level, the dashboard's sections by level and region, and agency parameters
compared as names are stored."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from datasette.app import Datasette

from caselog import opening
from caselog import summary as summaries
from caselog.reviewer import dashboard
from cli import cli


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "reviews.db"
    assert CliRunner().invoke(cli, ["demo", "--db", str(path)]).exit_code == 0
    return path


def get(ds: Datasette, path: str):
    return asyncio.run(ds.client.get(path))


def summary_of(path, **kw) -> dict:
    conn = opening.open_log(path, create=False)
    try:
        return summaries.summary(conn, **kw)
    finally:
        conn.close()


def test_the_registry_is_a_table_with_facets_by_level_and_region(demo_db):
    body = get(Datasette([str(demo_db)]), "/reviews/agencies.json?_shape=objects").json()
    assert {"agency_level", "region"} <= set(body["facet_results"])
    levels = {row["agency_level"] for row in body["rows"]}
    assert {"city_gov", "city_dept", "county_gov", "county_dept", "township"} == levels


def test_agency_columns_link_to_what_the_registry_says(demo_db):
    html = get(Datasette([str(demo_db)]), "/reviews/defendants?agency=市公安局").text
    assert '<a href="/reviews/agency_names?name=%E5%B8%82%E5%85%AC%E5%AE%89%E5%B1%80">市公安局</a>' in html
    names = get(Datasette([str(demo_db)]), "/reviews/agency_names.json?name=市国土资源局&_shape=objects").json()
    assert [(r["agency"], r["kind"]) for r in names["rows"]] == [("市自然资源和规划局", "former")]


def test_the_canned_query_gives_a_years_rates_by_level_as_the_summary_does(demo_db):
    s = summary_of(demo_db, year=2022)
    rows = get(Datasette([str(demo_db)]), "/reviews/rates_by_level.json?year=2022&_shape=objects").json()["rows"]
    assert [r["agency_level"] for r in rows] == [r["agency_level"] for r in s["by_agency_level"]]
    for row, want in zip(rows, s["by_agency_level"]):
        assert (row["filed"], row["appearance_rate"], row["speaking_rate"], row["loss_rate"]) == (
            want["filed"], want["appearance_rate"], want["speaking_rate"], want["loss_rate"])
    agencies = get(Datasette([str(demo_db)]), "/reviews/rates_by_agency.json?year=2022&_shape=objects").json()["rows"]
    assert sorted(r["agency"] for r in agencies) == sorted(r["agency"] for r in s["by_agency"])


def test_a_canned_querys_agency_is_compared_as_names_are_stored(demo_db):
    ds = Datasette([str(demo_db)])
    exact, spaced = (get(ds, "/reviews/silent_heads.json?" + urlencode({"year": 2022, "agency": name, "_shape": "objects"}))
                     .json()["rows"] for name in ("市公安局", " 市 公安局\u3000"))
    assert exact and spaced == exact


def test_the_dashboard_shows_rates_by_level_and_region_and_takes_a_spaced_or_former_name(demo_db):
    ds = Datasette([str(demo_db)])
    html = get(ds, "/-/caselog/dashboard?year=2022").text
    assert "按被告级别 · By the defendant" in html and "按区县 · By region" in html
    assert "乡镇(街道)" in html and "临江市" in html
    sections = dashboard.group_sections(summary_of(demo_db, year=2022))
    assert [len(section["rows"]) for section in sections] == [5, 4]
    former = get(ds, "/-/caselog/dashboard?" + urlencode({"year": 2022, "agency": "市 国土资源局"}))
    assert former.status_code == 200 and "市自然资源和规划局 2022" in former.text
