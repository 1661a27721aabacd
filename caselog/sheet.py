"""The case sheet (行政应诉案件台账) that agencies and justice bureaus keep in Excel: one row a case.

A row is read into the interchange format (``caselog.interchange``) and compared with what the
log holds of its case (``current``): cells the log lacks become events, cells that differ from it
are contradictions, which a clerk may turn into corrections.  Export writes ``current`` back in the
same layout, so a sheet can go out and come back.

The sheet shows, for each case, its first defendant's hearings (two a level at most), its first
conclusion and its first appeal; the rest of a case (other defendants' hearings, retrials,
per-defendant outcomes) is logged with the other commands and left alone here.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Iterator

import attrs

from caselog import chain, rules, vocabulary, writer
from caselog import events as ev
from caselog.cells import neutralise
from caselog.errors import CaselogError, InputError, RuleViolation
from caselog.interchange import proposed_from_json

SHEET = "台账"
VALUES_SHEET = "取值"
CASE_COLUMNS = ("案号", "立案日期", "法院", "被告", "复议机关/共同被告", "案由", "原告")
HEARING_COLUMNS = ("开庭日期", "出庭人员", "出庭人", "职务", "是否发言")
#: (level, the group's heading): each level's hearings, earliest first, two a level.
HEARING_GROUPS = (("first", "一审第1次开庭"), ("first", "一审第2次开庭"),
                  ("second", "二审第1次开庭"), ("second", "二审第2次开庭"))
OUTCOME_COLUMNS = ("结案日期", "裁判结果", "上诉日期", "二审案号", "上诉人", "二审裁判日期", "二审结果", "二审改判结果")
#: Every column as (group heading or None, name): the sheet's two header rows.
HEADERS: tuple[tuple[str | None, str], ...] = (
    *((None, name) for name in CASE_COLUMNS),
    *((group, name) for _, group in HEARING_GROUPS for name in HEARING_COLUMNS),
    *((None, name) for name in OUTCOME_COLUMNS),
)

#: Each event's fields and the columns they are read from (a hearing's, within its group).
FILING = {"filed_on": "立案日期", "court": "法院", "agency": "被告", "co_defendants": "复议机关/共同被告",
          "cause": "案由", "plaintiff": "原告"}
HEARING = {"held_on": "开庭日期", "attendance": "出庭人员", "official": "出庭人", "title": "职务", "spoke": "是否发言"}
CONCLUSION = {"decided_on": "结案日期", "disposition": "裁判结果"}
APPEAL = {"filed_on": "上诉日期", "appeal_case": "二审案号", "appellant": "上诉人"}
DECISION = {"decided_on": "二审裁判日期", "result": "二审结果", "disposition": "二审改判结果"}
#: Columns whose values are words of the vocabulary: the dropdowns, and the values sheet.
WORD_COLUMNS = {"出庭人员": "attendance", "案由": "cause", "裁判结果": "disposition", "上诉人": "appellant",
                "二审结果": "result", "二审改判结果": "disposition"}
YES, NO = "是", "否"
_ROLE = re.compile(r"(.+?)[(（]([^()（）]+)[)）]")
_SEPARATORS = re.compile(r"[、，,;；\n]")
_ORDER = {"case_filed": 0, "hearing_first": 1, "case_concluded": 2, "appeal_filed": 3, "hearing_second": 4,
          "appeal_decided": 5}
_DATE_FORMAT = "yyyy-mm-dd"
_VALIDATED_ROWS = 2000  # rows of a template that get dropdowns


def _key(name: object) -> str:
    # A heading typed with spaces, full-width characters or another separator is still the column.
    return re.sub(r"[\s·・/／_\-]", "", unicodedata.normalize("NFKC", str(name)))


def _column(group: str | None, name: str) -> str:
    """A column as problems name it: 一审第1次开庭·出庭人员."""
    return name if group is None else f"{group}·{name}"


_COLUMNS = {_key((group or "") + name): _column(group, name) for group, name in HEADERS}
_HEARING_NAMES = {_key(name) for name in HEARING_COLUMNS}


@attrs.frozen
class Row:
    """One case's row as read: where it is, and its non-empty cells by column (``_column``)."""

    sheet: str
    number: int
    cells: dict[str, str]

    @property
    def source(self) -> str:
        return f"{self.sheet} row {self.number}"


@attrs.frozen
class Problem:
    """A bad cell: where it is, what it holds and why it cannot be read."""

    row: Row
    column: str
    why: str

    def __str__(self) -> str:
        value = self.row.cells.get(self.column)
        return f"{self.row.source}, {self.column}" + (f" {ev.shown(value)}" if value is not None else "") + f": {self.why}"


@attrs.frozen
class Contradiction:
    """A cell whose value differs from the log's for the event it shows."""

    row: Row
    column: str
    field: str
    value: Any  # as the event stores it
    logged: str | None
    target: ev.Recorded

    def __str__(self) -> str:
        logged = "nothing" if self.logged is None else ev.shown(self.logged)
        return (f"{self.row.source}, {self.column}: {ev.shown(self.row.cells[self.column])} in the sheet, "
                f"{logged} in the log ({self.target.type} {self.target.event_id[:13]})")


@attrs.frozen
class Plan:
    """What importing a sheet would do."""

    rows: int
    items: list[writer.Proposed]
    problems: list[Problem]
    contradictions: list[Contradiction]
    corrections: int


# --- reading files ------------------------------------------------------------------------


def read(path: str | Path) -> list[Row]:
    """The case rows of an .xlsx or .csv sheet, empty rows skipped; InputError if it holds none."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        tables = [(path.stem, _csv_rows(path))]
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        tables = _workbook_tables(path)
    else:
        raise InputError(f"{path.name}: a case sheet is an .xlsx or .csv file")
    rows: list[Row] = []
    found = False
    for name, table in tables:
        header = _header(table)
        if header is None:
            continue
        found = True
        start, columns = header
        for number, values in enumerate(table[start:], start + 1):
            cells = {columns[i]: text for i, value in enumerate(values)
                     if i in columns and (text := _text(value)) is not None}
            if cells:
                rows.append(Row(name, number, cells))
    if not found:
        raise InputError(f"{path.name}: no sheet has a header row with 案号 (write one with `caselog sheet template`)")
    return rows


def _csv_rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")  # Excel in a Chinese locale saves CSV as GBK
    return [row for row in csv.reader(text.splitlines())]


def _workbook_tables(path: Path) -> list[tuple[str, list[list[Any]]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (OSError, ValueError, KeyError, openpyxl.utils.exceptions.InvalidFileException) as error:
        raise InputError(f"{path.name}: not a workbook openpyxl can read ({error})") from None
    tables = []
    for sheet in book.worksheets:
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
        # A merged cell holds its value in its top-left cell only; the header needs it in each.
        for merged in sheet.merged_cells.ranges:
            value = table[merged.min_row - 1][merged.min_col - 1]
            for r in range(merged.min_row - 1, merged.max_row):
                for c in range(merged.min_col - 1, merged.max_col):
                    table[r][c] = value
        tables.append((sheet.title, table))
    return tables


def _header(table: list[list[Any]]) -> tuple[int, dict[int, str]] | None:
    """Where the data starts and which column each position holds, from a one- or two-row header."""
    for index, values in enumerate(table[:10]):
        keys = [_key(v) if v is not None else "" for v in values]
        if "案号" not in keys:
            continue
        below = [_key(v) if v is not None else "" for v in (table[index + 1] if index + 1 < len(table) else [])]
        if not _HEARING_NAMES.intersection(below):
            return index + 1, {i: _COLUMNS[k] for i, k in enumerate(keys) if k in _COLUMNS}
        columns, group = {}, ""
        for i, top in enumerate(keys):
            sub = below[i] if i < len(below) else ""
            # A group heading saved without its merge (CSV) stands in its first column only.
            group = top or group
            name = _key(group + sub) if sub and sub != top else top
            if name in _COLUMNS:
                columns[i] = _COLUMNS[name]
        return index + 2, columns
    return None


def _text(value: Any) -> str | None:
    """A cell as text: Excel dates as ISO dates, whole numbers without .0, nothing for blanks."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.startswith("'") and neutralise(text[1:]) == text:  # a cell caselog's export neutralised
        text = text[1:]
    return text or None


# --- rows as events -----------------------------------------------------------------------


@attrs.frozen
class Read:
    """A row's case and, for each event it shows, the fields of its filled-in cells as the event stores them."""

    row: Row
    case: str
    filing: dict | None
    hearings: dict[str, list[tuple[str, dict]]]  # level -> [(group, payload)]
    conclusion: dict | None
    appeal: dict | None
    decision: dict | None


def read_row(row: Row, problems: list[Problem]) -> Read | None:
    """The row's case and events, or None with its bad cells added to ``problems``."""
    found: list[Problem] = []
    case = None
    if "案号" not in row.cells:
        found.append(Problem(row, "案号", "is empty: every row needs its case number"))
    else:
        try:
            case = ev.case_number(row.cells["案号"])
        except ValueError as error:
            found.append(Problem(row, "案号", str(error)))
    filing = _event(row, "case_filed", FILING, None, found)
    hearings: dict[str, list[tuple[str, dict]]] = {"first": [], "second": []}
    for level, group in HEARING_GROUPS:
        payload = _event(row, "hearing_held", HEARING, group, found)
        if payload is not None:
            hearings[level].append((group, payload))
    conclusion = _event(row, "case_concluded", CONCLUSION, None, found)
    appeal = _event(row, "appeal_filed", APPEAL, None, found)
    decision = _event(row, "appeal_decided", DECISION, None, found)
    problems.extend(found)
    if found:
        return None
    return Read(row, case, filing, hearings, conclusion, appeal, decision)


def _event(row: Row, type_: str, columns: dict[str, str], group: str | None, found: list[Problem]) -> dict | None:
    """The payload the row's cells give an event (ISO dates, English words), or None if all are empty.

    A group's required columns are filled in together: a half-written hearing is a mistake, not news.
    """
    where = {field: _column(group, name) for field, name in columns.items()}
    given = {field: row.cells[column] for field, column in where.items() if column in row.cells}
    if not given:
        return None
    before = len(found)
    required = {a.name for a in attrs.fields(ev.EVENT_TYPES[type_]) if a.default is attrs.NOTHING}
    for field in sorted(required - set(given), key=list(where).index):
        filled = "、".join(name for f, name in columns.items() if f in given)
        found.append(Problem(row, where[field], f"is empty, but {filled} of the same {group or _WHAT[type_]} is filled in"))
    payload: dict[str, Any] = dict(given)
    if "co_defendants" in given:
        try:
            payload["co_defendants"] = co_defendants(given["co_defendants"])
        except ValueError as error:
            found.append(Problem(row, where["co_defendants"], str(error)))
    if "spoke" in where:
        _spoke(row, given, payload, where, found)
    if len(found) > before:
        return None
    try:
        event = vocabulary.read(type_, payload)
    except vocabulary.EntryError as error:
        for field, why in error.problems:
            if field is None:  # fields that disagree: the message names them
                field = next((f for f in where if re.search(rf"\b{f}\b", why)), next(iter(given)))
            found.append(Problem(row, where[field], why))
        return None
    return {field: value for field, value in ev.payload(event).items() if field in given}


def _spoke(row: Row, given: dict, payload: dict, where: dict[str, str], found: list[Problem]) -> None:
    """是否发言 as a hearing stores it: required for a head; 否 for anyone else (how many sheets fill
    the column in) is nothing to record."""
    try:
        attendance = vocabulary.word("attendance", given.get("attendance", ""))
    except ValueError:
        attendance = None  # its own problem is reported with the others
    if "spoke" not in given:
        if attendance in ev.HEADS:
            found.append(Problem(row, where["spoke"],
                                 f"is empty: 是 or 否 is required when a head ({ev.LABELS_ZH[attendance]}) attended"))
        return
    try:
        payload["spoke"] = vocabulary.truth(given["spoke"])
    except ValueError as error:
        found.append(Problem(row, where["spoke"], str(error)))
        return
    if not payload["spoke"] and attendance is not None and attendance not in ev.HEADS:
        del payload["spoke"]


_WHAT = {"case_filed": "filing", "case_concluded": "conclusion", "appeal_filed": "appeal",
         "appeal_decided": "appeal decision"}  # what a group of columns other than a hearing's is called


def co_defendants(text: str) -> list[dict[str, str]]:
    """``市人民政府(复议机关)、区市场监管局(共同被告)`` as ``co_defendants``."""
    out = []
    for part in filter(None, (p.strip() for p in _SEPARATORS.split(text))):
        match = _ROLE.fullmatch(part)
        if match is None:
            raise ValueError(f"give each defendant's role in brackets, e.g. 市人民政府(复议机关)、区财政局(共同被告), "
                             f"not {ev.shown(part)}")
        out.append({"agency": ev.agency_name(match[1]), "role": vocabulary.word("role", match[2].strip())})
    if not out:
        raise ValueError("names no defendant")
    return out


def co_defendants_text(defendants: Iterable[dict[str, str]]) -> str:
    return "、".join(f"{d['agency']}({ev.LABELS_ZH[d['role']]})" for d in defendants)


# --- the log's side -----------------------------------------------------------------------


@attrs.frozen
class Current:
    """What the sheet shows of a case in the log, corrections applied: the standing events."""

    filing: ev.Recorded | None
    others: list[dict[str, str]]  # the defendants after the first, filed or added, with their roles
    hearings: dict[str, list[ev.Recorded]]
    conclusion: ev.Recorded | None
    appeal: ev.Recorded | None
    decision: ev.Recorded | None


def current(history: list[ev.Recorded]) -> Current:
    """The standing events of a case's history that the sheet shows."""
    logged = {rec.event_id: rec for rec in history}
    standing = sorted(
        (attrs.evolve(logged[event_id], event=event) for event_id, _, event in rules.effective(history, check=False)),
        key=lambda rec: (ev.business_date(rec.event) or "", rec.position))
    first = {}
    for rec in standing:
        first.setdefault(rec.type, rec)
    filing = first.get("case_filed")
    agency = filing and filing.event.agency
    others = list(filing.event.co_defendants or ()) if filing else []
    others += [{"agency": rec.event.agency, "role": rec.event.role} for rec in standing if rec.type == "defendant_added"]
    hearings = {level: [rec for rec in standing if rec.type == "hearing_held" and rec.event.level == level
                        and rec.event.agency in (None, agency)] for level in ("first", "second")}
    return Current(filing, others, hearings, first.get("case_concluded"), first.get("appeal_filed"),
                   first.get("appeal_decided"))


def plan(conn: sqlite3.Connection, rows: list[Row], clerk: str, reason: str | None = None) -> Plan:
    """The events a sheet's rows add to the log, its bad cells and the cells that contradict the log.

    With ``reason`` the contradictions become corrections.  Every new event is checked against the
    rules as the writer will check it, so one pass names every row that would be refused.
    """
    problems: list[Problem] = []
    contradictions: list[Contradiction] = []
    items: list[writer.Proposed] = []
    corrections = 0
    seen: dict[str, Row] = {}
    for row in rows:
        read_ = read_row(row, problems)
        if read_ is None:
            continue
        if read_.case in seen:
            problems.append(Problem(row, "案号", f"is on {seen[read_.case].source} too: one row a case"))
            continue
        seen[read_.case] = row
        history = writer.history(conn, read_.case)
        new, differ = _compare(read_, current(history), problems)
        contradictions += differ
        fixes = _corrections(differ, reason) if reason is not None else []
        corrections += len(fixes)
        proposed = [_proposed(row, read_.case, item, clerk) for item in [*fixes, *new]]
        if proposed and _allowed(conn, read_.case, history, proposed, problems, row):
            items += proposed
    return Plan(len(rows), items, problems, contradictions, corrections)


def _compare(read_: Read, log: Current, problems: list[Problem]) -> tuple[list[dict], list[Contradiction]]:
    """The row's events the log lacks (interchange objects, in business-date order) and its contradictions."""
    row, case = read_.row, read_.case
    new: list[dict] = []
    differ: list[Contradiction] = []
    if log.filing is None:
        if read_.filing is None:  # a filing that is given has its required columns (``_event``)
            problems.append(Problem(row, "案号", "is not in the log: a new case needs 立案日期, 法院, 被告 and 案由"))
            return [], []
        new.append({"type": "case_filed", **read_.filing})
        defendants = 1 + len(read_.filing.get("co_defendants", ()))
        agency = read_.filing["agency"]
    else:
        filing = dict(read_.filing or {})
        # The sheet lists the defendants the court added later with the filed ones.
        others = filing.pop("co_defendants", None)
        if others is not None and _roles(others) != _roles(log.others):
            differ.append(Contradiction(row, FILING["co_defendants"], "co_defendants", others,
                                        co_defendants_text(log.others) or None, log.filing))
        differ += _differences(row, filing, FILING, None, log.filing)
        defendants = 1 + len(log.others)
        agency = log.filing.event.agency
    for level, hearings in read_.hearings.items():
        logged = log.hearings[level]
        for index, (group, payload) in enumerate(hearings):
            if index < len(logged):
                differ += _differences(row, payload, HEARING, group, logged[index])
            else:
                new.append({"type": "hearing_held", **payload, "level": level,
                            **({"agency": agency} if defendants > 1 else {})})
    for type_, given, columns, logged in (("case_concluded", read_.conclusion, CONCLUSION, log.conclusion),
                                          ("appeal_filed", read_.appeal, APPEAL, log.appeal),
                                          ("appeal_decided", read_.decision, DECISION, log.decision)):
        if given is None:
            continue
        if logged is None:
            new.append({"type": type_, **given})
        else:
            differ += _differences(row, given, columns, None, logged)
    new.sort(key=_order)
    return [{**obj, "case": case} for obj in new], differ


def _order(obj: dict) -> tuple[bool, str, int]:
    # By date, so that the rules accept them; on one day, in the order a case goes.
    kind = obj["type"] if obj["type"] != "hearing_held" else f"hearing_{obj['level']}"
    return obj["type"] != "case_filed", next(obj[f] for f in ev.DATE_FIELDS if f in obj), _ORDER[kind]


def _roles(defendants: Iterable[dict[str, str]]) -> set[tuple[str, str]]:
    return {(d["agency"], d["role"]) for d in defendants}


def _differences(row: Row, given: dict, columns: dict[str, str], group: str | None,
                 logged: ev.Recorded) -> list[Contradiction]:
    payload = ev.payload(logged.event)
    return [Contradiction(row, _column(group, columns[field]), field, value, _shown(field, payload.get(field)), logged)
            for field, value in given.items() if payload.get(field) != value]


def _corrections(differ: list[Contradiction], reason: str) -> list[dict]:
    """One event_corrected for each event the contradicting cells show, in the interchange format."""
    by_target: dict[str, tuple[ev.Recorded, dict]] = {}
    for contradiction in differ:
        target = contradiction.target
        by_target.setdefault(target.event_id, (target, {}))[1][contradiction.field] = contradiction.value
    out = []
    for target, changes in by_target.values():
        payload = ev.payload(target.event)
        wanted = _settled(target.type, {**payload, **changes})
        changes = {field: wanted.get(field) for field in [*payload, *changes] if wanted.get(field) != payload.get(field)}
        out.append({"type": "event_corrected", "target": target.event_id, "changes": changes, "reason": reason})
    return out


_FIELDS = {"case_filed": FILING, "hearing_held": HEARING, "case_concluded": CONCLUSION, "appeal_filed": APPEAL,
           "appeal_decided": DECISION}


def _settled(type_: str, payload: dict) -> dict:
    """A corrected payload whose fields still agree: no spoke without a head, no new outcome unless reversed."""
    if type_ == "hearing_held" and payload.get("attendance") not in ev.HEADS:
        return {k: v for k, v in payload.items() if k not in ("spoke", "left_early", "refused_to_explain")}
    if type_ == "appeal_decided" and payload.get("result") != "reversed":
        return {k: v for k, v in payload.items() if k not in ("disposition", "dispositions")}
    return payload


def _proposed(row: Row, case: str, obj: dict, clerk: str) -> writer.Proposed:
    return proposed_from_json({**obj, "case": case}, clerk, row.source)


def _allowed(conn: sqlite3.Connection, case: str, history: list[ev.Recorded], proposed: list[writer.Proposed],
             problems: list[Problem], row: Row) -> bool:
    """Whether the rules accept the row's events after the case's history, as the writer will check them."""
    state = rules.fold(case, history)
    done = list(history)
    position = chain.head(conn).position
    for number, item in enumerate(proposed, 1):
        recorded = ev.Recorded(item.event, case, ev.new_event_id(), "", item.recorded_by, state.version + 1,
                               position + number)
        try:
            state = rules.decide(state, recorded, lambda: done)
        except RuleViolation as error:
            problems.append(Problem(row, "案号", f"the log refuses its {item.event.TYPE}: {error}"))
            return False
        done.append(recorded)
    return True


def _shown(field: str, value: Any) -> str | None:
    """A logged value as the sheet writes it."""
    if value is None:
        return None
    if field == "co_defendants":
        return co_defendants_text(value)
    if field == "spoke":
        return YES if value else NO
    return ev.LABELS_ZH.get(value, value) if field in vocabulary.WORDS else str(value)


def refusal(plan_: Plan) -> CaselogError | None:
    """The one-line refusal of a sheet with bad cells, if it has any."""
    if not plan_.problems:
        return None
    return InputError(f"{len(plan_.problems)} bad cell(s), nothing imported: "
                      + "; ".join(map(str, plan_.problems)) + " (--dry-run lists them one a line)")


# --- writing workbooks --------------------------------------------------------------------


def rows_of(conn: sqlite3.Connection) -> Iterator[list[Any]]:
    """Each case of the log as a row of the sheet's cells (dates as dates), in the order they were filed."""
    for (case,) in conn.execute('SELECT "case" FROM cases ORDER BY filed_on, "case"'):
        log = current(writer.history(conn, case))
        if log.filing is None:
            continue
        cells: dict[str, Any] = {"案号": case}
        _fill(cells, FILING, None, log.filing)
        cells["复议机关/共同被告"] = co_defendants_text(log.others) or None
        for level, hearings in log.hearings.items():
            groups = [group for lv, group in HEARING_GROUPS if lv == level]
            for group, hearing in zip(groups, hearings):
                _fill(cells, HEARING, group, hearing)
        for columns, logged in ((CONCLUSION, log.conclusion), (APPEAL, log.appeal), (DECISION, log.decision)):
            if logged is not None:
                _fill(cells, columns, None, logged)
        yield [cells.get(_column(group, name)) for group, name in HEADERS]


def _fill(cells: dict[str, Any], columns: dict[str, str], group: str | None, logged: ev.Recorded) -> None:
    for field, value in ev.payload(logged.event).items():
        if field in columns and field != "co_defendants":
            cells[_column(group, columns[field])] = (
                dt.date.fromisoformat(value) if field in ev.DATE_FIELDS else _shown(field, value))


def write(path: str | Path, rows: Iterable[list[Any]]) -> int:
    """Write the sheet (two header rows, frozen; dropdowns; the values sheet) with ``rows``; returns how many."""
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    bold, centred = Font(bold=True), Alignment(horizontal="center", vertical="center", wrap_text=True)
    for index, (group, name) in enumerate(HEADERS, 1):
        if group is None:
            sheet.cell(1, index, name)
            sheet.merge_cells(start_row=1, end_row=2, start_column=index, end_column=index)
        else:
            if HEARING_COLUMNS.index(name) == 0:
                sheet.cell(1, index, group)
                sheet.merge_cells(start_row=1, end_row=1, start_column=index, end_column=index + len(HEARING_COLUMNS) - 1)
            sheet.cell(2, index, name)
        for header_row in (1, 2):
            sheet.cell(header_row, index).font, sheet.cell(header_row, index).alignment = bold, centred
        sheet.column_dimensions[get_column_letter(index)].width = 24 if name in ("案号", "复议机关/共同被告", "二审案号") else 13
    sheet.freeze_panes = "B3"
    count = 0
    for count, cells in enumerate(rows, 1):
        for index, value in enumerate(cells, 1):
            cell = sheet.cell(count + 2, index, neutralise(value))
            if isinstance(value, dt.date):
                cell.number_format = _DATE_FORMAT
    ranges = _values_sheet(book.create_sheet(VALUES_SHEET))
    last = max(count, _VALIDATED_ROWS) + 2
    for field, columns in _dropdowns().items():
        validation = DataValidation(type="list", formula1=ranges[field], allow_blank=True, errorStyle="warning",
                                    error="不在取值表中（见“取值”表）", showErrorMessage=True)
        for index in columns:
            letter = get_column_letter(index)
            validation.add(f"{letter}3:{letter}{last}")
        sheet.add_data_validation(validation)
    book.save(path)
    return count


def _dropdowns() -> dict[str, list[int]]:
    """Each list of values -> the (1-based) columns that choose from it."""
    out: dict[str, list[int]] = {}
    for index, (_, name) in enumerate(HEADERS, 1):
        field = WORD_COLUMNS.get(name) or ("spoke" if name == "是否发言" else None)
        if field is not None:
            out.setdefault(field, []).append(index)
    return out


#: Each list of values on the values sheet: (the columns that take it, [(Chinese, code)]).
VALUE_LISTS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    **{field: (column, tuple((ev.LABELS_ZH.get(word, word), word) for word in vocabulary.WORDS[field]))
       for column, field in (("出庭人员", "attendance"), ("复议机关/共同被告", "role"), ("案由", "cause"),
                             ("裁判结果、二审改判结果", "disposition"), ("上诉人", "appellant"), ("二审结果", "result"))},
    "spoke": ("是否发言", ((YES, "true"), (NO, "false"))),
}


def _values_sheet(sheet: Any) -> dict[str, str]:
    """Every allowed value in Chinese with its code; returns each list's range for the dropdowns."""
    from openpyxl.styles import Font

    sheet.append(["栏目", "中文", "代码"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    ranges = {}
    for field, (column, values) in VALUE_LISTS.items():
        start = sheet.max_row + 1
        for chinese, code in values:
            sheet.append([column, chinese, code])
        ranges[field] = f"'{VALUES_SHEET}'!$B${start}:$B${sheet.max_row}"
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 22, 24
    sheet.column_dimensions["C"].width = 24
    sheet.freeze_panes = "A2"
    return ranges
