"""Every figure of docs/domain.md against hand-computed fixtures and the shared example city."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import math
from pathlib import Path

import pytest

from builders import LogBuilder
from caselog import audit, chain, figures, interchange, opening, projections, summary, writer

EXAMPLES = Path(__file__).resolve().parent / "fixtures"  # copies of shared/examples


def close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_figures(got: dict, want: dict, where: str = "") -> None:
    for key, value in want.items():
        if key == "by_agency":
            continue
        assert close(got[key], value), f"{where} {key}: got {got[key]!r}, want {value!r}"


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("city") / "city.db"
    conn = opening.open_log(path)
    with open(EXAMPLES / "small-city.jsonl", "rb") as fh:
        writer.append(conn, interchange.read_jsonl(fh, "tester"))
    return conn


@pytest.mark.parametrize("key", json.loads((EXAMPLES / "small-city-summaries.json").read_text()).keys())
def test_small_city_reproduces_the_published_summaries(small_city, key):
    """summary --year Y [--level first] [--as-of T] equals the shared example, city and every agency."""
    want = json.loads((EXAMPLES / "small-city-summaries.json").read_text())[key]
    args = key.split()
    options = dict(zip(args[1::2], args[2::2]))
    got = summary.summary(small_city, year=int(args[0]), level=options.get("--level", "all"),
                          as_of=options.get("--as-of"))
    assert got["as_of"] == want["as_of"]
    assert_figures(got, want, key)
    assert [a["agency"] for a in got["by_agency"]] == [a["agency"] for a in want["by_agency"]]
    for mine, theirs in zip(got["by_agency"], want["by_agency"]):
        assert_figures(mine, theirs, f"{key} {theirs['agency']}")


def test_materialized_yearly_figures_equal_the_summary(small_city):
    """The yearly_figures table (what Datasette shows) holds exactly what summary() computes."""
    for year, level, agency in small_city.execute("SELECT year, level, agency FROM yearly_figures").fetchall():
        row = small_city.execute(
            "SELECT * FROM yearly_figures WHERE year = ? AND level = ? AND agency = ?", (year, level, agency)
        ).fetchone()
        stored = dict(zip(projections.TABLES["yearly_figures"], row))
        computed = summary.summary(small_city, year=year, level=level, agency=agency or None)
        assert_figures(computed, {k: stored[k] for k in figures.KEYS}, f"{year} {level} {agency!r}")


@pytest.fixture
def log(tmp_path) -> LogBuilder:
    return LogBuilder(tmp_path / "t.db")


def test_zero_denominators_are_null_not_zero(log):
    """A year with a filing but no hearing and no conclusion has null rates."""
    log.file(2021)
    s = log.summary(2021)
    assert (s["filed"], s["heard"], s["concluded"]) == (1, 0, 0)
    for rate in figures.RATES:
        assert s[rate] is None, rate
    assert s["filed_change_pct"] is None and s["appearance_rate_change_pp"] is None
    assert s["double_decline_streak"] == 0


def test_filed_in_one_year_heard_in_the_next(log):
    case = log.file(2021, filed_on="2021-12-20")
    log.hearing(case, "2022-01-05", "deputy", spoke=False)
    assert (log.summary(2021)["filed"], log.summary(2021)["heard"]) == (1, 0)
    s = log.summary(2022)
    assert (s["filed"], s["heard"], s["head_appeared"], s["deputy"], s["silent"]) == (0, 1, 1, 1, 1)
    assert s["filed_prev"] == 1 and s["filed_change_pct"] == -100.0


def test_one_unit_takes_the_highest_attendance_and_the_year_of_its_first_hearing(log):
    """Three first-instance hearings are one unit: staff, then principal (silent), then deputy (spoke)."""
    case = log.file(2021, filed_on="2021-11-01")
    log.hearing(case, "2021-12-01", "staff")
    log.hearing(case, "2022-02-01", "principal", spoke=False)
    log.hearing(case, "2022-03-01", "deputy", spoke=True)
    s21, s22 = log.summary(2021), log.summary(2022)
    assert (s21["heard"], s21["principal"], s21["spoke"], s21["appearance_rate"]) == (1, 1, 1, 1.0)
    assert s22["heard"] == 0
    assert s21["staff"] == 0 and s21["recommendations_expected"] == 0


def test_levels_are_separate_units_and_level_first_restricts_appearance_only(log):
    case = log.file(2022, filed_on="2022-01-10")
    log.hearing(case, "2022-02-01", "principal", spoke=True)
    log.add("case_concluded", case, decided_on="2022-03-01", disposition="revoked")
    log.add("appeal_filed", case, filed_on="2022-03-10", appeal_case="(2022)浙03行终1号", appellant="agency")
    log.hearing(case, "2022-04-01", "lawyer_only", level="second")
    both, first = log.summary(2022), log.summary(2022, level="first")
    assert (both["heard"], both["head_appeared"], both["lawyer_only"], both["recommendations_expected"]) == (2, 1, 1, 1)
    assert both["appearance_rate"] == 0.5
    assert (first["heard"], first["head_appeared"], first["lawyer_only"]) == (1, 1, 0)
    assert first["concluded"] == both["concluded"] == 1 and first["losses"] == both["losses"] == 1


def test_staff_with_an_excuse_expects_no_recommendation(log):
    excused, unexcused = log.file(2022), log.file(2022)
    log.hearing(excused, "2022-02-01", "staff", excuse="official_duty")
    log.hearing(unexcused, "2022-02-01", "staff")
    s = log.summary(2022)
    assert (s["staff"], s["recommendations_expected"], s["head_appeared"]) == (2, 1, 0)


def _concluded_loss(log, year=2022, disposition="revoked"):
    case = log.file(year)
    log.add("case_concluded", case, decided_on=f"{year}-05-01", disposition=disposition)
    log.add("appeal_filed", case, filed_on=f"{year}-05-10", appeal_case=f"({year})浙03行终{next(log.serials)}号",
            appellant="agency")
    return case


def test_a_loss_reversed_on_appeal_is_reduced_and_restates_its_year(log):
    """核减: a 2022 loss reversed by a decision dated 2023 lowers 2022's losses."""
    case = _concluded_loss(log)
    other = log.file(2022)
    log.add("case_concluded", other, decided_on="2022-06-01", disposition="confirmed_illegal")
    before = log.summary(2022)
    assert (before["losses_first_instance"], before["losses"], before["loss_rate"]) == (2, 2, 1.0)
    log.add("appeal_decided", case, decided_on="2023-02-01", result="reversed", disposition="claims_dismissed")
    s = log.summary(2022)
    assert (s["concluded"], s["losses_first_instance"], s["reduced_on_appeal"], s["added_on_appeal"]) == (2, 2, 1, 0)
    assert (s["losses"], s["loss_rate"], s["merits_judgments"], s["merits_loss_rate"]) == (1, 0.5, 2, 0.5)


def test_a_non_loss_reversed_into_a_loss_is_added(log):
    case = _concluded_loss(log, disposition="claims_dismissed")
    log.add("appeal_decided", case, decided_on="2022-09-01", result="reversed", disposition="revoked")
    s = log.summary(2022)
    assert (s["losses_first_instance"], s["reduced_on_appeal"], s["added_on_appeal"], s["losses"]) == (0, 0, 1, 1)


def test_a_loss_reversed_into_another_loss_is_neither_reduced_nor_added(log):
    case = _concluded_loss(log, disposition="revoked")
    log.add("appeal_decided", case, decided_on="2022-09-01", result="reversed", disposition="confirmed_illegal")
    s = log.summary(2022)
    assert (s["losses_first_instance"], s["reduced_on_appeal"], s["added_on_appeal"], s["losses"]) == (1, 0, 0, 1)


def test_a_remand_takes_the_case_out_of_concluded_until_it_is_concluded_again(log):
    case = _concluded_loss(log)
    log.hearing(case, "2022-04-01", "staff")  # logged late, dated before the conclusion: accepted
    log.hearing(case, "2022-06-01", "deputy", level="second", spoke=False)
    log.add("appeal_decided", case, decided_on="2022-08-01", result="remanded")
    s = log.summary(2022)
    assert (s["concluded"], s["losses"], s["loss_rate"]) == (0, 0, None)
    log.hearing(case, "2023-01-10", "principal", spoke=True)
    log.add("case_concluded", case, decided_on="2023-03-01", disposition="withdrawn_after_change")
    s23 = log.summary(2023)
    assert (s23["concluded"], s23["losses"], s23["withdrawn_after_change"], s23["merits_judgments"]) == (1, 0, 1, 0)
    assert s23["merits_loss_rate"] is None
    # the new first-instance hearing joins the case's existing 2022 first unit
    assert (log.summary(2022)["heard"], s23["heard"]) == (2, 0)


def test_a_corrected_attendance_changes_every_figure_it_touches(log):
    case = log.file(2022)
    hearing = log.hearing(case, "2022-03-01", "deputy", spoke=True)
    log.add("event_corrected", case, target=hearing, changes={"attendance": "staff", "spoke": None}, reason="录入有误")
    s = log.summary(2022)
    assert (s["heard"], s["head_appeared"], s["deputy"], s["staff"], s["spoke"]) == (1, 0, 0, 1, 0)
    assert (s["appearance_rate"], s["recommendations_expected"], s["speaking_rate"]) == (0.0, 1, None)


def test_retracting_the_earliest_hearing_moves_the_unit_to_the_next_ones_year(log):
    case = log.file(2021, filed_on="2021-06-01")
    first = log.hearing(case, "2021-12-01", "none")
    log.hearing(case, "2022-01-15", "other_head", spoke=False)
    assert (log.summary(2021)["heard"], log.summary(2022)["heard"]) == (1, 0)
    log.add("event_retracted", case, target=first, reason="重复录入")
    s21, s22 = log.summary(2021), log.summary(2022)
    assert (s21["heard"], s22["heard"], s22["other_head"], s22["silent"]) == (0, 1, 1, 1)
    assert s21["none"] == 0


def test_correcting_level_moves_a_hearing_to_the_other_unit(log):
    """A hearing on the day of both the conclusion and the appeal may be either level."""
    case = log.file(2022)
    log.add("case_concluded", case, decided_on="2022-05-01", disposition="revoked")
    log.add("appeal_filed", case, filed_on="2022-05-01", appeal_case="(2022)浙03行终9号", appellant="agency")
    hearing = log.hearing(case, "2022-05-01", "principal", spoke=True)
    assert log.summary(2022, level="first")["heard"] == 1
    log.add("event_corrected", case, target=hearing, changes={"level": "second"}, reason="审级录错")
    s = log.summary(2022, level="first")
    assert s["heard"] == 0
    assert log.summary(2022)["heard"] == 1


def test_double_decline_streak_counts_strictly_lower_years_and_stops_at_a_null(log):
    """filed 4,3,2,1 and loss rate 1, 2/3, 1/2, 0 over 2019-2022: three years of 双下降."""
    for year, (filed, losses) in zip(range(2019, 2023), [(4, 4), (3, 2), (2, 1), (1, 0)]):
        for n in range(filed):
            case = log.file(year)
            log.add("case_concluded", case, decided_on=f"{year}-06-01",
                    disposition="revoked" if n < losses else "claims_dismissed")
    assert [log.summary(y)["double_decline_streak"] for y in range(2019, 2023)] == [0, 1, 2, 3]
    s = log.summary(2022)
    assert (s["filed_prev"], s["loss_rate_prev"], s["loss_rate"]) == (2, 0.5, 0.0)
    assert math.isclose(s["loss_rate_change_pp"], -50.0) and s["filed_change_pct"] == -50.0
    # a year with filings but nothing concluded has a null loss rate, which ends the streak
    log.file(2023)
    assert log.summary(2023)["double_decline_streak"] == 0


def test_by_agency_lists_agencies_active_in_the_year_sorted_by_name(log):
    a = log.file(2022, agency="市住建局")
    log.file(2021, agency="区人民政府")
    log.hearing(a, "2022-02-01", "principal", spoke=True)
    s = log.summary(2022)
    assert [row["agency"] for row in s["by_agency"]] == ["市住建局"]
    assert s["by_agency"][0]["appearance_rate"] == 1.0
    only = log.summary(2021, agency="区人民政府")
    assert only["agency"] == "区人民政府" and only["filed"] == 1


def test_the_speaking_rate_is_compared_with_the_year_before(log):
    """2021: one head of two spoke (50%); 2022: two of three (66.7%), so +16.67 points."""
    for year, spoke in ((2021, (True, False)), (2022, (True, True, False))):
        for n, said in enumerate(spoke):
            log.hearing(log.file(year), f"{year}-03-0{n + 1}", "deputy", spoke=said)
    s = log.summary(2022)
    assert (s["speaking_rate_prev"], s["speaking_rate"]) == (0.5, 2 / 3)
    assert math.isclose(s["speaking_rate_change_pp"], (2 / 3 - 0.5) * 100)
    assert log.summary(2021)["speaking_rate_change_pp"] is None  # 2020 had no head appear


def test_a_period_is_compared_with_the_same_dates_a_year_earlier(log):
    """同期: 2022-01-01..06-30 against 2021-01-01..06-30; the streak is null for a period."""
    early, late, before = log.file(2022, filed_on="2022-03-01"), log.file(2022, filed_on="2022-09-01"), log.file(2021, filed_on="2021-05-01")
    log.hearing(early, "2022-04-01", "principal", spoke=True)
    log.hearing(late, "2022-10-01", "staff")
    log.hearing(before, "2021-06-01", "staff")
    s = summary.summary(log.conn, start=dt.date(2022, 1, 1), end=dt.date(2022, 6, 30))
    assert (s["from"], s["to"], s["filed"], s["heard"], s["appearance_rate"]) == ("2022-01-01", "2022-06-30", 1, 1, 1.0)
    assert (s["filed_prev"], s["appearance_rate_prev"], s["appearance_rate_change_pp"]) == (1, 0.0, 100.0)
    assert s["double_decline_streak"] is None


def test_a_period_longer_than_a_year_counts_the_overlap_in_both(log):
    """2021-01-01..2022-12-31 against 2020-01-01..2021-12-31: a 2021 filing is in both."""
    log.file(2020, filed_on="2020-05-01")
    log.file(2021, filed_on="2021-05-01")
    log.file(2022, filed_on="2022-05-01")
    s = summary.summary(log.conn, start=dt.date(2021, 1, 1), end=dt.date(2022, 12, 31))
    assert (s["filed"], s["filed_prev"], s["filed_change_pct"]) == (2, 2, 0.0)


def test_as_of_reproduces_a_published_summary_after_later_corrections(log):
    """A summary published at T is reproduced exactly with --as-of T after corrections, retractions and appeals."""
    case = _concluded_loss(log)
    hearing = log.hearing(case, "2022-04-01", "deputy", spoke=False)
    other = log.file(2022)
    extra = log.hearing(other, "2022-04-02", "principal", spoke=True)
    published_at = log.tick()
    published = log.summary(2022)
    log.add("event_corrected", case, target=hearing, changes={"attendance": "staff", "spoke": None}, reason="更正")
    log.add("event_retracted", other, target=extra, reason="重复录入")
    log.add("appeal_decided", case, decided_on="2022-12-01", result="reversed", disposition="claims_dismissed")
    now = log.summary(2022)
    assert now != published
    again = log.summary(2022, as_of=published_at)
    assert {k: v for k, v in again.items() if k != "as_of"} == {k: v for k, v in published.items() if k != "as_of"}
    assert again["head"] == published["head"]


def test_summary_prints_the_log_head_it_was_computed_from(log):
    log.file(2022)
    assert log.summary(2022)["head"] == {"position": 1, "hash": str(chain.head(log.conn)).split(":")[1]}
    assert audit.verify(log.conn).position == 1
