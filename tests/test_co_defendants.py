"""Co-defendants, the 复议机关 and art. 12 in full (docs/domain.md): hand-computed figures for every
edge, and the refusals through the clerk's command line.

City figures count a case once (its best attendance over every defendant's hearings; a loss when
any defendant lost); each agency's row counts the cases it defends, with its own attendance and
its own outcome.
"""

from __future__ import annotations

import pytest

from builders import LogBuilder

GOV, POLICE = "市人民政府", "市公安局"
RECONSIDERED = [{"agency": GOV, "role": "reconsideration"}]


@pytest.fixture
def log(tmp_path) -> LogBuilder:
    return LogBuilder(tmp_path / "t.db")


def file(log: LogBuilder, co_defendants: list | None = None, filed_on: str = "2022-01-10") -> str:
    case = f"(2022)浙0302行初{next(log.serials)}号"
    log.add("case_filed", case, filed_on=filed_on, court="某某区人民法院", agency=POLICE, cause="行政处罚",
            **({"co_defendants": co_defendants} if co_defendants else {}))
    return case


def row(s: dict, agency: str) -> dict:
    return next(r for r in s["by_agency"] if r["agency"] == agency)


def picked(figures: dict, *keys: str) -> tuple:
    return tuple(figures[k] for k in keys)


APPEARANCE = ("heard", "head_appeared", "deputy", "lawyer_only", "silent", "recommendations_expected")


def test_two_defendants_where_only_one_head_came(log):
    """The police sent a silent deputy; the government that upheld the act sent only its lawyer."""
    case = file(log, RECONSIDERED)
    log.hearing(case, "2022-03-01", "deputy", spoke=False, agency=POLICE)
    log.hearing(case, "2022-03-01", "lawyer_only", agency=GOV)
    s = log.summary(2022)
    # The city's unit is the case at first instance: its best attendance is the deputy (art. 3).
    assert picked(s, "filed", *APPEARANCE) == (1, 1, 1, 1, 0, 1, 0)
    assert picked(s, "reconsideration_heard", "reconsideration_head_appeared", "reconsideration_appearance_rate") == (1, 0, 0.0)
    assert picked(row(s, POLICE), "filed", *APPEARANCE) == (1, 1, 1, 1, 0, 1, 0)
    assert picked(row(s, POLICE), "reconsideration_heard", "reconsideration_appearance_rate") == (0, None)
    # The government's own unit: only a lawyer, so art. 12 expects a judicial recommendation.
    assert picked(row(s, GOV), "filed", *APPEARANCE) == (1, 1, 0, 0, 1, 0, 1)
    assert picked(row(s, GOV), "reconsideration_heard", "reconsideration_head_appeared") == (1, 0)
    assert row(s, GOV)["appearance_rate"] == 0.0 and s["appearance_rate"] == 1.0


def test_a_defendant_with_no_recorded_attendance_counts_as_absent(log):
    case = file(log, RECONSIDERED)
    log.hearing(case, "2022-03-01", "principal", spoke=True, agency=POLICE)
    s = log.summary(2022)
    assert picked(row(s, GOV), "heard", "none", "recommendations_expected") == (1, 1, 1)
    assert picked(s, "heard", "principal", "none", "recommendations_expected") == (1, 1, 0, 0)


def test_art_136_split_outcome_then_the_reconsideration_decision_restored_on_appeal(log):
    """The act stands (claims dismissed) while the 复议决定 is revoked: a loss for the city and the
    government, not for the police; the appeal court reverses the government's loss (核减)."""
    case = file(log, RECONSIDERED)
    log.add("case_concluded", case, decided_on="2022-06-01", disposition="claims_dismissed",
            dispositions={GOV: "revoked"})
    outcome = ("concluded", "losses_first_instance", "reduced_on_appeal", "losses", "loss_rate", "merits_judgments")
    s = log.summary(2022)
    assert picked(s, *outcome) == (1, 1, 0, 1, 1.0, 1)
    assert picked(row(s, POLICE), *outcome) == (1, 0, 0, 0, 0.0, 1)
    assert picked(row(s, GOV), *outcome) == (1, 1, 0, 1, 1.0, 1)

    log.add("appeal_filed", case, filed_on="2022-06-10", appeal_case="(2022)浙03行终1号", appellant="agency")
    log.add("appeal_decided", case, decided_on="2022-09-01", result="reversed", disposition="claims_dismissed")
    s = log.summary(2022)
    assert picked(s, *outcome) == (1, 1, 1, 0, 0.0, 1)
    assert picked(row(s, GOV), *outcome) == (1, 1, 1, 0, 0.0, 1)
    assert picked(row(s, POLICE), *outcome) == (1, 0, 0, 0, 0.0, 1)


def test_a_reversal_may_decide_each_defendant_its_own_way(log):
    case = file(log, RECONSIDERED)
    log.add("case_concluded", case, decided_on="2022-06-01", disposition="claims_dismissed")
    log.add("appeal_filed", case, filed_on="2022-06-10", appeal_case="(2022)浙03行终2号", appellant="plaintiff")
    log.add("appeal_decided", case, decided_on="2022-09-01", result="reversed", disposition="claims_dismissed",
            dispositions={GOV: "revoked"})
    s = log.summary(2022)
    assert picked(s, "losses_first_instance", "added_on_appeal", "losses") == (0, 1, 1)
    assert picked(row(s, GOV), "added_on_appeal", "losses") == (1, 1)
    assert picked(row(s, POLICE), "added_on_appeal", "losses") == (0, 0)


def test_a_defendant_added_after_the_first_hearing(log):
    """Its unit is the case's first-instance unit, dated by the case's first hearing; the earlier
    hearing, which named no one, is the first defendant's."""
    case = file(log)
    log.hearing(case, "2022-03-01", "principal", spoke=True)
    log.add("defendant_added", case, added_on="2022-03-10", agency=GOV, role="reconsideration")
    log.hearing(case, "2022-04-01", "staff", agency=GOV)
    s = log.summary(2022)
    assert picked(s, "heard", "principal", "staff", "recommendations_expected") == (1, 1, 0, 0)
    assert picked(row(s, POLICE), "heard", "principal", "recommendations_expected") == (1, 1, 0)
    assert picked(row(s, GOV), "filed", "heard", "staff", "recommendations_expected", "reconsideration_heard") == (1, 1, 1, 1, 1)


@pytest.mark.parametrize("second, expected", [
    ({}, 1),  # postponed for a good reason, then absent again without one: art. 12(2)
    ({"excuse": "official_duty"}, 0),
    ({"excuse": "official_duty", "excuse_rejected": True}, 1),  # the court found the reason invalid
])
def test_a_staff_unit_is_excused_only_when_every_hearing_gives_a_valid_excuse(log, second, expected):
    case = file(log)
    log.hearing(case, "2022-03-01", "staff", excuse="accident")
    log.hearing(case, "2022-04-01", "staff", **second)
    assert log.summary(2022)["recommendations_expected"] == expected


@pytest.mark.parametrize("flag", ["left_early", "refused_to_explain"])
def test_a_head_who_left_early_or_refused_to_explain_expects_a_recommendation(log, flag):
    case = file(log)
    log.hearing(case, "2022-03-01", "principal", spoke=True, **{flag: True})
    s = log.summary(2022)
    assert picked(s, "head_appeared", "spoke", "recommendations_expected") == (1, 1, 1)


def test_one_defendant_gives_the_same_figures_both_ways(log):
    """With one defendant the agency's row is the city: the per-defendant tables change nothing."""
    case = file(log)
    log.hearing(case, "2022-03-01", "deputy", spoke=False)
    log.add("case_concluded", case, decided_on="2022-06-01", disposition="revoked")
    s = log.summary(2022)
    assert {k: v for k, v in row(s, POLICE).items() if k != "agency"} == {k: s[k] for k in row(s, POLICE) if k != "agency"}


def test_one_defendant_named_in_its_own_dispositions_reads_the_same_in_every_table(log):
    """A clerk may give the only defendant's outcome per defendant: its row in outcomes, which is also its
    row in defendant_outcomes, holds that outcome beside the loss it counts."""
    case = file(log)
    log.add("case_concluded", case, decided_on="2022-06-01", disposition="claims_dismissed",
            dispositions={POLICE: "revoked"})
    assert picked(log.summary(2022), "losses", "merits_judgments") == (1, 1)
    for table in ("outcomes", "defendant_outcomes"):
        found = log.conn.execute(f'SELECT first_disposition, disposition, first_loss, loss FROM {table} '
                                 'WHERE "case" = ?', (case,)).fetchall()
        assert [tuple(r) for r in found] == [("revoked", "revoked", 1, 1)], table


def test_as_of_reproduces_a_published_summary_with_co_defendants(log):
    case = file(log, RECONSIDERED, filed_on="2022-01-10")
    log.hearing(case, "2022-03-01", "deputy", spoke=True, agency=POLICE, at="2023-01-05T00:00:00")
    log.hearing(case, "2022-03-01", "none", agency=GOV)
    published = log.summary(2022, as_of="2023-01-31")
    hearing = log.add("hearing_held", case, at="2023-03-01T00:00:00", held_on="2022-05-01", attendance="principal",
                      spoke=True, agency=GOV)
    log.add("event_corrected", case, target=hearing, changes={"attendance": "deputy"}, reason="录入有误")
    assert row(log.summary(2022), GOV)["deputy"] == 1
    assert log.summary(2022, as_of="2023-01-31") == published
    assert row(published, GOV)["none"] == 1


# --- the clerk's command line -----------------------------------------------------------------

CASE = "(2022)浙0302行初1号"
FILE = f"file {CASE} --filed-on 2022-03-01 --court 某某区人民法院 --agency 市公安局 --cause 行政处罚"
TWO = FILE + " --co-defendant 市人民政府 --role 复议机关"


def test_the_clerks_commands_record_co_defendants_and_show_them(history):
    log = history([TWO])
    log.do(f"hearing {CASE} --held-on 2022-05-10 --attendance 副职 --silent --agency 市公安局")
    log.do(f"hearing {CASE} --held-on 2022-05-10 --attendance 仅律师 --agency '市人民 政府'")
    log.do(f"conclude {CASE} --decided-on 2022-08-01 --disposition 驳回诉讼请求 --outcome 市人民政府=撤销")
    filed, *_, concluded = log.events()
    assert filed["co_defendants"] == [{"agency": "市人民政府", "role": "reconsideration"}]
    assert concluded["dispositions"] == {"市人民政府": "revoked"}
    shown = log.invoke("show", CASE).stdout
    assert "市人民政府 (复议机关) · outcome revoked (撤销) · first lawyer_only (仅律师)" in shown
    assert "市公安局 (被告) · outcome claims_dismissed (驳回诉讼请求) · first deputy (副职负责人) silent" in shown


@pytest.mark.parametrize("steps, command, keywords", [
    ([TWO], f"hearing {CASE} --held-on 2022-05-10 --attendance staff", ["several defendants", "市公安局"]),
    ([TWO], f"hearing {CASE} --held-on 2022-05-10 --attendance staff --agency 市住建局", ["市住建局", "not a defendant"]),
    ([], FILE + " --co-defendant 市公安局 --role joint", ["市公安局", "first defendant|once"]),
    ([], FILE + " --co-defendant 市人民政府 --role joint --co-defendant 市人民政府 --role reconsideration", ["twice"]),
    ([FILE], f"hearing {CASE} --held-on 2022-05-10 --attendance staff --left-early", ["left_early|left-early", "head"]),
    ([FILE], f"hearing {CASE} --held-on 2022-05-10 --attendance staff --refused-to-explain", ["refused", "head"]),
    ([FILE], f"hearing {CASE} --held-on 2022-05-10 --attendance staff --excuse-rejected", ["excuse"]),
    ([TWO], f"conclude {CASE} --decided-on 2022-08-01 --disposition revoked --outcome 市住建局=revoked", ["市住建局", "not a defendant"]),
    ([TWO, f"conclude {CASE} --decided-on 2022-08-01 --disposition revoked",
      f"appeal {CASE} --filed-on 2022-08-10 --appeal-case (2022)浙03行终1号 --appellant agency"],
     f"appeal-decision {CASE} --decided-on 2022-10-01 --result upheld --outcome 市人民政府=revoked", ["reversed"]),
    ([FILE], f"add-defendant {CASE} --added-on 2022-02-01 --agency 市人民政府 --role reconsideration", ["before", "filed"]),
    ([TWO], f"add-defendant {CASE} --added-on 2022-04-01 --agency 市人民政府 --role joint", ["already a defendant"]),
])
def test_every_refusal_of_the_contract_is_one_line_and_writes_nothing(history, steps, command, keywords):
    history(steps).refuses(command, *keywords)


def test_corrections_and_retractions_reach_the_new_fields_and_events(history):
    log = history([FILE])
    added = log.do(f"add = add-defendant {CASE} --added-on 2022-04-01 --agency 市人民政府 --role reconsideration")
    log.do(f"h = hearing {CASE} --held-on 2022-05-10 --attendance staff --agency 市人民政府")
    log.refuses("retract {add} --reason 误录", "hearing_held", "not a defendant")
    log.refuses("correct {h} --set agency=市住建局 --reason 录入有误", "市住建局", "not a defendant")
    log.do("correct {h} --set agency=市公安局 --reason 录入有误")
    log.do("retract {add} --reason 误录")
    assert added["type"] == "defendant_added"
    shown = log.invoke("summary", "--year", "2022", "--format", "json").stdout
    assert '"agency": "市人民政府"' not in shown
