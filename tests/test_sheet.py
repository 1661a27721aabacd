"""The case sheet (台账, issue 18 part 5): a template with Chinese headers and dropdowns, import of the
sheets clerks keep (xlsx and csv, merged headers, Excel and written dates), all or nothing and
idempotent, contradictions listed and corrected on request, and an export that comes back unchanged.

The workbooks here are made with openpyxl cell by cell, as a clerk's Excel would save them, not
with caselog's own writer, so that reading does not merely undo writing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from caselog import sheet
from caselog.events import FIELDS, LABELS_ZH
from conftest import CaseLog, check_refusal

C1 = "(2023)浙0302行初11号"
C2 = "(2023)浙0302行初12号"
C3 = "(2023)浙0302行初13号"
AC = "(2023)浙03行终7号"
H1 = "一审第1次开庭·"
H2 = "一审第2次开庭·"
S1 = "二审第1次开庭·"


def workbook(path: Path, rows: list[dict], two_rows: bool = True, strings: bool = False,
             extra: tuple[str, ...] = ("序号",), trailing: int = 3) -> Path:
    """An .xlsx as a clerk keeps one: a title line, a 序号 column caselog does not know, a header of
    one row (一审第1次开庭开庭日期) or two (一审第1次开庭 merged over its five columns), blank rows at
    the end.  ``strings``: every cell text, as some programs save them."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "2023年台账"
    ws.append(["某某市行政应诉案件台账（2023年）"])
    columns = [*extra, *(sheet._column(group, name) for group, name in sheet.HEADERS)]
    top = len(ws["A"]) + 1
    if two_rows:
        for index, column in enumerate(columns, 1):
            group, _, name = column.rpartition("·")
            if not group:
                ws.cell(top, index, name)
                ws.merge_cells(start_row=top, end_row=top + 1, start_column=index, end_column=index)
            else:
                if name == sheet.HEARING_COLUMNS[0]:
                    ws.cell(top, index, group)
                    ws.merge_cells(start_row=top, end_row=top, start_column=index,
                                   end_column=index + len(sheet.HEARING_COLUMNS) - 1)
                ws.cell(top + 1, index, name)
        first = top + 2
    else:
        for index, column in enumerate(columns, 1):
            ws.cell(top, index, column.replace("·", ""))
        first = top + 1
    for number, row in enumerate(rows):
        for index, column in enumerate(columns, 1):
            value = number + 1 if column == "序号" else row.get(column)
            if strings and value is not None:
                value = value.strftime("%Y/%-m/%-d") if isinstance(value, dt.date) else str(value)
            ws.cell(first + number, index, value)
    for blank in range(trailing):  # rows that were formatted once, then emptied
        ws.cell(first + len(rows) + blank, 2, None).number_format = "yyyy-mm-dd"
        ws.cell(first + len(rows) + blank, 3, "")
    book.save(path)
    return path


def case(number: str = C1, **cells) -> dict:
    row = {"案号": number, "立案日期": dt.datetime(2023, 1, 5), "法院": "鹿城区人民法院", "被告": "市市场监管局",
           "案由": "处罚", "原告": "张某"}
    return {**row, **cells}


HEARD = {H1 + "开庭日期": "2023/3/5", H1 + "出庭人员": "副职", H1 + "出庭人": "王某", H1 + "职务": "副局长",
         H1 + "是否发言": "是"}
CONCLUDED = {**HEARD, "结案日期": "2023年4月10日", "裁判结果": "撤销"}
APPEALED = {**CONCLUDED, "上诉日期": dt.date(2023, 4, 20), "二审案号": "（2023）浙03行终7号", "上诉人": "被告"}
DECIDED = {**APPEALED, S1 + "开庭日期": "2023-6-1", S1 + "出庭人员": "工作人员", S1 + "是否发言": "否",
           "二审裁判日期": "2023.7.1", "二审结果": "改判", "二审改判结果": "驳回诉讼请求"}


def fields(log: CaseLog) -> list[tuple]:
    """The log's events as (case, type, payload), in log order."""
    return [(e["case"], e["type"], {k: v for k, v in e.items() if k in FIELDS[e["type"]]}) for e in log.events()]


def sheet_import(log: CaseLog, path: Path, *options: str):
    return log.invoke("sheet", "import", str(path), *options)


def cells(path: Path) -> list[list]:
    return [list(row) for row in openpyxl.load_workbook(path)[sheet.SHEET].iter_rows(values_only=True)]


@pytest.fixture
def log(tmp_path):
    return CaseLog(tmp_path / "caselog.db")


def test_the_template_has_two_frozen_header_rows_dropdowns_and_every_allowed_value(tmp_path, log):
    path = tmp_path / "台账.xlsx"
    result = log.invoke("sheet", "template", str(path))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(path)
    ws = book[sheet.SHEET]
    top, names = [c.value for c in ws[1]], [c.value for c in ws[2]]
    assert top[:7] == ["案号", "立案日期", "法院", "被告", "复议机关/共同被告", "案由", "原告"]
    assert top[7] == "一审第1次开庭" and names[7:12] == ["开庭日期", "出庭人员", "出庭人", "职务", "是否发言"]
    assert [t for t in top if t and "开庭" in t] == ["一审第1次开庭", "一审第2次开庭", "二审第1次开庭", "二审第2次开庭"]
    assert top[-8:] == ["结案日期", "裁判结果", "上诉日期", "二审案号", "上诉人", "二审裁判日期", "二审结果", "二审改判结果"]
    assert "H1:L1" in {str(r) for r in ws.merged_cells.ranges} and "A1:A2" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.freeze_panes == "B3"
    assert ws.max_row == 2  # no case yet
    values = [row for row in book[sheet.VALUES_SHEET].iter_rows(values_only=True)]
    assert values[0] == ("栏目", "中文", "代码")
    assert ("出庭人员", "副职负责人", "deputy") in values and ("出庭人员", "无人出庭", "none") in values
    assert ("是否发言", "是", "true") in values and ("复议机关/共同被告", "复议机关", "reconsideration") in values
    assert ("上诉人", "被告机关", "agency") in values and ("二审结果", "发回重审", "remanded") in values
    assert sum(1 for v in values if v[0] == "案由") == 22
    assert sum(1 for v in values if v[0] == "裁判结果、二审改判结果") == 16
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    attendance = next(formula for ranges, formula in lists.items() if "I3:I" in ranges)
    start, end = (int(part.split("$")[-1]) for part in attendance.split("!")[1].split(":"))
    assert [v[1] for v in values[start - 1:end]] == [LABELS_ZH[w] for w in
                                                        ("principal", "deputy", "other_head", "staff", "lawyer_only", "none")]
    assert sum("I3:I" in r or "N3:N" in r or "S3:S" in r or "X3:X" in r for r in lists) == 1  # one list, four columns


def test_a_clerks_workbook_becomes_events_in_the_order_the_rules_accept(tmp_path, log):
    """Merged two-row header, a title line, an unknown column, Excel dates and written dates, Chinese
    words and short forms, full-width case numbers, blank rows at the end."""
    path = workbook(tmp_path / "march.xlsx", [case(C1, **DECIDED), case(C2, **HEARD), case(C3)])
    result = sheet_import(log, path)
    assert result.exit_code == 0, result.output
    assert "3 rows; added 9 events" in result.stderr
    assert fields(log) == [
        (C1, "case_filed", {"filed_on": "2023-01-05", "court": "鹿城区人民法院", "agency": "市市场监管局",
                            "cause": "行政处罚", "plaintiff": "张某"}),
        (C1, "hearing_held", {"held_on": "2023-03-05", "attendance": "deputy", "level": "first", "official": "王某",
                              "title": "副局长", "spoke": True}),
        (C1, "case_concluded", {"decided_on": "2023-04-10", "disposition": "revoked"}),
        (C1, "appeal_filed", {"filed_on": "2023-04-20", "appeal_case": AC, "appellant": "agency"}),
        (C1, "hearing_held", {"held_on": "2023-06-01", "attendance": "staff", "level": "second"}),
        (C1, "appeal_decided", {"decided_on": "2023-07-01", "result": "reversed", "disposition": "claims_dismissed"}),
        (C2, "case_filed", {"filed_on": "2023-01-05", "court": "鹿城区人民法院", "agency": "市市场监管局",
                            "cause": "行政处罚", "plaintiff": "张某"}),
        (C2, "hearing_held", {"held_on": "2023-03-05", "attendance": "deputy", "level": "first", "official": "王某",
                              "title": "副局长", "spoke": True}),
        (C3, "case_filed", {"filed_on": "2023-01-05", "court": "鹿城区人民法院", "agency": "市市场监管局",
                            "cause": "行政处罚", "plaintiff": "张某"}),
    ]


def test_the_same_sheet_again_adds_nothing(tmp_path, log):
    path = workbook(tmp_path / "march.xlsx", [case(C1, **DECIDED), case(C2, **HEARD)])
    assert sheet_import(log, path).exit_code == 0
    before = log.export()
    result = sheet_import(log, path)
    assert result.exit_code == 0, result.output
    assert "added 0 events" in result.stderr and "contradict" not in result.stderr
    assert log.export() == before


def test_next_months_sheet_adds_only_what_is_new_and_lists_what_contradicts_the_log(tmp_path, log):
    assert sheet_import(log, workbook(tmp_path / "march.xlsx", [case(C1, **HEARD)])).exit_code == 0
    april = {**APPEALED, H2 + "开庭日期": "2023/4/1", H2 + "出庭人员": "工作人员",  # a second hearing, then more
             H1 + "出庭人员": "正职"}  # the first hearing's attendance now differs from the log
    path = workbook(tmp_path / "april.xlsx", [case(C1, **april), case(C2)])
    before = fields(log)
    dry = sheet_import(log, path, "--dry-run")
    assert dry.exit_code == 1
    assert dry.stdout.splitlines() == [
        f"2023年台账 row 4, {H1}出庭人员: '正职' in the sheet, '副职负责人' in the log "
        f"(hearing_held {log.events()[1]['event_id'][:13]})"]
    assert fields(log) == before

    result = sheet_import(log, path)
    assert result.exit_code == 0, result.output
    assert f"contradicts the log: 2023年台账 row 4, {H1}出庭人员" in result.stderr
    assert "1 cell(s) contradict the log" in result.stderr and "--correct --reason" in result.stderr
    added = fields(log)[len(before):]
    assert [(c, t) for c, t, _ in added] == [(C1, "hearing_held"), (C1, "case_concluded"), (C1, "appeal_filed"),
                                             (C2, "case_filed")]
    assert added[0][2] == {"held_on": "2023-04-01", "attendance": "staff", "level": "first"}

    corrected = sheet_import(log, path, "--correct", "--reason", "法院回函更正")
    assert corrected.exit_code == 0, corrected.output
    *_, (number, type_, payload) = fields(log)
    assert (number, type_) == (C1, "event_corrected")
    assert payload == {"target": log.events()[1]["event_id"], "changes": {"attendance": "principal"},
                       "reason": "法院回函更正"}
    assert sheet_import(log, path, "--dry-run").exit_code == 0  # nothing left to add or to correct


def test_a_correction_keeps_the_hearing_whole(tmp_path, log):
    """A head replaced by staff loses 是否发言: the correction removes spoke too."""
    assert sheet_import(log, workbook(tmp_path / "a.xlsx", [case(C1, **HEARD)])).exit_code == 0
    staff = {**HEARD, H1 + "出庭人员": "工作人员", H1 + "是否发言": "否"}
    result = sheet_import(log, workbook(tmp_path / "b.xlsx", [case(C1, **staff)]), "--correct", "--reason", "核对")
    assert result.exit_code == 0, result.output
    assert fields(log)[-1][2]["changes"] == {"attendance": "staff", "spoke": None}
    shown = log.invoke("show", C1, "--json")
    assert '"attendance": "staff"' in shown.stdout


def test_a_dry_run_lists_every_bad_cell_and_writes_nothing(tmp_path, log):
    rows = [
        case(C1, 立案日期="2023/2/30", **{H1 + "开庭日期": "2023/3/5", H1 + "出庭人员": "副局", H1 + "是否发言": "是"}),
        case("浙0302行初12号", 案由="罚款"),
        case(C3, **{H1 + "开庭日期": "2023/3/5", H1 + "出庭人员": "正职负责人"}, 结案日期="2023/4/1"),
        case(None),
    ]
    path = workbook(tmp_path / "bad.xlsx", rows)
    result = sheet_import(log, path, "--dry-run")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "2023年台账 row 4, 立案日期 '2023/2/30': impossible date '2023/2/30'"
    assert lines[1].startswith(f"2023年台账 row 4, {H1}出庭人员 '副局': unknown value '副局' (did you mean deputy")
    assert lines[2].startswith("2023年台账 row 5, 案号 '浙0302行初12号': malformed case number")
    assert lines[3].startswith("2023年台账 row 5, 案由 '罚款': unknown value")
    assert lines[4] == f"2023年台账 row 6, {H1}是否发言: is empty: 是 or 否 is required when a head (正职负责人) attended"
    assert lines[5] == "2023年台账 row 6, 裁判结果: is empty, but 结案日期 of the same conclusion is filled in"
    assert lines[6] == "2023年台账 row 7, 案号: is empty: every row needs its case number"
    assert len(lines) == 7
    assert not log.path.exists() or log.events() == []

    refused = sheet_import(log, path)
    message = check_refusal(refused, ["7 bad cell(s), nothing imported", "row 7", "--dry-run"])
    assert "impossible date" in message
    assert not log.path.exists() or log.events() == []


def test_a_row_the_rules_refuse_is_named_and_the_whole_sheet_is_refused(tmp_path, log):
    late = {**CONCLUDED, H2 + "开庭日期": "2023/5/1", H2 + "出庭人员": "律师"}  # heard after it was concluded
    path = workbook(tmp_path / "late.xlsx", [case(C1, **HEARD), case(C2, **late)])
    result = sheet_import(log, path, "--dry-run")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "2023年台账 row 5, 案号 '(2023)浙0302行初12号': the log refuses its hearing_held: a first-instance hearing on "
        "2023-05-01 is after the case was concluded on 2023-04-10 (only a remand reopens it)"]
    check_refusal(sheet_import(log, path), ["row 5", "after the case was concluded"])
    assert not log.path.exists() or log.events() == []


def test_one_row_a_case(tmp_path, log):
    path = workbook(tmp_path / "twice.xlsx", [case(C1), case("（2023）浙0302行初11号")])
    result = sheet_import(log, path, "--dry-run")
    assert result.stdout.splitlines() == ["2023年台账 row 5, 案号 '（2023）浙0302行初11号': is on 2023年台账 row 4 too: one row a case"]


def test_correct_goes_with_a_reason(tmp_path, log):
    path = workbook(tmp_path / "a.xlsx", [case(C1)])
    check_refusal(sheet_import(log, path, "--correct"), ["--reason"], code=2)
    check_refusal(log.invoke("sheet", "import", str(tmp_path / "a.txt")), ["a.txt"], code=2)


def test_a_file_that_is_not_a_case_sheet_is_refused(tmp_path, log):
    other = tmp_path / "other.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["姓名", "电话"])
    book.save(other)
    check_refusal(sheet_import(log, other), ["no sheet has a header row with 案号"])
    text = tmp_path / "notes.txt"
    text.write_text("案号\n")
    check_refusal(sheet_import(log, text), [".xlsx or .csv"])


@pytest.mark.parametrize("two_rows", [True, False], ids=["merged two-row header", "one-row header"])
def test_a_workbook_of_text_cells_reads_as_one_of_dates_and_numbers(tmp_path, log, two_rows):
    """Some programs save every cell as text: dates as 2023/3/5, 是 as text."""
    dated = workbook(tmp_path / "dated.xlsx", [case(C1, **DECIDED)], two_rows=two_rows)
    text = workbook(tmp_path / "text.xlsx", [case(C1, **DECIDED)], two_rows=two_rows, strings=True)
    assert sheet_import(log, dated).exit_code == 0
    again = sheet_import(log, text)
    assert again.exit_code == 0 and "added 0 events" in again.stderr, again.output


def csv_file(path: Path, encoding: str, rows: list[dict]) -> Path:
    """A CSV as Excel saves one: two header rows, each group heading in its first column only."""
    columns = [sheet._column(group, name) for group, name in sheet.HEADERS]
    top, below, seen = [], [], set()
    for column in columns:
        group, _, name = column.rpartition("·")
        top.append(name if not group else (group if group not in seen else ""))
        below.append(name if group else "")
        seen.add(group)
    lines = [",".join(top), ",".join(below)]
    for row in rows:  # dates as Excel writes them in a CSV: as they are shown
        lines.append(",".join(v.strftime("%Y/%-m/%-d") if isinstance(v := row.get(c, ""), dt.date) else str(v)
                              for c in columns))
    path.write_bytes(("\ufeff" if encoding == "utf-8" else "").encode() + "\r\n".join(lines + ["", ""]).encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"], ids=["UTF-8 with BOM", "GBK"])
def test_a_csv_saved_by_excel_imports_like_the_workbook(tmp_path, log, encoding):
    rows = [case(C1, **DECIDED), case(C2, **HEARD)]
    path = csv_file(tmp_path / "台账.csv", encoding, rows)
    result = sheet_import(log, path)
    assert result.exit_code == 0, result.output
    assert "2 rows; added 8 events" in result.stderr
    from_workbook = CaseLog(tmp_path / "other.db")
    assert sheet_import(from_workbook, workbook(tmp_path / "a.xlsx", [case(C1, **DECIDED), case(C2, **HEARD)])).exit_code == 0
    assert fields(log) == fields(from_workbook)


ROUND = ("(2022)浙0302行初123号", "(2022)浙03行终45号")
STEPS = (
    "file {C} --filed-on 2022-03-01 --court 某某区人民法院 --agency 市公安局 --cause 行政处罚 --plaintiff =HYPERLINK(1) "
    "--co-defendant 市人民政府 --role 复议机关",
    "hearing {C} --held-on 2022-05-10 --attendance deputy --spoke --agency 市公安局 --official 王某 --title 副局长",
    "hearing {C} --held-on 2022-05-11 --attendance staff --agency 市人民政府",
    "hearing {C} --held-on 2022-05-20 --attendance principal --silent --agency 市公安局",
    "conclude {C} --decided-on 2022-06-01 --disposition 驳回诉讼请求",
    "appeal {C} --filed-on 2022-06-10 --appeal-case {AC} --appellant 原告",
    "hearing {C} --held-on 2022-08-10 --level second --attendance lawyer_only --agency 市公安局",
    "appeal-decision {C} --decided-on 2022-09-01 --result 改判 --disposition 撤销",
    "file (2023)浙0302行初1号 --filed-on 2023-01-02 --court 某某区人民法院 --agency 区财政局 --cause 信息公开",
)


def test_an_export_comes_back_unchanged(tmp_path, history):
    log = history(STEPS, {"C": ROUND[0], "AC": ROUND[1]})
    out = tmp_path / "out.xlsx"
    result = log.invoke("sheet", "export", str(out))
    assert result.exit_code == 0 and "wrote 2 cases" in result.stderr, result.output
    exported = cells(out)
    first = dict(zip([sheet._column(g, n) for g, n in sheet.HEADERS], exported[2]))
    assert first["复议机关/共同被告"] == "市人民政府(复议机关)"
    assert first["原告"] == "'=HYPERLINK(1)"  # neutralised: a spreadsheet shows it as text
    assert (first[H1 + "出庭人员"], first[H1 + "是否发言"], first[H2 + "出庭人员"], first[H2 + "是否发言"]) == (
        "副职负责人", "是", "正职负责人", "否")  # the first defendant's hearings; 市人民政府's is not on the sheet
    assert first["立案日期"] == dt.datetime(2022, 3, 1) and first["二审改判结果"] == "撤销"

    before = log.export()
    again = sheet_import(log, out)
    assert again.exit_code == 0 and "added 0 events" in again.stderr, again.output
    assert log.export() == before

    empty = CaseLog(tmp_path / "empty.db")
    assert sheet_import(empty, out).exit_code == 0
    back = tmp_path / "back.xlsx"
    assert empty.invoke("sheet", "export", str(back)).exit_code == 0
    assert cells(back) == exported
    plaintiff = next(p for c, t, p in fields(empty) if t == "case_filed" and c == ROUND[0])["plaintiff"]
    assert plaintiff == "=HYPERLINK(1)"
    hearings = [p for c, t, p in fields(empty) if t == "hearing_held"]
    assert {h.get("agency") for h in hearings} == {"市公安局"}  # named: the case has two defendants


def test_a_case_with_several_defendants_gets_hearings_of_its_first_and_corrected_roles(tmp_path, log):
    filed = case(C1, **{"复议机关/共同被告": "市人民政府（复议机关）"})
    assert sheet_import(log, workbook(tmp_path / "a.xlsx", [filed])).exit_code == 0
    later = {**filed, **HEARD, "复议机关/共同被告": "市人民政府(共同被告)"}
    path = workbook(tmp_path / "b.xlsx", [later])
    dry = sheet_import(log, path, "--dry-run")
    assert dry.stdout.splitlines() == [
        f"2023年台账 row 4, 复议机关/共同被告: '市人民政府(共同被告)' in the sheet, '市人民政府(复议机关)' in the log "
        f"(case_filed {log.events()[0]['event_id'][:13]})"]
    assert sheet_import(log, path, "--dry-run", "--correct", "--reason", "核对").exit_code == 0
    result = sheet_import(log, path, "--correct", "--reason", "核对")
    assert result.exit_code == 0, result.output
    assert [(t, p) for _, t, p in fields(log)[1:]] == [
        ("event_corrected", {"target": log.events()[0]["event_id"], "reason": "核对",
                             "changes": {"co_defendants": [{"agency": "市人民政府", "role": "joint"}]}}),
        ("hearing_held", {"held_on": "2023-03-05", "attendance": "deputy", "level": "first", "official": "王某",
                          "title": "副局长", "spoke": True, "agency": "市市场监管局"}),
    ]


def test_a_log_with_keys_takes_a_sheet_only_with_a_key(tmp_path, log):
    key = tmp_path / "admin.key"
    assert log.invoke("keys", "init", "--out", str(key)).exit_code == 0
    path = workbook(tmp_path / "a.xlsx", [case(C1, **HEARD)])
    check_refusal(sheet_import(log, path), ["--key"])
    signed = log.invoke("--key", str(key), "sheet", "import", str(path))
    assert signed.exit_code == 0, signed.output
    assert "signed: every entry and checkpoint verifies" in log.invoke("verify").stderr
    again = log.invoke("sheet", "import", str(path))  # nothing to write: nothing to sign
    assert again.exit_code == 0 and "added 0 events" in again.stderr


def test_a_workbook_saved_by_another_writer_imports_like_one_of_openpyxl(tmp_path, log):
    """XlsxWriter (what pandas and many reporting tools save with) stores strings in a shared table,
    merges with merge_range and dates as numbers under a Chinese date format."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "other.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("台账")
    chinese_date = book.add_format({"num_format": 'yyyy"年"m"月"d"日"'})
    columns = [sheet._column(group, name) for group, name in sheet.HEADERS]
    for index, column in enumerate(columns):
        group, _, name = column.rpartition("·")
        if not group:
            ws.merge_range(0, index, 1, index, name)
        elif name == sheet.HEARING_COLUMNS[0]:
            ws.merge_range(0, index, 0, index + len(sheet.HEARING_COLUMNS) - 1, group)
        if group:
            ws.write(1, index, name)
    for number, row in enumerate([case(C1, **DECIDED), case(C2, **HEARD)], 2):
        for index, column in enumerate(columns):
            value = row.get(column)
            if isinstance(value, dt.date):
                ws.write_datetime(number, index, dt.datetime.combine(value, dt.time()), chinese_date)
            elif value is not None:
                ws.write(number, index, value)
    book.close()
    assert sheet_import(log, path).exit_code == 0
    from_openpyxl = CaseLog(tmp_path / "other.db")
    assert sheet_import(from_openpyxl, workbook(tmp_path / "a.xlsx", [case(C1, **DECIDED), case(C2, **HEARD)])).exit_code == 0
    assert fields(log) == fields(from_openpyxl)


def test_a_case_the_log_lacks_needs_its_filing(tmp_path, log):
    row = {"案号": C1, **HEARD}
    result = sheet_import(log, workbook(tmp_path / "a.xlsx", [row]), "--dry-run")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"2023年台账 row 4, 案号 '{C1}': is not in the log: a new case needs 立案日期, 法院, 被告 and 案由"]
