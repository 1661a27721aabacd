"""What ``caselog import`` refuses, and that it is all-or-nothing.

docs/domain.md "JSON Lines in and out" and "What the log refuses": a file whose
line N is bad is refused with a message naming ``line N`` and the problem, and
nothing of the file is written.  The refusal contract and the keyword groups
are those of test_refusals.py; in addition the error line must contain
``line N`` (N counts physical lines of the file, blank lines included).

Keywords used only here (lower-cased; ``a|b`` means either one):

    another case|other case|same case|different case|of case
                                                         correction/retraction of another case's event
    altered|tamper|hash                                  an exported line whose hash does not match
    recorded_at                                          recorded_at earlier than the previous event's
    recorded_at|timestamp                                a malformed recorded_at
    version                                              a given version that does not match
    event_id|event id|uuid|duplicate|already             a malformed or reused event_id
    json                                                 a line that is not JSON
    object|json                                          a JSON value that is not an object
    utf-8|utf8|encoding|decode|unicode                   bytes that are not UTF-8
    <the key>                                            an unknown key
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from conftest import TOMORROW, CaseLog, check_line_number, check_refusal
from test_refusals import (
    AFTER_CONCLUSION,
    ALREADY_FILED,
    APPEAL,
    BEFORE,
    CASE_NUMBER,
    DATE,
    DISPOSITION,
    FUTURE,
    NAMES,
    NO_REMAND,
    NOT_FILED,
    NOT_PENDING,
    REASON,
    SPOKE,
    UNKNOWN_EVENT,
    C,
    D,
    N,
)

OTHER_CASE = "another case|other case|same case|different case|of case"
ALTERED = "altered|tamper|hash"
RECORDED_AT = "recorded_at"
VERSION = "version"
EVENT_ID = "event_id|event id|uuid|duplicate|already"
JSON = "json"
OBJECT = "object|json"
UTF8 = "utf-8|utf8|encoding|decode|unicode"

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "small-city.jsonl"
BASE_CASE = "(2022)浙0302行初1号"  # filed through the CLI before every import
E_FILE, E_HEAR, E_CONC, E_D, E_DH = (str(uuid.uuid4()) for _ in range(5))
DROP = object()  # a key to leave out

PREFIX = [
    {"type": "case_filed", "case": C, "event_id": E_FILE, "filed_on": "2022-03-01", "court": "鹿城区人民法院", "agency": "区人民政府", "cause": "行政处罚"},
    {"type": "hearing_held", "case": C, "event_id": E_HEAR, "held_on": "2022-05-10", "attendance": "deputy", "official": "王某", "spoke": True},
    {"type": "case_concluded", "case": C, "event_id": E_CONC, "decided_on": "2022-08-01", "disposition": "revoked"},
    {"type": "case_filed", "case": D, "event_id": E_D, "filed_on": "2022-03-01", "court": "鹿城区人民法院", "agency": "市场监管局", "cause": "行政许可", "recorded_by": "clerk-z"},
    {"type": "hearing_held", "case": D, "event_id": E_DH, "held_on": "2022-04-01", "level": "first", "attendance": "staff", "excuse": "official_duty"},
]
BAD_LINE = len(PREFIX) + 1


def jsonl(*lines) -> bytes:
    """JSON Lines from dicts (dumped) and strings (taken as they are)."""
    return "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines).encode("utf-8")


def event(type_: str, **fields) -> dict:
    return {"type": type_, "case": C, **{k: v for k, v in fields.items() if v is not DROP}}


def hearing(**fields) -> dict:
    return {k: v for k, v in {**event("hearing_held", held_on="2022-05-11", attendance="staff"), **fields}.items() if v is not DROP}


def correction(target: str = E_HEAR, changes=None, **fields) -> dict:
    defaults = {"target": target, "changes": {"official": "李某"} if changes is None else changes, "reason": "录入有误"}
    return event("event_corrected", **{**defaults, **fields})


def run_import(log: CaseLog, data: bytes, stdin: bool = False):
    if stdin:
        return log.invoke("import", "-", input=data)
    path = log.path.parent / f"import-{uuid.uuid4().hex[:8]}.jsonl"
    path.write_bytes(data)
    return log.invoke("import", str(path))


def imports(log: CaseLog, data: bytes, stdin: bool = False) -> None:
    result = run_import(log, data, stdin)
    assert result.exit_code == 0 and result.exception is None, f"import refused: {result.stderr}{result.exception!r}"
    assert "Traceback" not in result.output


def refuses_import(log: CaseLog, data: bytes, line: int | None, *keywords: str, stdin: bool = False, code=1) -> str:
    before = log.snapshot()
    message = check_refusal(run_import(log, data, stdin), keywords, code)
    if line is not None:
        check_line_number(message, line)
    assert log.snapshot() in (before, b"" if before is None else before), "a refused import changed the log"
    return message


@pytest.fixture
def log(tmp_path) -> CaseLog:
    """A log holding one case filed through the CLI, so that 'unchanged' means something."""
    log = CaseLog(tmp_path / "caselog.db", NAMES)
    log.do(f"file {BASE_CASE} --filed-on 2022-01-05 {{FILE}}")
    return log


def test_the_prefix_imports_and_keeps_ids(log):
    """The valid lines every refusal below builds on are accepted as given."""
    imports(log, jsonl(*PREFIX))
    events = log.events()
    assert [e["event_id"] for e in events[1:]] == [E_FILE, E_HEAR, E_CONC, E_D, E_DH]
    assert [e["case"] for e in events[1:]] == [C, C, C, D, D]
    assert events[4]["recorded_by"] == "clerk-z"
    assert events[2]["spoke"] is True and events[2]["official"] == "王某"


def B(id: str, line, *keywords: str):
    return pytest.param(line, keywords, id=id)


BAD_LINES = [
    # keys
    B("unknown key", hearing(colour="red"), "colour"),
    B("key of another event type", hearing(filed_on="2022-03-01"), "filed_on"),
    B("spoke on a case_filed", event("case_filed", case=N, filed_on="2022-03-01", court="某法院", agency="某局", cause="行政处罚", spoke=True), "spoke"),
    B("missing type", hearing(type=DROP), "type"),
    B("null type", hearing(type=None), "type"),
    B("unknown type", hearing(type="case_reopened"), "type|case_reopened"),
    B("missing case", hearing(case=DROP), "case"),
    B("case not text", hearing(case=123), "case"),
    B("missing required field", hearing(held_on=DROP), "held_on"),
    # case numbers and filing
    B("malformed case number", hearing(case="(2022)浙0302民初1号"), CASE_NUMBER, "行初"),
    B("event on a case never filed", hearing(case=N), NOT_FILED),
    B("case_filed twice", {**PREFIX[0], "event_id": str(uuid.uuid4())}, ALREADY_FILED),
    # dates
    B("date before filed_on", hearing(held_on="2022-02-01"), BEFORE),
    B("date after today", hearing(held_on=TOMORROW.isoformat()), FUTURE),
    B("malformed date", hearing(held_on="2022_05_11"), DATE),
    B("date as a number", hearing(held_on=20220511), "date|held_on"),
    B("impossible date", hearing(held_on="2022-02-30"), DATE),
    # hearings
    B("head without spoke", hearing(attendance="principal"), SPOKE),
    B("spoke as a string", hearing(attendance="deputy", spoke="yes"), SPOKE),
    B("spoke for staff", hearing(spoke=False), SPOKE),
    B("unknown attendance", hearing(attendance="boss"), "attendance"),
    B("unknown level", hearing(level="fourth"), "level"),
    B("unknown excuse", hearing(excuse="sick"), "excuse"),
    B("first hearing after the conclusion", hearing(held_on="2022-09-01"), AFTER_CONCLUSION),
    B("second hearing without an appeal", hearing(level="second"), APPEAL),
    # conclusions, appeals, decisions
    B("second conclusion without a remand", event("case_concluded", decided_on="2022-09-01", disposition="claims_dismissed"), NO_REMAND),
    B("appeal decision without an appeal", event("appeal_decided", decided_on="2022-09-01", result="upheld"), NOT_PENDING),
    B("appeal_case not a xingzhong number", event("appeal_filed", filed_on="2022-08-15", appeal_case="(2022)浙03行初45号", appellant="agency"), "行终"),
    B("unknown appellant", event("appeal_filed", filed_on="2022-08-15", appeal_case="(2022)浙03行终45号", appellant="court"), "appellant"),
    B("retrial reversed without a disposition", event("retrial_decided", decided_on="2022-09-01", result="reversed"), DISPOSITION),
    B("retrial upheld with a disposition", event("retrial_decided", decided_on="2022-09-01", result="upheld", disposition="revoked"), DISPOSITION),
    # corrections and retractions
    B("correction of an unknown event", correction(target=str(uuid.uuid4())), UNKNOWN_EVENT),
    B("correction with a malformed target", correction(target="not-an-id"), "target|event id|event_id|uuid|unknown event"),
    B("correction of an event of another case", correction(target=E_DH), OTHER_CASE),
    B("retraction of an event of another case", event("event_retracted", target=E_DH, reason="误录"), OTHER_CASE),
    B("retraction of the case_filed of another case", event("event_retracted", target=E_D, reason="误录"), OTHER_CASE),
    B("correction without a reason", correction(reason=DROP), REASON),
    B("correction with an empty reason", correction(reason=""), REASON),
    B("retraction without a reason", event("event_retracted", target=E_HEAR), REASON),
    B("correction with empty changes", correction(changes={}), "change"),
    B("correction with changes not an object", correction(changes="official=李某"), "change"),
    *[
        B(f"correction changing {key}", correction(changes={key: value}), key)
        for key, value in (
            ("case", D),
            ("type", "case_concluded"),
            ("event_id", str(uuid.uuid4())),
            ("recorded_at", "2022-05-11T00:00:00Z"),
            ("recorded_by", "clerk-x"),
            ("version", 9),
            ("position", 1),
            ("hash", "00"),
        )
    ],
    B("correction of a field of another type", correction(changes={"filed_on": "2022-03-01"}), "filed_on"),
    B("correction removing a required field", correction(changes={"held_on": None}), "held_on"),
    B("correction deputy->staff keeping spoke", correction(changes={"attendance": "staff"}), SPOKE),
    B("correction with spoke as a string", correction(changes={"spoke": "false"}), SPOKE),
    B("correction moving the hearing after the conclusion", correction(changes={"held_on": "2022-08-02"}), AFTER_CONCLUSION),
    B("retraction of case_filed while events stand", event("event_retracted", target=E_FILE, reason="误录"), "stand|still|other event|remain"),
    # envelope
    B("version that does not match", hearing(version=9), VERSION),
    B("version not a number", hearing(version="two"), VERSION),
    B("malformed event_id", hearing(event_id="not-a-uuid"), EVENT_ID),
    B("event_id already in the log", hearing(event_id=E_HEAR), EVENT_ID),
    B("malformed recorded_at", hearing(recorded_at="yesterday"), RECORDED_AT + "|timestamp"),
    B("recorded_at earlier than the previous event's", hearing(recorded_at="2022-05-11T00:00:00Z"), RECORDED_AT),
    # not a JSON object
    B("invalid JSON", '{"type": "hearing_held", "case": ', JSON),
    B("JSON followed by garbage", json.dumps(hearing(), ensure_ascii=False) + " extra", JSON),
    B("JSON array instead of an object", json.dumps([hearing()], ensure_ascii=False), OBJECT),
    B("JSON string instead of an object", '"hearing_held"', OBJECT),
    B("JSON number instead of an object", "42", OBJECT),
    B("JSON null instead of an object", "null", OBJECT),
]


@pytest.mark.parametrize("bad, keywords", BAD_LINES)
def test_bad_line_refuses_the_whole_file(log, bad, keywords):
    """Line 6 is bad: the file is refused naming line 6 and the problem; nothing of it is written."""
    refuses_import(log, jsonl(*PREFIX, bad), BAD_LINE, *keywords)


def test_line_numbers_count_blank_lines(log):
    """Blank lines are skipped but counted: the bad line is named by its place in the file."""
    data = jsonl(PREFIX[0], "", PREFIX[1], "   ", PREFIX[2], "\t", PREFIX[3], PREFIX[4], "", hearing(attendance="boss"))
    refuses_import(log, data, 10, "attendance")


def test_blank_lines_are_skipped(log):
    """Empty and whitespace-only lines between events are not events."""
    imports(log, jsonl("", PREFIX[0], "", "   ", PREFIX[1], "\t", PREFIX[2], PREFIX[3], PREFIX[4], "", ""))
    assert len(log.events()) == 1 + len(PREFIX)


@pytest.mark.parametrize(
    "bad_at, total",
    [pytest.param(61, 61, id="bad line last of 61"), pytest.param(30, 60, id="bad line 30 of 60"), pytest.param(1, 60, id="bad first line of 60")],
)
def test_many_lines_all_or_nothing(log, bad_at, total):
    """However many good lines surround the bad one, none of them is written."""
    lines = [
        event("case_filed", case=f"(2022)浙0302行初{200 + i}号", filed_on="2022-03-01", court="某法院", agency=f"某局{i % 7}", cause="行政处罚")
        for i in range(total)
    ]
    lines[bad_at - 1] = {**lines[bad_at - 1], "cause": "民事纠纷"}
    refuses_import(log, jsonl(*lines), bad_at, "cause")


def test_bad_line_from_stdin(log):
    """import - reads standard input with the same all-or-nothing refusal."""
    refuses_import(log, jsonl(*PREFIX, hearing(case=N)), BAD_LINE, NOT_FILED, stdin=True)


def test_correction_may_target_an_event_given_earlier_in_the_file(log):
    """Corrections and retractions may name event_ids that appear above them in the same file."""
    fix = correction(changes={"attendance": "staff", "spoke": None})
    imports(log, jsonl(*PREFIX, fix, event("event_retracted", case=D, target=E_DH, reason="误录")))
    events = log.events()
    assert [e["type"] for e in events[-2:]] == ["event_corrected", "event_retracted"]
    assert events[-2]["target"] == E_HEAR and events[-2]["changes"] == {"attendance": "staff", "spoke": None}
    assert events[-1]["target"] == E_DH and events[-1]["case"] == D


def test_correction_may_target_an_event_already_in_the_log(log):
    """A correction in a file may name an event logged before the import."""
    base_id = log.events()[0]["event_id"]
    imports(log, jsonl(event("event_corrected", case=BASE_CASE, target=base_id, changes={"agency": "市人民政府"}, reason="录入有误")))
    assert log.events()[-1]["target"] == base_id


def test_correction_may_not_target_a_later_line(log):
    """An event_id given below the correction is still unknown when the correction is read."""
    later = str(uuid.uuid4())
    data = jsonl(*PREFIX, correction(target=later), hearing(event_id=later))
    refuses_import(log, data, BAD_LINE, UNKNOWN_EVENT)


def test_correction_of_a_correction_in_a_file(log):
    """Corrections cannot be corrected, also within one file."""
    first = str(uuid.uuid4())
    data = jsonl(*PREFIX, correction(event_id=first), correction(target=first, changes={"reason": "另改"}))
    refuses_import(log, data, BAD_LINE + 1, "correction|event_corrected")


def test_full_width_case_is_stored_half_width(log):
    """A case number with full-width parentheses in a file is stored half-width."""
    imports(log, jsonl({**PREFIX[0], "case": "（2022）浙0302行初123号"}, {**PREFIX[1], "case": "（2022）浙0302行初123号"}))
    assert [e["case"] for e in log.events()[1:]] == [C, C]


def test_equal_recorded_at_is_accepted(tmp_path):
    """recorded_at may repeat; it only must not decrease."""
    log = CaseLog(tmp_path / "caselog.db", NAMES)
    stamp = "2022-03-02T00:00:00Z"
    imports(log, jsonl({**PREFIX[0], "recorded_at": stamp}, {**PREFIX[1], "recorded_at": stamp}))
    assert [e["recorded_at"] for e in log.events()] == [stamp, stamp]


def test_recorded_at_earlier_than_the_previous_line_is_refused(tmp_path):
    """recorded_at never decreases along position: line 2 earlier than line 1 is refused."""
    log = CaseLog(tmp_path / "caselog.db", NAMES)
    data = jsonl({**PREFIX[0], "recorded_at": "2022-03-02T00:00:00Z"}, {**PREFIX[1], "recorded_at": "2022-03-01T23:59:59Z"})
    refuses_import(log, data, 2, RECORDED_AT)
    assert log.snapshot() in (None, b"")


def test_recorded_at_earlier_than_the_log_is_refused(log):
    """The base event was recorded now; a first line recorded in 2022 would go back in time."""
    refuses_import(log, jsonl({**PREFIX[0], "recorded_at": "2022-03-02T00:00:00Z"}), 1, RECORDED_AT)


# --- encodings and empty files ---------------------------------------------------------


def test_utf8_bom_is_tolerated(log):
    """A UTF-8 byte order mark before the first line is not part of it."""
    imports(log, b"\xef\xbb\xbf" + jsonl(*PREFIX))
    assert [e["event_id"] for e in log.events()[1:]] == [E_FILE, E_HEAR, E_CONC, E_D, E_DH]


def test_bom_does_not_shift_line_numbers(log):
    """With a BOM, a bad line 2 is still line 2."""
    refuses_import(log, b"\xef\xbb\xbf" + jsonl(PREFIX[0], hearing(attendance="boss")), 2, "attendance")


def test_invalid_utf8_is_refused_with_its_line(log):
    """Bytes that are not UTF-8 on line 6 refuse the file, naming line 6."""
    bad = b'{"type": "hearing_held", "case": "' + C.encode() + b'", "held_on": "2022-05-11", "attendance": "staff", "official": "\xff\xfe"}\n'
    refuses_import(log, jsonl(*PREFIX) + bad, BAD_LINE, UTF8)


@pytest.mark.parametrize(
    "data",
    [pytest.param(b"", id="empty file"), pytest.param(b"\n\n   \n", id="only blank lines"), pytest.param(b"\xef\xbb\xbf", id="only a BOM")],
)
def test_empty_file_imports_nothing(log, data):
    """An empty file is accepted as no events or refused clearly; either way the log is unchanged."""
    before = log.export()
    result = run_import(log, data)
    if result.exit_code != 0:
        check_refusal(result)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert log.export() == before


def test_missing_file_is_refused(log):
    """A file that does not exist is refused without a traceback."""
    before = log.export()
    check_refusal(log.invoke("import", str(log.path.parent / "no-such.jsonl")), ["no-such|not exist|no such|not found"], code=(1, 2))
    assert log.export() == before


# --- exports: reproduced exactly, alterations refused ----------------------------------

ROUND_TRIP = (
    "f = file {C} --filed-on 2022-03-01 {FILE} --plaintiff 张某 --field 公安",
    "file {D} --filed-on 2022-03-02 --court 某法院 --agency 市场监管局 --cause 行政许可",
    "h = hearing {C} --held-on 2022-05-10 --attendance deputy --official 王某 --title 副区长 --spoke",
    "h2 = hearing {D} --held-on 2022-05-11 --attendance staff --excuse official_duty",
    "conclude {C} --decided-on 2022-08-01 --disposition revoked",
    "appeal {C} --filed-on 2022-08-15 --appeal-case (2022)浙03行终45号 --appellant agency",
    "hearing {C} --held-on 2022-10-01 --level second --attendance principal --silent",
    "appeal-decision {C} --decided-on 2022-11-20 --result reversed --disposition claims_dismissed",
    "correct {h} --set attendance=staff --set spoke= --set title= --reason 录入有误",
    "retract {h2} --reason 重复录入",
)


@pytest.fixture
def exported(history) -> bytes:
    """The export of a log written through the CLI (two cases, a correction, a retraction)."""
    data = history(ROUND_TRIP, NAMES).export()
    assert len(data.splitlines()) == len(ROUND_TRIP)
    return data


def lines_of(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def test_export_carries_the_whole_envelope(exported):
    """Each exported line has the envelope and hash-chain fields the import checks."""
    for line in lines_of(exported):
        assert {"event_id", "case", "type", "recorded_at", "recorded_by", "version", "position", "schema_version", "payload_sha256", "hash"} <= set(line)


@pytest.mark.parametrize("stdin", [False, True], ids=["from a file", "from stdin"])
def test_export_imported_into_an_empty_log_is_reproduced(tmp_path, exported, stdin):
    """Same events, ids and hashes: the second export is byte-for-byte the first."""
    fresh = CaseLog(tmp_path / "fresh.db", NAMES)
    imports(fresh, exported, stdin=stdin)
    assert fresh.export() == exported


def test_example_log_round_trips(tmp_path):
    """The shared example imports, and its export imports into an empty log byte-for-byte."""
    first = CaseLog(tmp_path / "first.db", NAMES)
    imports(first, EXAMPLE.read_bytes())
    exported = first.export()
    given = [json.loads(line) for line in EXAMPLE.read_text("utf-8").splitlines() if line.strip()]
    assert [e["event_id"] for e in lines_of(exported)] == [e["event_id"] for e in given]
    second = CaseLog(tmp_path / "second.db", NAMES)
    imports(second, exported)
    assert second.export() == exported


def altered(exported: bytes, line: int, change) -> bytes:
    rows = exported.decode("utf-8").splitlines()
    row = json.loads(rows[line - 1])
    change(row)
    rows[line - 1] = json.dumps(row, ensure_ascii=False)
    return ("\n".join(rows) + "\n").encode("utf-8")


@pytest.mark.parametrize(
    "line, change",
    [
        pytest.param(3, lambda row: row.update(official="李某"), id="hearing official changed"),
        pytest.param(3, lambda row: row.update(held_on="2022-05-12"), id="hearing date changed"),
        pytest.param(1, lambda row: row.update(agency="市人民政府"), id="filing agency changed"),
        pytest.param(5, lambda row: row.update(disposition="claims_dismissed"), id="disposition changed"),
        pytest.param(9, lambda row: row["changes"].update(attendance="deputy", spoke=True), id="correction changes changed"),
        pytest.param(10, lambda row: row.update(reason="改了"), id="retraction reason changed"),
        pytest.param(4, lambda row: row.update(hash=row["hash"][:-1] + ("0" if row["hash"][-1] != "0" else "1")), id="hash changed"),
    ],
)
def test_altered_export_is_refused(tmp_path, exported, line, change):
    """A changed payload under the same hash is refused as altered, naming its line."""
    fresh = CaseLog(tmp_path / "fresh.db", NAMES)
    refuses_import(fresh, altered(exported, line, change), line, ALTERED)
    assert fresh.snapshot() in (None, b"")


def test_export_with_a_line_removed_is_refused(tmp_path, exported):
    """Dropping line 3 breaks the chain: what is now line 3 is refused."""
    rows = exported.splitlines(keepends=True)
    fresh = CaseLog(tmp_path / "fresh.db", NAMES)
    refuses_import(fresh, b"".join(rows[:2] + rows[3:]), 3)
    assert fresh.snapshot() in (None, b"")
