"""The written report: `caselog report` as HTML for A4 and as Word, and the dashboard's route to it.

What it says is checked against ``caselog.summary.summary`` on the same file.
"""

from __future__ import annotations

import re

import docx
import pytest
from click.testing import CliRunner
from datasette.app import Datasette

from caselog import opening, report
from caselog import summary as summaries
from caselog.reviewer import written
from cli import cli
from test_reviewer import get, summary_of


def _latest(path) -> int:
    conn = opening.open_log(path, create=False)
    try:
        return summaries.latest_complete_year(conn)
    finally:
        conn.close()


def test_the_html_report_is_self_contained_and_says_what_the_summary_says(demo_db, tmp_path):
    year = _latest(demo_db)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["--db", str(demo_db), "report", "--year", str(year), "--output", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    s = summary_of(demo_db, year=year)
    assert "<h1>全市行政诉讼出庭应诉与败诉情况报告</h1>" in html and "@page { size: A4;" in html
    assert "Noto Serif CJK SC" in html and "SimHei" in html
    assert report.paragraph(s, "zh") in html
    for key in ("appearance_rate", "speaking_rate", "loss_rate"):
        change = f"{s[f'{key}_change_pp']:+.2f} 个百分点"
        assert f"<td>{report.pct(s[key])}</td><td>{report.pct(s[f'{key}_prev'])}</td><td>{change}</td>" in html, key
    agencies = re.findall(r'<tr><th scope="row">([^<]*)</th><td>', html.split("四、各单位情况")[1])
    assert agencies == [r["agency"] for r in report.worst_first(s["by_agency"])]
    assert html.count("<svg") == 3 and "<script" not in html and "<link" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert f'<section id="{written.PROVENANCE_ID}">' in html and f"{s['head']['position']}:{s['head']['hash']}" in html


def test_the_word_report_has_the_same_sections(demo_db, tmp_path):
    year = _latest(demo_db)
    out = tmp_path / "report.docx"
    result = CliRunner().invoke(cli, ["--db", str(demo_db), "report", "--format", "docx", "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = docx.Document(str(out))
    s = summary_of(demo_db, year=year)
    text = [p.text for p in document.paragraphs]
    assert "全市行政诉讼出庭应诉与败诉情况报告" in text and report.paragraph(s, "zh") in text
    assert any(s["head"]["hash"] in t for t in text)
    figures_table, series_table, agency_table = document.tables
    assert [c.text for c in figures_table.rows[0].cells] == ["指标", f"{year}年", f"{year - 1}年", "变化"]
    assert [row.cells[0].text for row in agency_table.rows[1:]] == [r["agency"] for r in report.worst_first(s["by_agency"])]
    assert round(document.sections[0].page_width.mm) == 210 and round(document.sections[0].page_height.mm) == 297


def test_the_report_defaults_to_the_latest_complete_year(demo_db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--db", str(demo_db), "report"])
    year = _latest(demo_db)
    assert result.exit_code == 0 and f"wrote the {year}年 report to caselog-report-{year}.html" in result.output
    assert (tmp_path / f"caselog-report-{year}.html").exists()


@pytest.mark.parametrize("args, message", [
    (["--year", "1995"], "nothing was filed, heard or concluded in 1995"),
    (["--agency", "无此单位"], "no case of agency '无此单位'"),
    (["--format", "pdf"], "Invalid value for '--format'"),
])
def test_a_report_that_cannot_be_written_is_refused_in_one_line(example_db, tmp_path, args, message):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["--db", str(example_db), "report", *args, "-o", str(out)])
    assert result.exit_code in (1, 2) and message in result.output and not out.exists()


def test_the_dashboard_serves_the_report_as_html_and_word(demo_db):
    ds = Datasette([str(demo_db)])
    year = _latest(demo_db)
    page = get(ds, f"/-/caselog/report?year={year}")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert report.paragraph(summary_of(demo_db, year=year), "zh") in page.text
    word = get(ds, f"/-/caselog/report?year={year}&format=docx")
    assert word.status_code == 200 and word.content[:2] == b"PK"
    assert f'filename="caselog-report-{year}.docx"' in word.headers["content-disposition"]
    assert get(ds, "/-/caselog/report?format=pdf").status_code == 400
    assert get(ds, "/-/caselog/report?year=1995").status_code == 400
