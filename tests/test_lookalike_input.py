"""Input that looks alike is one value, or is refused (issue 15 part 3, issue 18 part 2).

Case numbers typed with full-width digits, full-width parentheses, 〔〕, 【】 or
stray spaces are the stored ``(2022)浙0302行初123号``; other scripts' digits are
refused.  Dates written 2022/5/10, 2022.5.10, 2022-5-10 or 2022年5月10日 are
stored ISO.  Free text holding a bidirectional or zero-width character is
refused, and so is an import line giving a key twice.  A new business date
before 1990 is refused, while a log already holding one keeps working.
Refusals follow the contract of ``conftest.check_refusal``.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from caselog import events as ev
from caselog import interchange
from conftest import CLERK, CaseLog, check_line_number, check_refusal

CASE = "(2022)浙0302行初123号"
APPEAL_CASE = "(2022)浙03行终45号"
FILE = ["--court", "鹿城区人民法院", "--agency", "区人民政府", "--cause", "行政处罚"]


@pytest.fixture
def log(tmp_path) -> CaseLog:
    return CaseLog(tmp_path / "caselog.db")


def ok(result) -> str:
    assert result.exit_code == 0 and result.exception is None, f"refused: {result.stderr}{result.exception!r}"
    return result.stdout


def file_case(log: CaseLog, case: str = CASE, filed_on: str = "2022-03-01") -> dict:
    return json.loads(ok(log.invoke("file", case, "--filed-on", filed_on, *FILE, "--json")))


def lines_file(log: CaseLog, *lines: dict | str) -> str:
    path = log.path.parent / "lines.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines), "utf-8")
    return str(path)


def refuses(log: CaseLog, args: list[str], *keywords: str, clerk: str = CLERK) -> str:
    """Run a command that must be refused (one line, exit 1) with nothing written; return the error line."""
    before = log.snapshot()
    message = check_refusal(log.invoke(*args, clerk=clerk), keywords)
    assert log.snapshot() in (before, b"" if before is None else before), "a refused command changed the log"
    return message


def refuses_import(log: CaseLog, line_number: int, *lines_and_keywords) -> str:
    *lines, keywords = lines_and_keywords
    message = refuses(log, ["import", lines_file(log, *lines)], *keywords)
    check_line_number(message, line_number)
    return message


# --- case numbers -----------------------------------------------------------------------------

LOOKALIKES = [
    "(２０２２)浙０３０２行初123号",  # full-width digits
    "(2022)浙030２行初123号",  # one full-width digit
    "（2022）浙0302行初１２３号",  # full-width parentheses and serial
    "〔2022〕浙0302行初123号",  # as documents print it
    "【2022】浙0302行初123号",
    " (2022) 浙0302 行初 123号 ",  # stray spaces
    "(2022)\u3000浙0302行初123号",  # an ideographic space
]
APPEAL_LOOKALIKES = ["(２０２２)浙０３行终４５号", "（2022）浙03行终45号", "〔2022〕浙03行终45号", "【2022】 浙03 行终45号"]
OTHER_DIGITS = [
    "(२०२२)浙0302行初123号",  # Devanagari
    "(٢٠٢٢)浙0302行初123号",  # Arabic-Indic
    "(2022)浙0302行初১২৩号",  # Bengali serial
    "(2022)浙𝟎𝟑𝟎𝟐行初123号",  # mathematical bold digits
]
APPEAL_OTHER_DIGITS = ["(२०२२)浙03行终45号", "(2022)浙03行终٤٥号"]


@pytest.mark.parametrize("spelling", LOOKALIKES)
def test_a_lookalike_case_number_is_the_stored_one(log, spelling):
    """Filed under a look-alike spelling, the case is the ASCII number: filing it again is refused."""
    assert file_case(log, spelling)["case"] == CASE
    refuses(log, ["file", CASE, "--filed-on", "2022-03-01", *FILE], "already filed")
    refuses(log, ["file", spelling, "--filed-on", "2022-03-01", *FILE], "already filed")


@pytest.mark.parametrize("spelling", LOOKALIKES)
def test_every_reader_of_a_case_number_takes_lookalikes(log, spelling):
    """Clerk commands, --case, show and import lines all find the one case."""
    file_case(log)
    recorded = json.loads(ok(log.invoke("hearing", spelling, "--held-on", "2022-05-10", "--attendance", "staff", "--json")))
    assert recorded["case"] == CASE
    assert [row["case"] for row in json.loads(ok(log.invoke("events", "--case", spelling, "--json")))] == [CASE, CASE]
    assert json.loads(ok(log.invoke("show", spelling, "--json")))["case"] == CASE
    line = {"type": "case_concluded", "case": spelling, "decided_on": "2022-08-01", "disposition": "revoked"}
    ok(log.invoke("import", lines_file(log, line)))
    assert [e["case"] for e in log.events()] == [CASE] * 3


@pytest.mark.parametrize("spelling", APPEAL_LOOKALIKES)
def test_a_lookalike_appeal_case_is_stored_ascii(log, spelling):
    file_case(log)
    ok(log.invoke("conclude", CASE, "--decided-on", "2022-08-01", "--disposition", "revoked"))
    ok(log.invoke("appeal", CASE, "--filed-on", "2022-08-15", "--appeal-case", spelling, "--appellant", "agency"))
    assert log.events()[-1]["appeal_case"] == APPEAL_CASE


@pytest.mark.parametrize("spelling", OTHER_DIGITS)
def test_other_scripts_digits_are_refused_everywhere(log, spelling):
    """A regular expression's \\d takes them: (२०२२)... was a second case beside (2022)..."""
    file_case(log)
    refuses(log, ["file", spelling, "--filed-on", "2022-03-01", *FILE], "case number", "0-9")
    refuses(log, ["hearing", spelling, "--held-on", "2022-05-10", "--attendance", "staff"], "case number")
    refuses(log, ["events", "--case", spelling], "case number")
    refuses(log, ["show", spelling], "case number")
    refuses_import(log, 1, {"type": "hearing_held", "case": spelling, "held_on": "2022-05-10", "attendance": "staff"},
                   ("case number",))


@pytest.mark.parametrize("spelling", APPEAL_OTHER_DIGITS)
def test_other_scripts_digits_are_refused_in_an_appeal_case(log, spelling):
    file_case(log)
    ok(log.invoke("conclude", CASE, "--decided-on", "2022-08-01", "--disposition", "revoked"))
    refuses(log, ["appeal", CASE, "--filed-on", "2022-08-15", "--appeal-case", spelling, "--appellant", "agency"],
            "case number", "行终")


def test_a_huge_refused_value_is_cut_in_the_message(log):
    message = refuses(log, ["file", "(2022)" + "浙" * 100_000, "--filed-on", "2022-03-01", *FILE], "case number")
    assert len(message) < 400 and "100,006 characters" in message


# --- dates ------------------------------------------------------------------------------------

WRITTEN_DATES = [
    ("2022/5/10", "2022-05-10"),
    ("2022.5.10", "2022-05-10"),
    ("2022-5-10", "2022-05-10"),
    ("2022年5月10日", "2022-05-10"),
    ("2022/05/01", "2022-05-01"),
    ("2022年12月1日", "2022-12-01"),
    ("２０２２年５月１０日", "2022-05-10"),
    ("２０２２－０５－１０", "2022-05-10"),
    (" 2022 年 5 月 10 日 ", "2022-05-10"),
]


@pytest.mark.parametrize("written, iso", WRITTEN_DATES)
def test_dates_as_clerks_write_them_are_stored_iso(log, written, iso):
    file_case(log, filed_on="2022/3/1")
    ok(log.invoke("hearing", CASE, "--held-on", written, "--attendance", "staff"))
    assert [e.get("filed_on") or e.get("held_on") for e in log.events()] == ["2022-03-01", iso]
    assert f"held_on={iso}" in ok(log.invoke("show", CASE))


@pytest.mark.parametrize("written, iso", WRITTEN_DATES[:4])
def test_import_lines_and_corrections_store_dates_iso(log, written, iso):
    filed = {"type": "case_filed", "case": CASE, "filed_on": "2022年3月1日", "court": "某法院", "agency": "某局",
             "cause": "行政处罚"}
    ok(log.invoke("import", lines_file(log, filed, {"type": "hearing_held", "case": CASE, "held_on": written,
                                                    "attendance": "staff"})))
    events = log.events()
    assert (events[0]["filed_on"], events[1]["held_on"]) == ("2022-03-01", iso)
    later, later_iso = written.replace("10", "11"), iso.replace("10", "11")
    ok(log.invoke("correct", events[1]["event_id"], "--set", f"held_on={later}", "--reason", "录入有误"))
    assert log.events()[-1]["changes"] == {"held_on": later_iso}
    assert f"held_on={later_iso}" in ok(log.invoke("show", CASE))


@pytest.mark.parametrize("bad", ["2022/5-10", "2022年5月10", "10/5/2022", "20220510", "2022/5/10/", "٢٠٢٢-٠٥-١٠",
                                 "2022-05", "2022//5/10"])
def test_other_date_forms_are_refused_showing_the_expected_form(log, bad):
    file_case(log)
    message = refuses(log, ["hearing", CASE, "--held-on", bad, "--attendance", "staff"], "malformed date")
    assert "yyyy-mm-dd" in message and "2022-05-10" in message


@pytest.mark.parametrize("bad", ["2022/2/30", "2022年13月1日", "2021.2.29"])
def test_impossible_written_dates_are_refused(log, bad):
    file_case(log)
    refuses(log, ["hearing", CASE, "--held-on", bad, "--attendance", "staff"], "impossible date")


# --- years outside the plausible range --------------------------------------------------------


def test_dates_before_1990_are_refused_at_entry(log):
    refuses(log, ["file", CASE, "--filed-on", "1989-12-31", *FILE], "before 1990-01-01")
    refuses(log, ["file", CASE, "--filed-on", "0001-01-01", *FILE], "before 1990-01-01")
    refuses_import(log, 1, {"type": "case_filed", "case": CASE, "filed_on": "1989年1月1日", "court": "某法院",
                            "agency": "某局", "cause": "行政处罚"}, ("before 1990-01-01",))
    filed = file_case(log, filed_on="1990-01-01")
    refuses(log, ["correct", filed["event_id"], "--set", "filed_on=1989/6/1", "--reason", "录入有误"],
            "filed_on 1989-06-01", "before 1990-01-01")


def test_dates_after_today_are_refused(log):
    refuses(log, ["file", "(2999)浙0302行初1号", "--filed-on", "2999/1/1", *FILE], "after today")


OLD_CASE = "(1989)浙0302行初2号"


def _legacy_log(log: CaseLog, monkeypatch) -> None:
    """A log written before pre-1990 dates were refused: a case filed in 1989, heard, its filing corrected."""
    file_case(log, "(1990)浙0302行初1号", "1990-01-01")
    with monkeypatch.context() as earlier:
        earlier.setattr(ev, "EARLIEST_DATE", "0001-01-01")
        filed = file_case(log, OLD_CASE, "1989-11-20")
        ok(log.invoke("hearing", OLD_CASE, "--held-on", "1989-12-01", "--attendance", "staff"))
        ok(log.invoke("correct", filed["event_id"], "--set", "court=另一法院", "--reason", "录入有误"))


def test_a_log_already_holding_a_pre_1990_date_keeps_working(log, monkeypatch):
    """The refusal is for what is entered: the old rows still read, rebuild, verify and take new events."""
    _legacy_log(log, monkeypatch)
    ok(log.invoke("verify"))
    ok(log.invoke("rebuild"))
    ok(log.invoke("verify"))
    assert "1989-11-20" in ok(log.invoke("show", OLD_CASE))
    assert json.loads(ok(log.invoke("summary", "--year", "1989", "--format", "json")))["filed"] == 1
    ok(log.invoke("conclude", OLD_CASE, "--decided-on", "1990-06-01", "--disposition", "revoked"))
    # Dated before the case's latest date, so the case's whole history is replayed through the rules.
    ok(log.invoke("hearing", OLD_CASE, "--held-on", "1990-02-01", "--attendance", "staff"))
    refuses(log, ["hearing", OLD_CASE, "--held-on", "1989-12-02", "--attendance", "staff"], "before 1990-01-01")
    ok(log.invoke("verify"))


def test_an_export_holding_a_pre_1990_date_is_refused_on_import(log, monkeypatch, tmp_path):
    """Importing is entering: such a log moves by `caselog backup`, not by export and import."""
    _legacy_log(log, monkeypatch)
    (tmp_path / "export.jsonl").write_bytes(log.export())
    fresh = CaseLog(tmp_path / "fresh.db")
    check_line_number(check_refusal(fresh.invoke("import", str(tmp_path / "export.jsonl")), ["before 1990-01-01"]), 2)


# --- free text --------------------------------------------------------------------------------

INVISIBLE = ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d",
             "\u2060", "\ufeff", "\x85", "\u2028"]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_characters_in_free_text_are_refused(log, char):
    """Bidirectional controls reorder what is shown and zero-width ones hide a difference: like control characters."""
    name = f"王{char}某"
    refuses(log, ["file", CASE, "--filed-on", "2022-03-01", "--court", name, "--agency", "局", "--cause", "行政处罚"],
            "court", f"u+{ord(char):04x}")
    filed = file_case(log)
    hearing = ["hearing", CASE, "--held-on", "2022-05-10", "--attendance", "staff"]
    refuses(log, [*hearing, "--official", name], "official")
    refuses(log, ["retract", filed["event_id"], "--reason", f"重复{char}录入"], "reason")
    refuses(log, hearing, "recorded_by", clerk=name)
    refuses_import(log, 1, {"type": "hearing_held", "case": CASE, "held_on": "2022-05-10", "attendance": "staff",
                            "title": name}, ("title",))


# --- import lines -----------------------------------------------------------------------------


def test_a_key_given_twice_is_refused_naming_it_and_the_line(log):
    file_case(log)
    first = {"type": "hearing_held", "case": CASE, "held_on": "2022-05-03", "attendance": "staff"}
    twice = ('{"type": "hearing_held", "case": "%s", "held_on": "2022-05-01", "attendance": "staff", '
             '"held_on": "2022-05-02"}' % CASE)
    refuses_import(log, 3, first, "", twice, ("'held_on'", "twice"))


def test_a_key_given_twice_inside_changes_is_refused(log):
    filed = file_case(log)
    twice = ('{"type": "event_corrected", "case": "%s", "target": "%s", "changes": {"court": "甲", "court": "乙"}, '
             '"reason": "录入有误"}' % (CASE, filed["event_id"]))
    refuses_import(log, 1, twice, ("'court'", "twice"))


def test_ten_thousand_unknown_keys_make_one_short_line(log):
    line = {"type": "case_filed", "case": CASE, "filed_on": "2022-03-01", "court": "某法院", "agency": "某局",
            "cause": "行政处罚", **{f"k{i}": 1 for i in range(1, 10_001)}}
    assert len(refuses_import(log, 1, line, ("k1, k2, k3, k4, k5 and 9,995 more",))) < 200


def test_a_huge_unknown_key_is_cut(log):
    assert len(refuses_import(log, 1, {"type": "case_filed", "case": CASE, "x" * 100_000: 1}, ("unknown field",))) < 300


# --- times and anchors ------------------------------------------------------------------------


@pytest.mark.parametrize("since", ["٢٠٢٣-٠١-٠١T00:00:00Z", "2023-02-30T00:00:00Z", "２０２３-01-01"])
def test_a_malformed_time_is_refused_not_a_traceback(log, since):
    file_case(log)
    refuses(log, ["events", "--since", since], "timestamp")


@pytest.mark.parametrize("position", ["²", "١"])
def test_an_anchor_with_other_digits_is_refused(log, position):
    file_case(log)
    refuses(log, ["verify", "--anchor", f"{position}:" + "a" * 64], "anchor")


def test_an_import_line_stores_the_ascii_case_key(log):
    """The events table, which every figure groups by, holds the one key."""
    line = {"type": "case_filed", "case": "〔２０２２〕浙0302行初 9号", "filed_on": "2022年3月1日", "court": "法院",
            "agency": "局", "cause": "行政处罚"}
    ok(log.invoke("import", lines_file(log, line)))
    with sqlite3.connect(log.path) as conn:
        assert conn.execute('SELECT "case", json_extract(payload, "$.filed_on") FROM events').fetchall() == [
            ("(2022)浙0302行初9号", "2022-03-01")]
    assert interchange.proposed_from_json(line, "c").case == "(2022)浙0302行初9号"
