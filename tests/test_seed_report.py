"""A fixture city whose 2022 summary reproduces the standing committee's report in shared/seed."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from caselog import interchange, opening, report, summary, synthetic, writer

# Published in the seed report: "出庭应诉率99.5%,较2021年同期提高5.27个百分点";
# "败诉15件(经二审核减1件),败诉率4.9%,连续三年实现…双下降"; deputies mostly attend.


@pytest.fixture(scope="module")
def seed_2022(tmp_path_factory) -> dict:
    conn = opening.open_log(tmp_path_factory.mktemp("seed") / "seed.db")
    lines = [json.dumps(e, ensure_ascii=False).encode() for e in synthetic.seed_city(dt.date(2026, 11, 1))]
    writer.append(conn, interchange.read_jsonl(lines, "tester"))
    return summary.summary(conn, year=2022)


def test_the_seed_reports_figures(seed_2022):
    s = seed_2022
    assert round(s["appearance_rate"] * 100, 1) == 99.5
    assert round(s["appearance_rate_change_pp"], 2) == 5.27
    assert (s["losses"], s["reduced_on_appeal"], s["losses_first_instance"]) == (15, 1, 16)
    assert round(s["loss_rate"] * 100, 1) == 4.9
    assert s["double_decline_streak"] == 3
    assert s["deputy"] > s["principal"] and s["deputy"] > s["other_head"]
    assert s["silent"] > 0 and s["staff"] > 0


def test_the_paragraph_reads_like_the_seed_report(seed_2022):
    text = report.paragraph(seed_2022)
    assert "全市行政诉讼案件出庭应诉率99.5%,较2021年同期提高5.27个百分点" in text
    assert "判决行政机关败诉15件(经二审核减1件),败诉率4.9%" in text
    assert "连续三年实现行政诉讼发案量和败诉率“双下降”" in text
    assert "以副职出庭为主" in text
