"""`caselog serve` passes Datasette's own settings through and serves under a base URL behind a proxy."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from caselog.reviewer import serve
from cli import cli
from test_reviewer import fetch


def test_settings_and_the_base_url_reach_datasette(example_db, monkeypatch):
    started = []
    monkeypatch.setattr(serve, "run", lambda path, host, port, people, chosen: started.append(chosen))
    result = CliRunner().invoke(cli, ["serve", "--db", str(example_db), "--setting", "max_returned_rows", "50",
                                      "--setting", "suggest_facets", "off", "--base-url", "caselog"])
    assert result.exit_code == 0, result.output
    [chosen] = started
    assert chosen["max_returned_rows"] == 50 and chosen["suggest_facets"] is False
    assert chosen["base_url"] == "/caselog/" and chosen["sql_time_limit_ms"] == serve.SETTINGS["sql_time_limit_ms"]
    assert "http://127.0.0.1:8001/caselog/-/caselog/dashboard" in result.output


@pytest.mark.parametrize("args, message", [
    (["--setting", "no_such", "1"], "unknown Datasette setting 'no_such'"),
    (["--setting", "max_returned_rows", "many"], "setting max_returned_rows is a whole number"),
    (["--setting", "allow_facet", "maybe"], "setting allow_facet is on or off"),
])
def test_a_bad_setting_is_one_line_and_exit_one(example_db, args, message):
    result = CliRunner().invoke(cli, ["serve", "--db", str(example_db), *args])
    assert result.exit_code == 1 and message in result.output and len(result.output.strip().splitlines()) == 1


def test_behind_a_proxy_at_a_path_every_link_keeps_the_path(example_db):
    ds = serve.app(example_db, chosen=serve.settings(base_url="/caselog/"))
    # ds.client adds the base URL, as the proxy forwards /caselog/... unchanged.
    dashboard, index = fetch(ds, "/-/caselog/dashboard", "/")
    assert dashboard.status_code == 200 and index.status_code == 200
    links = re.findall(r'href="(/[^"]*)"', dashboard.text + index.text)
    assert links and all(link.startswith("/caselog/") for link in links), [l for l in links if not l.startswith("/caselog/")]
    drill = re.search(r'<tr data-figure="silent">.*?<a href="/caselog(/[^"]*)"', dashboard.text, re.S).group(1)
    assert fetch(ds, drill.replace("&amp;", "&"))[0].status_code == 200
