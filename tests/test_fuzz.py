"""Bad input of every kind gets a clear error and writes nothing.

Hypothesis takes a valid clerk command or import line and breaks it: wrong
types, missing and unknown fields, unknown enum values, impossible and future
dates, 10,000-character strings, control characters, SQL-looking text, Chinese
text where a code is expected, invalid UTF-8.  Whole files are broken too
(invalid UTF-8, a BOM in the wrong place, random bytes), and ``--db`` points at
files that are not caselog's.  Every time: exit status 1 or 2, no traceback,
nothing on stdout, a refusal (exit 1) is one ``Error:`` line on stderr, and the
log's export is unchanged.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import re
import sqlite3
import unicodedata
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from caselog import events as ev
from caselog import vocabulary

from integrity_support import copy_db, invoke

CASE = "(2022)浙0302行初1号"
NEW_CASE = "(2022)浙0302行初2号"
FILED_ID = "5d1c4a36-0b7e-4d51-9c1e-2f3a4b5c6d7e"  # the filing of CASE in the prepared log
FILED_ON = "2022-03-01"
TODAY = dt.date.today()
SQL = "'); DROP TABLE events;--"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CAUSES = ("行政处罚", "行政强制措施", "行政强制执行", "行政许可", "行政征收或者征用", "行政登记", "行政确认", "行政给付",
          "行政允诺", "行政征缴", "行政奖励", "行政收费", "政府信息公开", "行政批复", "行政处理", "行政复议", "行政裁决",
          "行政协议", "行政补偿", "行政赔偿", "不履行职责", "行政行为公益诉讼")
ENUMS = {
    "attendance": ("principal", "deputy", "other_head", "staff", "lawyer_only", "none"),
    "level": ("first", "second", "retrial"),
    "excuse": ("force_majeure", "accident", "official_duty", "other"),
    "appellant": ("plaintiff", "agency", "both"),
    "result": ("upheld", "reversed", "remanded", "withdrawn"),
    "disposition": ("revoked", "partly_revoked", "revoked_redo", "ordered_to_perform", "ordered_to_pay",
                    "confirmed_illegal", "confirmed_void", "varied", "agreement_liability", "compensation",
                    "claims_dismissed", "suit_dismissed", "withdrawn", "withdrawn_after_change", "mediated", "terminated"),
    "cause": CAUSES,
    "type": ("case_filed", "hearing_held", "case_concluded", "appeal_filed", "appeal_decided", "retrial_decided",
             "event_corrected", "event_retracted"),
}
_FIRST_INSTANCE = re.compile(r"\(([0-9]{4})\)(?:[\u4e00-\u9fff][0-9]+(?:行赔初|行初)|[\u4e00-\u9fff]{1,8}[0-9]*(?:行赔初|行初)字第)[1-9][0-9]*号")


# --- what is valid (docs/domain.md), so that generated values are surely not --------------


# Full-width digits and punctuation, and the brackets case numbers are printed with, read as ASCII.
HALF_WIDTH = str.maketrans("０１２３４５６７８９（）〔〕【】－／．", "0123456789()()()-/.")


def half_width(text: str) -> str:
    return "".join(text.translate(HALF_WIDTH).split())


def valid_date(text: str, earliest: str = "1990-01-01") -> bool:
    """Whether ``text`` may be a date the log accepts (ISO, or 2022/5/10, 2022.5.10, 2022年5月10日...)."""
    written = re.fullmatch(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?", half_width(text))
    if written is None:
        return False
    iso = f"{written[1]}-{int(written[2]):02d}-{int(written[3]):02d}"
    try:
        return earliest <= iso and dt.date.fromisoformat(iso) <= TODAY
    except ValueError:
        return False


def valid_text(text: str) -> bool:
    text = text.strip()
    return 0 < len(text) <= 200 and not re.search(
        r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff\ud800-\udfff]", text)


def valid_agency(text: str) -> bool:
    """An agency name is compared and stored without whitespace, after NFKC."""
    return valid_text("".join(unicodedata.normalize("NFKC", text).split()) or text)


def spelled(kind: str, text: str) -> bool:
    """Whether a clerk's command reads ``text`` as a word of ``kind``'s vocabulary."""
    if kind not in vocabulary.WORDS:
        return False
    try:
        vocabulary.word(kind, text)
    except ValueError:
        return False
    return True


def parses_as(text: str, number: int) -> bool:
    try:
        return int(text) == number
    except ValueError:
        return False


# --- bad values -------------------------------------------------------------------------

SPECIAL = [SQL, "", " ", "null", "None", "0", "-1", "1e309", "NaN", "true", "[]", "{}", "%s", "{0}", "$(rm -rf /)",
           "２０２２-０５-１０", "2022-02-30", "2022-13-01", "0000-00-00", "2022-5-1", "2022/05/10", "20220510",
           (TODAY + dt.timedelta(days=1)).isoformat(), "9999-12-31", "2021-12-31", " 2022-05-10", "行政处罚 ", "Deputy",
           "x" * 10_000, "案" * 10_000, "\x00", "a\x1bb", "\udcff", "a\udcffb", "\ufeff", "\u202e", "(2022)浙0302行终1号",
           "(2022)浙0302行初0号", "(22)浙0302行初1号", "(2022)0302行初1号", "（2022）浙0302行初1號"]
chinese = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=30)
controls = st.sampled_from([chr(c) for c in [*range(0x20), 0x7F]])
with_control = st.tuples(st.text(min_size=1, max_size=10), controls, st.text(min_size=1, max_size=10)).map(
    lambda t: f"x{t[0]}{t[1]}{t[2]}x")
with_surrogate = st.tuples(st.text(max_size=10), st.integers(0xDC80, 0xDCFF)).map(lambda t: f"a{t[0]}{chr(t[1])}b")
huge = st.integers(201, 10_000).flatmap(lambda n: st.sampled_from(["x" * n, "案" * n, (SQL * n)[:n] + "x"]))
anything = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=40), chinese, with_control, with_surrogate, huge)
bad_text = st.one_of(st.sampled_from(["", " ", "\t", "\x00", "a\x1bb", "x" * 10_000, "\udcff"]), with_control,
                     with_surrogate, huge)
future = st.dates(min_value=TODAY + dt.timedelta(days=1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat)
impossible = st.tuples(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)).map(
    lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}")
before_filing = st.dates(max_value=dt.date(2022, 2, 28)).map(dt.date.isoformat)


def bad(kind: str) -> st.SearchStrategy[str]:
    """Values (strings, but for ``changes``) that are never valid for ``kind`` on the prepared log."""
    if kind == "text":
        return bad_text.filter(lambda s: not valid_text(s))
    if kind == "agency":
        return bad_text.filter(lambda s: not valid_agency(s))
    if kind in ("date", "date_any"):
        earliest = FILED_ON if kind == "date" else "1990-01-01"
        dates = st.one_of(anything, future, impossible, *([before_filing] if kind == "date" else []))
        return dates.filter(lambda s: not valid_date(s, earliest))
    if kind in ENUMS:
        # Clerks' spellings of a word (REVOKED, 撤销) are read as the word: never a bad value.
        return st.one_of(anything, st.sampled_from([v.upper() for v in ENUMS[kind] if v.isascii()] or [SQL])).filter(
            lambda s: s not in ENUMS[kind] and not spelled(kind, s))
    if kind == "case":  # any case but the one filed is refused
        return st.one_of(anything, st.just(NEW_CASE)).filter(lambda s: half_width(s) != CASE)
    if kind == "new_case":  # only a well-formed number not yet filed is accepted
        return st.one_of(anything, st.just(CASE), st.just(f"  {CASE} ")).filter(
            lambda s: half_width(s) == CASE or not _FIRST_INSTANCE.fullmatch(half_width(s)))
    if kind in ("version0", "version1"):
        current = int(kind[-1])
        return st.one_of(anything, st.integers(-5, 10**12).map(str)).filter(lambda s: not parses_as(s, current))
    if kind == "event_id":
        return st.one_of(anything, st.uuids().map(str)).filter(lambda s: s.lower() != FILED_ID)
    if kind == "set":
        return st.one_of(
            st.sampled_from(["court", "colour=red", "=x", "case=" + NEW_CASE, "type=hearing_held", "event_id=" + str(uuid.uuid4()),
                             "recorded_at=2022-01-01T00:00:00Z", "version=2", "position=1", "spoke=true", "court=",
                             "filed_on=", "cause=", SQL]),
            bad("date_any").map(lambda v: f"filed_on={v}"),
            bad("cause").map(lambda v: f"cause={v}"),
            bad("agency").filter(lambda v: v != "").map(lambda v: f"agency={v}"),
        )
    if kind == "changes":  # of the filing, in an import line
        return st.one_of(
            st.sampled_from([{}, {"case": NEW_CASE}, {"type": "hearing_held"}, {"event_id": str(uuid.uuid4())},
                             {"recorded_by": "x"}, {"colour": "red"}, {"spoke": True}, {"court": None}, {"cause": "行政"}]),
            bad("agency").map(lambda v: {"agency": v}),
            bad("date_any").map(lambda v: {"filed_on": v}),
        )
    return anything  # appeal_case: the prepared case has no conclusion to appeal anyway


def positional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return strategy.filter(lambda s: s not in ("-h", "--help"))


# --- the prepared log -------------------------------------------------------------------------


class Log:
    """The prepared log: one filed case.  Examples share it while nothing writes to it;
    after a write (a bug, reported by ``refuses``) the next example gets a fresh copy."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.source = folder / "pristine.db"
        line = {"type": "case_filed", "case": CASE, "filed_on": FILED_ON, "court": "某某区人民法院",
                "agency": "市公安局", "cause": "行政处罚", "event_id": FILED_ID, "recorded_by": "clerk-t"}
        (folder / "filed.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
        result = invoke(self.source, "import", str(folder / "filed.jsonl"))
        assert result.exit_code == 0, result.output
        self.before = export(self.source)
        self.copies = 0
        self.path = self.fresh()

    def fresh(self) -> Path:
        self.copies += 1
        return copy_db(self.source, self.folder / f"log{self.copies}.db")

    def refuses(self, *args: str, clerk: str = "clerk-t", shown=None) -> str:
        """Run a command that must be refused with the log unchanged; return the error line."""
        result = invoke(self.path, *args, clerk=clerk)
        changed = export(self.path) != self.before
        if changed:
            self.path = self.fresh()
        error = assert_refused(result, args if shown is None else shown)
        assert not changed, f"a refused command changed the log: {shown or args}"
        return error


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> Log:
    return Log(tmp_path_factory.mktemp("fuzz"))


def export(db: Path) -> bytes:
    result = invoke(db, "export")
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def assert_refused(result, shown_args=()) -> str:
    shown = f"{list(shown_args)!r}\nexit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr[:2000]!r}\n" \
            f"exception: {result.exception!r}"
    assert "Traceback" not in result.output, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert result.exit_code in (1, 2), shown
    assert result.stdout == "", shown
    error = result.stderr.strip()
    if result.exit_code == 1:
        assert error.count("\n") == 0 and error.startswith("Error: "), "a refusal is one 'Error: ' line\n" + shown
    else:
        assert "Error: " in error, shown
    return error


# --- clerk commands ---------------------------------------------------------------------------

#: command -> slots (option, or None for the argument; kind; valid value; required).
COMMANDS = {
    "file": [(None, "new_case", NEW_CASE, True), ("--filed-on", "date_any", FILED_ON, True),
             ("--court", "text", "某某区人民法院", True), ("--agency", "agency", "市公安局", True),
             ("--cause", "cause", "行政处罚", True), ("--plaintiff", "text", "张某", False),
             ("--field", "text", "公安", False), ("--expect-version", "version0", "0", False)],
    "hearing": [(None, "case", CASE, True), ("--held-on", "date", "2022-05-10", True),
                ("--attendance", "attendance", "deputy", True), ("--official", "text", "王某", False),
                ("--title", "text", "副局长", False), ("--silent", "flag", None, True),
                ("--expect-version", "version1", "1", False)],
    "conclude": [(None, "case", CASE, True), ("--decided-on", "date", "2022-08-01", True),
                 ("--disposition", "disposition", "revoked", True), ("--expect-version", "version1", "1", False)],
    "correct": [(None, "event_id", FILED_ID, True), ("--set", "set", "court=新法院", True),
                ("--reason", "text", "录入有误", True), ("--expect-version", "version1", "1", False)],
    "retract": [(None, "event_id", FILED_ID, True), ("--reason", "text", "重复录入", True),
                ("--expect-version", "version1", "1", False)],
    # Refused by the rules whatever the fields (nothing to appeal), which is fine here.
    "appeal": [(None, "case", CASE, True), ("--filed-on", "date", "2022-08-20", True),
               ("--appeal-case", "appeal_case", "(2022)浙03行终45号", True), ("--appellant", "appellant", "agency", True)],
    "appeal-decision": [(None, "case", CASE, True), ("--decided-on", "date", "2022-11-02", True),
                        ("--result", "result", "reversed", True), ("--disposition", "disposition", "claims_dismissed", False)],
    "retrial-decision": [(None, "case", CASE, True), ("--decided-on", "date", "2022-11-02", True),
                         ("--result", "result", "upheld", True)],
}
ACCEPTED = ("file", "hearing", "conclude", "correct", "retract")


def command_line(name: str, slots: list) -> list[str]:
    args = [name]
    for option, _, value, _ in slots:
        if option is None:
            args.append(value)
        elif value is None:
            args.append(option)
        else:
            args += [option, value]
    return args


@pytest.mark.parametrize("name", ACCEPTED)
def test_unbroken_commands_are_accepted(log, tmp_path, name):
    """The commands broken below are valid as given, so what breaks them is what is refused."""
    db = copy_db(log.source, tmp_path / "caselog.db")
    result = invoke(db, *command_line(name, COMMANDS[name]))
    assert result.exit_code == 0, result.output


@st.composite
def broken_commands(draw) -> list[str]:
    name = draw(st.sampled_from(sorted(COMMANDS)))
    slots = list(COMMANDS[name])
    extra: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["value", "value", "value", "drop", "unknown option", "extra argument"]))
        if how == "drop":
            required = [i for i, slot in enumerate(slots) if slot[3]]
            if required:
                slots.pop(draw(st.sampled_from(required)))
                continue
        if how == "unknown option":
            known = {o for o, *_ in COMMANDS[name] if o} | {"--json", "--help", "--expect-version", "--level",
                                                           "--excuse", "--spoke", "--silent", "--disposition"}
            option = draw(st.from_regex(r"--[a-z][a-z-]{0,15}", fullmatch=True).filter(lambda o: o not in known))
            extra += [option, draw(anything)]
            continue
        if how == "extra argument":
            extra.append(draw(positional(anything).filter(lambda s: not s.startswith("-"))))
            continue
        changeable = [i for i, slot in enumerate(slots) if slot[1] != "flag"]
        i = draw(st.sampled_from(changeable))
        option, kind, _, required = slots[i]
        value = draw(positional(bad(kind)) if option is None else bad(kind))
        slots[i] = (option, kind, value, required)
    return command_line(name, slots) + extra


@FUZZ
@given(args=broken_commands())
def test_broken_clerk_commands_are_refused_and_write_nothing(log, args):
    log.refuses(*args)


@pytest.mark.parametrize("case, filed_on", [
    (NEW_CASE, (TODAY + dt.timedelta(days=1)).isoformat()),  # a future date, numbered for another year
    (CASE, "2021-12-01"),  # filed already, and numbered for another year
], ids=["future-date", "already-filed"])
def test_a_refused_filing_is_one_line_without_a_warning(log, case, filed_on):
    """The year-mismatch warning is for an event that is recorded, not one that is refused."""
    log.refuses("file", case, "--filed-on", filed_on, "--court", "某某区人民法院", "--agency", "市公安局",
                "--cause", "行政处罚")


@FUZZ
@given(name=st.sampled_from(ACCEPTED), clerk=bad("text"))
def test_a_bad_clerk_name_is_refused(log, name, clerk):
    """--clerk (or CASELOG_CLERK) becomes recorded_by, which import checks as text: a clerk
    command must refuse what import would refuse, or the export cannot be imported again."""
    args = command_line(name, COMMANDS[name])
    log.refuses(*args, clerk=clerk, shown=[clerk[:50], *args])


@pytest.mark.parametrize("args", [
    ["hearing", CASE, "--held-on", "2022-05-10", "--attendance", "staff", "--official", "a\udcffb"],
    ["file", NEW_CASE, "--filed-on", FILED_ON, "--court", "\udcff法院", "--agency", "市公安局", "--cause", "行政处罚"],
    ["retract", FILED_ID, "--reason", "重复\udcff录入"],
], ids=["official", "court", "reason"])
def test_invalid_utf8_on_the_command_line_is_refused(log, args):
    """Bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape)."""
    log.refuses(*args)


# --- import files ----------------------------------------------------------------------------

#: Valid lines on the prepared log, with the keys that must be present.
LINES = {
    "hearing": ({"type": "hearing_held", "case": CASE, "held_on": "2022-05-10", "attendance": "deputy",
                 "official": "王某", "spoke": False}, ("type", "case", "held_on", "attendance", "spoke")),
    "filing": ({"type": "case_filed", "case": NEW_CASE, "filed_on": FILED_ON, "court": "某某区人民法院",
                "agency": "市公安局", "cause": "行政处罚", "plaintiff": "张某"},
               ("type", "case", "filed_on", "court", "agency", "cause")),
    "conclusion": ({"type": "case_concluded", "case": CASE, "decided_on": "2022-08-01", "disposition": "revoked"},
                   ("type", "case", "decided_on", "disposition")),
    "correction": ({"type": "event_corrected", "case": CASE, "target": FILED_ID, "changes": {"court": "新法院"},
                    "reason": "录入有误"}, ("type", "case", "target", "changes", "reason")),
}
KINDS = {"case": "case", "held_on": "date", "filed_on": "date", "decided_on": "date", "attendance": "attendance",
         "official": "text", "court": "text", "agency": "text", "cause": "cause", "plaintiff": "text",
         "disposition": "disposition", "target": "event_id", "reason": "text", "type": "type", "changes": "changes"}
KNOWN_KEYS = {"type", "case", "event_id", "recorded_at", "recorded_by", "version", "position", "schema_version",
              "payload_sha256", "hash", "filed_on", "court", "agency", "cause", "plaintiff", "field", "held_on", "level",
              "attendance", "official", "title", "spoke", "excuse", "decided_on", "disposition", "appeal_case",
              "appellant", "result", "target", "changes", "reason"}
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(json_scalars,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=6)
BAD_ENVELOPE = {
    "event_id": st.one_of(anything, st.just(FILED_ID), st.just(FILED_ID.upper()), json_values).filter(
        lambda v: not isinstance(v, str) or v.lower() == FILED_ID or not re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", v.lower())),
    "recorded_at": st.sampled_from(["2000-01-01T00:00:00Z", "2022-05-10", "yesterday", "", SQL, "2022-13-01T00:00:00Z",
                                    "2022-01-01T25:00:00Z", 0, None, [], 1.5, "９９９９", "x" * 10_000]),
    "recorded_by": st.one_of(bad_text, st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)),
    "version": st.sampled_from([0, -1, 10**6, "2", 2.5, True, None, [], 10**30]),
    "position": st.sampled_from([0, -1, 1, 10**9, "2", 2.0, True, None]),
    "schema_version": st.sampled_from([0, ev.SCHEMA_VERSION + 1, 99, "1", 1.5, None, []]),
    # (null means no hash; hashes that are not text are in test_pathological_json_is_refused_naming_the_line)
    "hash": st.one_of(st.sampled_from(["", "0" * 64, "abc", SQL]), st.text(max_size=70)),
}


@st.composite
def broken_lines(draw) -> dict:
    base, required = LINES[draw(st.sampled_from(sorted(LINES)))]
    line = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["wrong type", "missing", "unknown field", "value", "value", "envelope"]))
        present = [k for k in required if k in line]
        if how == "wrong type" and present:
            key = draw(st.sampled_from(present))
            wrong = json_values.filter(lambda v, key=key: not isinstance(v, type(base[key])))
            line[key] = draw(wrong)
        elif how == "missing" and present:
            del line[draw(st.sampled_from(present))]
        elif how == "unknown field":
            line[draw(st.one_of(st.text(min_size=1, max_size=20), st.just(SQL), chinese).filter(lambda k: k not in KNOWN_KEYS))] = draw(json_values)
        elif how == "envelope":
            key = draw(st.sampled_from(sorted(BAD_ENVELOPE)))
            line[key] = draw(BAD_ENVELOPE[key])
        else:
            keys = [k for k in line if k in KINDS]
            if not keys:
                continue
            key = draw(st.sampled_from(keys))
            kind = KINDS[key]
            if base["type"] == "case_filed" and key in ("case", "filed_on"):  # a new case: any past date will do
                kind = {"case": "new_case", "filed_on": "date_any"}[key]
            line[key] = draw(bad(kind))
    return line


def hearing_line(day: int) -> bytes:
    line = {**LINES["hearing"][0], "held_on": (dt.date(2022, 4, 1) + dt.timedelta(days=day)).isoformat()}
    return json.dumps(line, ensure_ascii=False).encode("utf-8")


def encode(line: dict) -> bytes:
    return json.dumps(line, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def broken_files(draw) -> tuple[bytes, int]:
    """A file with valid hearings around one broken line; returns it and the broken line's number."""
    before = [hearing_line(d) for d in range(draw(st.integers(0, 3)))]
    after = [hearing_line(50 + d) for d in range(draw(st.integers(0, 2)))]
    blank = draw(st.sampled_from([b"", b"   ", b"\t"]))
    lines = before + ([blank] if draw(st.booleans()) else [])
    how = draw(st.sampled_from(["json", "json", "json", "not utf-8", "bom", "not an object", "not json"]))
    if how == "json":
        broken = encode(draw(broken_lines()))
    elif how == "not utf-8":
        good = hearing_line(40)
        at = draw(st.integers(0, len(good)))
        broken = good[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe6\x98", b"\x80"])) + good[at:]
    elif how == "bom":
        broken = b"\xef\xbb\xbf" + hearing_line(40)
        if not lines:  # a BOM at the very start is allowed: break the line too
            broken = b"\xef\xbb\xbf" + encode(draw(broken_lines()))
    elif how == "not an object":
        broken = json.dumps(draw(st.one_of(json_scalars, st.lists(json_values, max_size=3)))).encode()
    else:
        broken = draw(st.sampled_from([b"{", b"{'type': 'hearing_held'}", SQL.encode(), "案件".encode(), b"\x00",
                                       b'{"type": "hearing_held",}', b"NaN]", b"[" * 50]))
    number = len(lines) + 1
    lines = lines + [broken] + after
    return b"\n".join(lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"])), number


@FUZZ
@given(file=broken_files())
def test_broken_import_files_are_refused_naming_the_line(log, file):
    data, number = file
    path = log.folder / "broken.jsonl"
    path.write_bytes(data)
    error = log.refuses("import", str(path), shown=[data[:300]])
    assert re.search(rf"\bline {number}\b", error), f"line {number} not named in {error!r}"


@FUZZ
@given(data=st.binary(min_size=1, max_size=2000).filter(lambda b: b.decode("utf-8", "replace").strip()))
def test_binary_files_are_refused(log, data):
    """Random bytes, except those that decode to nothing but whitespace (read as blank lines)."""
    path = log.folder / "binary.jsonl"
    path.write_bytes(data)
    log.refuses("import", str(path), shown=[data[:100]])


@pytest.mark.parametrize("data", [
    b'{"type": "hearing_held", "case": "x", "official": "' + b"\\ud800" + b'"}',
    b'{"type": "hearing_held", "case": "' + CASE.encode() + b'", "held_on": "2022-05-10", "attendance": "staff", '
    b'"official": "a\\udcffb"}',
    b"[" * 100_000,
    b'{"type": "hearing_held", "version": ' + b"9" * 5000 + b"}",
    b'{"type": "hearing_held", "case": "' + CASE.encode() + b'", "held_on": "2022-05-10", "attendance": "staff", "hash": 123}',
    b'{"type": "hearing_held", "case": "' + CASE.encode() + b'", "held_on": "2022-05-10", "attendance": "staff", "hash": {}}',
], ids=["escaped-surrogate-in-bad-line", "escaped-surrogate", "deeply-nested", "huge-integer", "hash-int", "hash-object"])
def test_pathological_json_is_refused_naming_the_line(log, data):
    path = log.folder / "pathological.jsonl"
    path.write_bytes(hearing_line(0) + b"\n" + data + b"\n")
    error = log.refuses("import", str(path), shown=[data[:100]])
    assert re.search(r"\bline 2\b", error), f"line 2 not named in {error!r}"


@pytest.mark.parametrize("key, value, named", [
    ("type", {}, "event type"),
    ("type", ["hearing_held"], "event type"),
    ("recorded_by", None, "recorded_by"),
    ("recorded_by", "x" * 300, "recorded_by"),
    ("recorded_by", "a\x01b", "recorded_by"),
    ("recorded_by", 7, "recorded_by"),
])
def test_a_bad_envelope_or_type_names_the_key(log, key, value, named):
    """'line 2: unhashable type: dict' or 'line 2: expected text, got int' does not tell the clerk what to fix."""
    path = log.folder / "envelope.jsonl"
    path.write_bytes(hearing_line(0) + b"\n" + encode({**LINES["hearing"][0], key: value}) + b"\n")
    error = log.refuses("import", str(path), shown=[key, value])
    assert re.search(r"\bline 2\b", error) and named in error, f"{named!r} not named in {error!r}"


def test_empty_file_imports_nothing(log):
    """An empty file is not an error (a blank log exports as one), but nothing may be written."""
    path = log.folder / "empty.jsonl"
    path.write_bytes(b"")
    result = invoke(log.path, "import", str(path))
    assert "Traceback" not in result.output and result.exception is None, result.output
    assert result.exit_code in (0, 1), result.output
    assert export(log.path) == log.before


def test_a_bom_before_a_valid_first_line_is_accepted(log, tmp_path):
    db = copy_db(log.source, tmp_path / "caselog.db")
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + hearing_line(0) + b"\n")
    result = invoke(db, "import", str(path))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("what", ["directory", "missing file"])
def test_import_of_a_directory_or_missing_file_is_refused(log, what):
    path = log.folder if what == "directory" else log.folder / "missing.jsonl"
    log.refuses("import", str(path))


# --- --db that is not a caselog log -----------------------------------------------------------

EVERY_COMMAND = [
    ["file", NEW_CASE, "--filed-on", FILED_ON, "--court", "某某区人民法院", "--agency", "市公安局", "--cause", "行政处罚"],
    ["hearing", CASE, "--held-on", "2022-05-10", "--attendance", "staff"],
    ["conclude", CASE, "--decided-on", "2022-08-01", "--disposition", "revoked"],
    ["retract", FILED_ID, "--reason", "重复录入"],
    ["import", "IMPORT"],
    ["show", CASE], ["events"], ["verify"], ["head"], ["export"], ["rebuild"], ["summary", "--year", "2022"],
    ["backup", "BACKUP"],
]


def foreign_db(path: Path, user_version: int, wal: bool) -> None:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()


def run_everything_on(db: Path, folder: Path) -> None:
    """Every command on a --db that is not a caselog log: refused, the file untouched, nothing created.

    (SQLite's -wal and -shm files beside a WAL database last while a connection
    is open; gc closes the one the refused command left behind.)
    """
    source = folder / "ok.jsonl"
    source.write_bytes(hearing_line(0) + b"\n")
    for args in EVERY_COMMAND:
        args = [str(source) if a == "IMPORT" else str(folder / "backup.db") if a == "BACKUP" else a for a in args]
        before = db.read_bytes() if db.is_file() else None
        listing = sorted(p.name for p in folder.iterdir())
        assert_refused(invoke(db, *args), args)
        assert (db.read_bytes() if db.is_file() else None) == before, f"{args} changed {db.name}"
        if sorted(p.name for p in folder.iterdir()) != listing:
            gc.collect()
            assert sorted(p.name for p in folder.iterdir()) == listing, f"{args} left files behind"


@settings(FUZZ, max_examples=40)
@example(data=b"\x00")
@given(data=st.binary(min_size=1, max_size=8192))
def test_a_corrupt_db_is_refused(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("corrupt")
    db = folder / "caselog.db"
    db.write_bytes(data)
    run_everything_on(db, folder)


@pytest.mark.parametrize("user_version", [0, 1, 7])
@pytest.mark.parametrize("wal", [False, True], ids=["rollback", "wal"])
def test_another_sqlite_db_is_refused(tmp_path, user_version, wal):
    db = tmp_path / "other.db"
    foreign_db(db, user_version, wal)
    run_everything_on(db, tmp_path)


def test_a_truncated_caselog_db_is_refused(log, tmp_path):
    data = copy_db(log.source, tmp_path / "whole.db").read_bytes()
    (tmp_path / "whole.db").unlink()
    db = tmp_path / "caselog.db"
    db.write_bytes(data[: len(data) // 2])
    run_everything_on(db, tmp_path)


def test_an_empty_file_as_db_is_not_made_a_log_by_reading_commands(tmp_path):
    """Reading commands open with create=False: an empty file is no log, and they must not write one."""
    db = tmp_path / "typo.db"
    for args in (["verify"], ["head"], ["export"], ["show", CASE], ["events"], ["summary", "--year", "2022"],
                 ["rebuild"], ["backup", str(tmp_path / "backup.db")]):
        db.write_bytes(b"")
        assert_refused(invoke(db, *args), args)
        gc.collect()
        assert db.read_bytes() == b"", f"{args} wrote a log into an empty file"


def test_a_directory_as_db_is_refused(tmp_path):
    (tmp_path / "caselog.db").mkdir()
    run_everything_on(tmp_path / "caselog.db", tmp_path)
