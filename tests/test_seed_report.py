"""A fixture city whose 2022 summary reproduces the standing committee's report in shared/seed."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from caselog import interchange, opening, report, summary, writer
from seed_city import SEED_CITY_2022, seed_city

# Published in the seed report: "出庭应诉率99.5%,较2021年同期提高5.27个百分点";
# "败诉15件(经二审核减1件),败诉率4.9%,连续三年实现…双下降"; deputies mostly attend.


@pytest.fixture(scope="module")
def seed_log(tmp_path_factory) -> sqlite3.Connection:
    conn = opening.open_log(tmp_path_factory.mktemp("seed") / "seed.db")
    lines = [json.dumps(e, ensure_ascii=False).encode() for e in seed_city(dt.date(2026, 11, 1))]
    writer.append(conn, interchange.read_jsonl(lines, "tester"))
    return conn


@pytest.fixture(scope="module")
def seed_2022(seed_log) -> dict:
    return summary.summary(seed_log, year=2022)


@pytest.mark.parametrize("year", sorted(SEED_CITY_2022))
def test_every_year_gives_the_figures_worked_out_by_hand(seed_log, year):
    """The answer key was computed from the rows, not from caselog; rates are compared as fractions."""
    expected = SEED_CITY_2022[year]
    s = summary.summary(seed_log, year=year)
    assert {key: s[key] for key in expected} == pytest.approx(expected)


def test_the_answer_key_is_the_seed_reports():
    """The figures the city was built for are the seed report's (seed/000_f710ed17ccad33b0.txt)."""
    figures = SEED_CITY_2022[2022]
    assert figures["appearance_rate"] == 0.995
    assert round(figures["appearance_rate_change_pp"], 2) == 5.27
    assert (figures["losses"], figures["reduced_on_appeal"]) == (15, 1)
    assert round(figures["loss_rate"] * 100, 1) == 4.9
    assert figures["double_decline_streak"] == 3
    assert figures["deputy"] > max(figures["principal"], figures["other_head"])


def test_seed_city_needs_its_whole_story():
    with pytest.raises(ValueError, match="2023-09-01"):
        seed_city(today=dt.date(2023, 6, 1))


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
