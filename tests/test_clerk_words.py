"""Clerks in their own language (issue 18): Chinese words and short forms stored as the English
words, every bad option named at once in the command line's terms, short event ids, the latest
complete year by default, shell completion, and ``python -m caselog``."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from caselog.events import FIELDS
from conftest import CaseLog, check_refusal
from cli import cli

C = "(2022)浙0302行初123号"
NAMES = {"C": C, "AC": "(2022)浙03行终45号", "FILE": "--court 鹿城区人民法院 --agency 区人民政府 --cause 行政处罚"}
FILED = ("f = file {C} --filed-on 2022-03-01 {FILE}",)
HEARD = FILED + ("h = hearing {C} --held-on 2022-05-10 --attendance deputy --spoke",)
CONCLUDED = HEARD + ("c = conclude {C} --decided-on 2022-08-01 --disposition revoked",)
APPEALED = CONCLUDED + ("a = appeal {C} --filed-on 2022-08-15 --appeal-case {AC} --appellant agency",)


def payload(log: CaseLog, event_id: str) -> dict:
    """The event's own fields as the log holds them."""
    event = next(e for e in log.events() if e["event_id"] == event_id)
    return {k: v for k, v in event.items() if k in FIELDS[event["type"]]}


@pytest.mark.parametrize("steps, command, stored", [
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance 副职 --spoke --level 一审",
     {"held_on": "2022-05-10", "attendance": "deputy", "level": "first", "spoke": True}),
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance 正职负责人 --silent",
     {"held_on": "2022-05-10", "attendance": "principal", "level": "first", "spoke": False}),
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance 其他负责人 --spoke",
     {"held_on": "2022-05-10", "attendance": "other_head", "level": "first", "spoke": True}),
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance 工作人员 --excuse 不可抗力",
     {"held_on": "2022-05-10", "attendance": "staff", "level": "first", "excuse": "force_majeure"}),
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance 仅律师", {"held_on": "2022-05-10", "attendance": "lawyer_only", "level": "first"}),
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance 无人", {"held_on": "2022-05-10", "attendance": "none", "level": "first"}),
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance Lawyer-Only", {"held_on": "2022-05-10", "attendance": "lawyer_only", "level": "first"}),
    (HEARD, "conclude {C} --decided-on 2022-08-01 --disposition 撤销", {"decided_on": "2022-08-01", "disposition": "revoked"}),
    (HEARD, "conclude {C} --decided-on 2022-08-01 --disposition 驳回诉讼请求", {"decided_on": "2022-08-01", "disposition": "claims_dismissed"}),
    (HEARD, "conclude {C} --decided-on 2022-08-01 --disposition 撤回", {"decided_on": "2022-08-01", "disposition": "withdrawn"}),
    (CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case {AC} --appellant 被告",
     {"filed_on": "2022-08-15", "appeal_case": "(2022)浙03行终45号", "appellant": "agency"}),
    (CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case {AC} --appellant 原告",
     {"filed_on": "2022-08-15", "appeal_case": "(2022)浙03行终45号", "appellant": "plaintiff"}),
    (CONCLUDED, "appeal {C} --filed-on 2022-08-15 --appeal-case {AC} --appellant 双方",
     {"filed_on": "2022-08-15", "appeal_case": "(2022)浙03行终45号", "appellant": "both"}),
    (APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result 维持", {"decided_on": "2022-11-20", "result": "upheld"}),
    (APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result 发回重审", {"decided_on": "2022-11-20", "result": "remanded"}),
    (APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result 改判 --disposition 驳回诉讼请求",
     {"decided_on": "2022-11-20", "result": "reversed", "disposition": "claims_dismissed"}),
    (APPEALED, "hearing {C} --held-on 2022-10-10 --attendance 副职 --silent --level 二审",
     {"held_on": "2022-10-10", "attendance": "deputy", "level": "second", "spoke": False}),
], ids=lambda value: value if isinstance(value, str) else None)
def test_chinese_words_are_stored_as_the_english_words(history, steps, command, stored):
    log = history(steps, NAMES)
    event_id = log.do(command)["event_id"]
    assert payload(log, event_id) == stored


def test_a_cause_by_its_short_form_is_stored_as_the_cause(tmp_path):
    log = CaseLog(tmp_path / "c.db", NAMES)
    event_id = log.do("file {C} --filed-on 2022-03-01 --court 某法院 --agency 某局 --cause 信息公开")["event_id"]
    assert payload(log, event_id)["cause"] == "政府信息公开"


@pytest.mark.parametrize("command, expected", [
    ("hearing {C} --held-on 2022-05-10 --attendance deputyy --spoke",
     "--attendance: unknown value 'deputyy' (did you mean deputy (副职负责人)?)"),
    ("conclude {C} --decided-on 2022-08-01 --disposition revoke", "did you mean revoked (撤销)"),
    ("conclude {C} --decided-on 2022-08-01 --disposition 驳回", "suit_dismissed (驳回起诉) or claims_dismissed (驳回诉讼请求)"),
    ("hearing {C} --held-on 2022-05-10 --attendance staff --excuse 意外的事", "did you mean accident (意外事件)"),
    ("hearing {C} --held-on 2022-05-10 --attendance staff --level xyz",
     "--level: unknown value 'xyz': expected one of first (一审), second (二审), retrial (再审)"),
], ids=["attendance", "disposition", "a chinese word of two dispositions", "excuse", "none near"])
def test_an_unknown_word_gets_the_nearest_words(history, command, expected):
    message = history(HEARD, NAMES).refuses(command)
    assert expected.lower() in message


def test_every_bad_option_is_named_at_once_in_the_command_lines_terms(history):
    message = history(FILED, NAMES).refuses("hearing {C} --held-on 2022-13-01 --attendance 正职 --excuse 意 --official ''")
    assert message == ("error: --held-on: impossible date '2022-13-01'; --official: must not be empty; "
                       "--excuse: unknown value '意' (did you mean accident (意外事件)?); "
                       "--spoke/--silent is required when a head (principal) attended")


@pytest.mark.parametrize("steps, command, expected", [
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance deputy", "error: --spoke/--silent is required when a head (deputy) attended"),
    (FILED, "hearing {C} --held-on 2022-05-10 --attendance staff --silent",
     "error: --spoke/--silent is only for a head; --attendance 'staff' is not a head"),
    (APPEALED, "appeal-decision {C} --decided-on 2022-11-20 --result reversed", "error: a reversed decision needs the new --disposition"),
    (FILED, "file 2022-1 --filed-on 2022/2/30 --court ' ' --agency 某局 --cause 民事",
     "error: case: malformed case number '2022-1'"),
    (HEARD, "correct {h} --set attendance=boss --set spoke=maybe --set official --reason 录入有误",
     "error: --set spoke: must be true or false (是 or 否), not 'maybe'; --set: 'official' is not field=value; "
     "--set attendance: unknown value 'boss'"),
    (HEARD, "correct {h} --set attendance=staff --reason 录入有误",
     "error: the corrected hearing_held would be invalid: spoke is only for a head"),
    (HEARD, "correct {h} --set attendance=boss --set held_on=2022-02-30 --reason ''",
     "error: --set held_on: impossible date '2022-02-30'; --set attendance: unknown value 'boss'"),
], ids=["spoke missing", "spoke for staff", "reversed without a disposition", "case, date, court and cause at once",
        "--set items and words at once", "a correction's fields that disagree", "a correction's fields and its reason"])
def test_refusals_name_options_not_fields(history, steps, command, expected):
    message = history(steps, NAMES).refuses(command)
    assert message.startswith(expected.lower()), message


def test_a_filing_names_each_of_its_bad_values(history):
    message = history(FILED, NAMES).refuses("file 2022-1 --filed-on 2022/2/30 --court ' ' --agency 某局 --cause 民事")
    for option in ("case: ", "--filed-on: impossible date", "--court: must not be empty", "--cause: unknown value '民事'"):
        assert option in message


def test_a_correction_with_a_bad_reason_names_it_with_the_rest(history):
    message = history(HEARD, NAMES).refuses("correct {h} --set attendance=boss --reason ''")
    assert "--set attendance: unknown value 'boss'" in message and "--reason: must not be empty" in message


@pytest.mark.parametrize("sets, stored", [
    ("--set spoke=否", {"spoke": False}),
    ("--set spoke=是", {"spoke": True}),
    ("--set attendance=副职", {"attendance": "deputy"}),
    ("--set attendance=工作人员 --set spoke=", {"attendance": "staff", "spoke": None}),
    ("--set held_on=2022年5月9日 --set level=一审", {"held_on": "2022-05-09", "level": "first"}),
], ids=["spoke=否", "spoke=是", "attendance=副职", "attendance=工作人员", "a written date and a level"])
def test_a_correction_reads_words_as_the_options_do(history, sets, stored):
    log = history(HEARD, NAMES)
    event_id = log.do(f"correct {{h}} {sets} --reason 录入有误")["event_id"]
    assert payload(log, event_id)["changes"] == stored


ID = "01a2420e-b9ee-7{:03x}-8000-000000000000"


@pytest.fixture
def shared_prefixes(tmp_path) -> CaseLog:
    """Three events whose ids share 13 characters; version-7 ids made within a minute share 8."""
    lines = [
        {"type": "case_filed", "case": C, "filed_on": "2022-03-01", "court": "某法院", "agency": "某局", "cause": "行政处罚"},
        {"type": "hearing_held", "case": C, "held_on": "2022-05-10", "attendance": "staff"},
        {"type": "hearing_held", "case": C, "held_on": "2022-06-10", "attendance": "lawyer_only"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({**line, "event_id": ID.format(n)}, ensure_ascii=False) + "\n"
                            for n, line in enumerate(lines, 1)), "utf-8")
    log = CaseLog(tmp_path / "ids.db", NAMES)
    assert log.invoke("import", str(path)).exit_code == 0
    log.sync()
    return log


def test_an_event_id_may_be_any_unique_prefix_of_eight_characters_or_more(shared_prefixes):
    log = shared_prefixes
    corrected = log.do("correct 01a2420e-b9ee-7002 --set attendance=仅律师 --reason 录入有误 --expect-version 3")
    assert payload(log, corrected["event_id"])["target"] == ID.format(2)
    retracted = log.do(f"retract {ID.format(3).upper()} --reason 重复录入 --expect-version 4")
    assert payload(log, retracted["event_id"])["target"] == ID.format(3)


@pytest.mark.parametrize("prefix, expected", [
    ("01a2420e-b9ee", f"'01a2420e-b9ee' begins more than one event's id: {ID.format(1)}, {ID.format(2)}, {ID.format(3)}; give more of it"),
    ("01a2420", "'01a2420' is not an event id: give at least 8 of its characters"),
    ("01a2420e%", "'01a2420e%' is not an event id"),
    ("01a2420f", "unknown event: no event's id begins with '01a2420f'"),
], ids=["ambiguous", "too short", "not hexadecimal", "unknown"])
def test_a_short_event_id_must_name_one_event(shared_prefixes, prefix, expected):
    message = shared_prefixes.refuses(f"retract {prefix} --reason 误录")
    assert message.startswith(f"error: event_id: {expected}"), message


def test_summary_without_year_reports_the_latest_complete_year(history):
    log = history(APPEALED, NAMES)
    default, year = log.invoke("summary", "--format", "json"), log.invoke("summary", "--year", "2022", "--format", "json")
    assert default.exit_code == 0, default.output
    assert json.loads(default.stdout) == json.loads(year.stdout)


def test_summary_of_an_empty_log_asks_for_a_case_first(tmp_path):
    log = CaseLog(tmp_path / "empty.db")
    log.do("file (2022)浙0302行初1号 --filed-on 2022-03-01 --court 某法院 --agency 某局 --cause 行政处罚")
    log.do("retract {f} --reason 误录".format(f=next(iter(log.case_of))))
    check_refusal(log.invoke("summary"), ["no figures|--year"])


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F"), ("zsh", "#compdef caselog"), ("fish", "complete --no-files --command caselog")])
def test_completion_prints_the_shells_script(shell, marker):
    result = CliRunner().invoke(cli, ["completion", shell], prog_name="caselog")
    assert result.exit_code == 0, result.output
    assert marker in result.stdout and "_CASELOG_COMPLETE" in result.stdout


def completions(args: list[str], incomplete: str) -> list[str]:
    return [item.value for item in ShellComplete(cli, {}, "caselog", "_CASELOG_COMPLETE").get_completions(args, incomplete)]


def test_completion_offers_words_agencies_and_case_numbers(history):
    log = history(HEARD, NAMES)
    log.do("file (2023)浙0302行初7号 --filed-on 2023-03-01 --court 某法院 --agency 市公安局 --cause 行政处罚")
    db = ["--db", str(log.path)]
    assert completions(["hearing", C, "--attendance"], "") == ["principal", "deputy", "other_head", "staff", "lawyer_only", "none"]
    assert completions(["hearing", C, "--attendance"], "副") == ["副职负责人"]
    assert completions(["conclude", C, "--disposition"], "revoked") == ["revoked", "revoked_redo"]
    assert completions(["file", "x", "--cause"], "政府") == completions(["file", "x", "--cause"], "信息") == ["政府信息公开"]
    assert completions(["appeal", C, "--appellant"], "被") == ["被告机关"]
    assert completions([*db, "file", "x", "--agency"], "") == ["区人民政府", "市公安局"]
    assert completions([*db, "summary", "--agency"], "市") == ["市公安局"]
    assert completions([*db, "hearing"], "(2022)") == [C]
    assert completions([*db, "show"], "") == [C, "(2023)浙0302行初7号"]


def test_completion_of_a_missing_or_foreign_file_offers_nothing_and_creates_nothing(tmp_path):
    missing, foreign = tmp_path / "missing.db", tmp_path / "foreign.db"
    foreign.write_text("not a database")
    assert completions(["--db", str(missing), "show"], "") == []
    assert completions(["--db", str(foreign), "show"], "") == []
    assert not missing.exists()


def test_python_dash_m_caselog_is_the_caselog_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "caselog", "--db", str(tmp_path / "m.db"), "file", C,
                             "--filed-on", "2022/3/1", "--court", "某法院", "--agency", "某局", "--cause", "处罚"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"recorded case_filed \S+ for \(2022\)浙0302行初123号 dated 2022-03-01 \(version 1, position 1\)\n",
                        result.stdout)
    usage = subprocess.run([sys.executable, "-m", "caselog", "--help"], capture_output=True, text=True, timeout=60)
    assert usage.stdout.startswith("Usage: caselog ")


def test_a_recording_command_echoes_the_date_as_stored(tmp_path):
    """2022年3月1日 is stored, and echoed, as 2022-03-01: the clerk sees what the log holds."""
    from integrity_support import invoke

    db = tmp_path / "caselog.db"
    result = invoke(db, "file", "(2022)浙0302行初1号", "--filed-on", "2022年3月1日", "--court", "某某区人民法院",
                    "--agency", "市公安局", "--cause", "行政处罚")
    assert result.exit_code == 0, result.output
    assert " dated 2022-03-01 (version 1, position 1)" in result.stdout
    hearing = invoke(db, "hearing", "(2022)浙0302行初1号", "--held-on", "2022/5/10", "--attendance", "副职",
                     "--silent", "--json")
    assert json.loads(hearing.stdout)["date"] == "2022-05-10"


def test_completion_offers_the_registrys_names_too(history):
    """A registered agency and its alias complete before any case names them."""
    log = history(HEARD, NAMES)
    result = log.invoke("agency", "add", "市司法局", "--level", "city_dept", "--region", "市本级", "--alias", "司法局")
    assert result.exit_code == 0, result.output
    db = ["--db", str(log.path)]
    assert "市司法局" in completions([*db, "file", "x", "--agency"], "市")
    assert completions([*db, "file", "x", "--agency"], "司法") == ["司法局"]
