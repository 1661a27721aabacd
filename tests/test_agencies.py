"""The agency registry (docs/domain.md, "The agency registry"): its events and refusals, the guard on the
case events, names compared without whitespace, and the figures by agency, level and region against a
hand-computed log in which an agency is renamed between two years."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from builders import LogBuilder
from caselog import agencies, audit, chain, interchange, opening, writer
from caselog import events as ev
from caselog.errors import TamperError
from cli import cli

OLD, NEW = "市国土资源局", "市自然资源和规划局"


def run(db, *args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["--db", str(db), "--clerk", "张", *args], input=input)


def ok(db, *args: str, input: str | None = None):
    result = run(db, *args, input=input)
    assert result.exit_code == 0, result.output
    return result


def refused(db, *args: str) -> str:
    """A refusal: exit 1 and one line on stderr."""
    result = run(db, *args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


# --- the hand-computed log -------------------------------------------------------------------------
# 2018: c0 某街道办事处 (logged before any registry: unregistered), c1 市国土资源局 (deputy spoke; lost),
#       c2 市公安局 (staff; claims dismissed).  On 2019-01-10 市国土资源局 becomes 市自然资源和规划局.
# 2019: c3 市自然资源和规划局 with 城东区人民政府 as the 复议机关 (principal spoke for the first; none for
#       the second; the first not lost, the second lost), c4 公安局 (an alias: deputy, silent).


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    b = LogBuilder(tmp_path_factory.mktemp("registry") / "r.db")
    b.file(2018, agency="某街道办事处")
    for name, level, region, aliases in ((OLD, "city_dept", "市本级", None),
                                         ("市公安局", "city_dept", "市本级", ["公安局"]),
                                         ("城东区人民政府", "county_gov", "城东区", None)):
        b.add("agency_registered", ev.REGISTRY, agency=name, agency_level=level, region=region,
              **({"aliases": aliases} if aliases else {}))
    c1 = b.file(2018, agency="市 国土资源局")
    b.hearing(c1, "2018-03-01", "deputy", spoke=True)
    b.add("case_concluded", c1, decided_on="2018-06-01", disposition="revoked")
    c2 = b.file(2018, agency="市公安局")
    b.hearing(c2, "2018-03-05", "staff")
    b.add("case_concluded", c2, decided_on="2018-07-01", disposition="claims_dismissed")
    b.before_rename = b.tick()
    b.add("agency_renamed", ev.REGISTRY, agency=OLD, new_name=NEW, renamed_on="2019-01-10")
    c3 = f"(2019)浙0302行初{next(b.serials)}号"
    b.add("case_filed", c3, filed_on="2019-02-01", court="某某区人民法院", agency=NEW, cause="行政处罚",
          co_defendants=[{"agency": "城东区人民政府", "role": "reconsideration"}])
    b.hearing(c3, "2019-03-01", "principal", spoke=True, agency=NEW)
    b.add("case_concluded", c3, decided_on="2019-05-01", disposition="claims_dismissed",
          dispositions={"城东区人民政府": "revoked"})
    c4 = b.file(2019, agency="公安局")
    b.hearing(c4, "2019-03-02", "deputy", spoke=False)
    b.cases = (c1, c2, c3, c4)
    return b


def test_an_alias_and_a_spaced_name_are_stored_as_their_agency(city):
    stored = [json.loads(p)["agency"] for (p,) in city.conn.execute(
        "SELECT payload FROM events WHERE type = 'case_filed' ORDER BY position")]
    assert stored == ["某街道办事处", OLD, "市公安局", NEW, "市公安局"]


def test_the_figures_of_a_year_by_agency_level_and_region(city):
    s = city.summary(2019)
    rows = {r["agency"]: r for r in s["by_agency"]}
    assert set(rows) == {NEW, "市公安局", "城东区人民政府"}
    levels = {r["agency_level"]: r for r in s["by_agency_level"]}
    regions = {r["region"]: r for r in s["by_region"]}
    assert [r["agency_level"] for r in s["by_agency_level"]] == ["city_dept", "county_gov"]
    assert [r["region"] for r in s["by_region"]] == ["城东区", "市本级"]
    # city_dept = 市本级 = (c3, 自然资源和规划局) + (c4, 市公安局); 2018: c1 (lost) and c2.
    for group in (levels["city_dept"], regions["市本级"]):
        assert {k: group[k] for k in ("filed", "heard", "head_appeared", "principal", "deputy", "spoke", "silent",
                                      "concluded", "losses", "filed_prev", "loss_rate_prev")} == {
            "filed": 2, "heard": 2, "head_appeared": 2, "principal": 1, "deputy": 1, "spoke": 1, "silent": 1,
            "concluded": 1, "losses": 0, "filed_prev": 2, "loss_rate_prev": 0.5}
        assert group["appearance_rate"] == 1.0 and group["speaking_rate"] == 0.5
        assert group["loss_rate_change_pp"] == -50.0
    # The co-defendant case counts in the county government's groups too: heard with no one there.
    for group in (levels["county_gov"], regions["城东区"]):
        assert {k: group[k] for k in ("filed", "heard", "none", "recommendations_expected", "reconsideration_heard",
                                      "concluded", "losses", "loss_rate", "filed_prev")} == {
            "filed": 1, "heard": 1, "none": 1, "recommendations_expected": 1, "reconsideration_heard": 1,
            "concluded": 1, "losses": 1, "loss_rate": 1.0, "filed_prev": 0}
    # The city counts the co-defendant case once, a loss since one defendant lost.
    assert (s["filed"], s["heard"], s["concluded"], s["losses"]) == (2, 2, 1, 1)


def test_a_renamed_agency_keeps_its_years_under_the_former_name(city):
    renamed = next(r for r in city.summary(2019)["by_agency"] if r["agency"] == NEW)
    assert (renamed["filed"], renamed["filed_prev"], renamed["loss_rate"], renamed["loss_rate_prev"]) == (1, 1, 0.0, 1.0)
    assert renamed["loss_rate_change_pp"] == -100.0
    assert [r["agency"] for r in city.summary(2018)["by_agency"]] == ["市公安局", NEW, "某街道办事处"]
    assert city.summary(2018, agency=OLD)["agency"] == NEW  # a former name names the agency


def test_an_agency_the_registry_lacks_counts_as_unregistered(city):
    s = city.summary(2018)
    assert [(r["agency_level"], r["filed"]) for r in s["by_agency_level"]] == [("city_dept", 2), ("unregistered", 1)]
    assert [(r["region"], r["filed"]) for r in s["by_region"]] == [("市本级", 2), ("unregistered", 1)]


def test_as_of_before_the_rename_shows_the_registry_and_names_of_that_moment(city):
    past = city.summary(2018, as_of=city.before_rename)
    assert [r["agency"] for r in past["by_agency"]] == ["市公安局", OLD, "某街道办事处"]
    listed = audit.agencies_listed(city.conn, city.before_rename)
    assert [(r["agency"], r["former_names"]) for r in listed] == [("市公安局", ""), (OLD, ""), ("城东区人民政府", "")]
    assert [r["former_names"] for r in audit.agencies_listed(city.conn) if r["agency"] == NEW] == [f"{OLD}(至2019-01-10)"]


def test_verify_replays_the_registry_and_the_projections_equal_a_rebuild(city):
    head = audit.verify(city.conn)
    assert head.position == chain.head(city.conn).position
    before = city.conn.execute("SELECT * FROM yearly_figures ORDER BY year, level, agency").fetchall()
    opening.rebuild(city.conn)
    assert city.conn.execute("SELECT * FROM yearly_figures ORDER BY year, level, agency").fetchall() == before
    assert city.conn.execute("SELECT * FROM agency_names ORDER BY name").fetchall() == [
        ("公安局", "市公安局", "alias", None), ("城东区人民政府", "城东区人民政府", "name", None),
        ("市公安局", "市公安局", "name", None), (OLD, NEW, "former", "2019-01-10"), (NEW, NEW, "name", None)]


def test_an_export_imports_into_an_empty_log_with_the_same_hashes(city, tmp_path):
    exported = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in interchange.export(city.conn))
    conn = opening.open_log(tmp_path / "copy.db")
    writer.append(conn, interchange.read_jsonl(io.BytesIO(exported.encode()), "tester"))
    assert chain.head(conn) == chain.head(city.conn)
    assert city.conn.execute("SELECT * FROM agencies").fetchall() == conn.execute("SELECT * FROM agencies").fetchall()


def test_a_case_event_naming_an_agency_the_registry_did_not_know_fails_verify(tmp_path, monkeypatch):
    """A history the writer would have refused (a chain relinked around a stranger's name) is a rewritten log."""
    b = LogBuilder(tmp_path / "forged.db")
    b.add("agency_registered", ev.REGISTRY, agency="市公安局", agency_level="city_dept", region="市本级")
    monkeypatch.setattr(agencies, "admit", lambda registry, event, defendants: event)
    b.file(2019, agency="市税务局")
    monkeypatch.undo()
    with pytest.raises(TamperError, match="position 2: case_filed .*市税务局 is not a registered agency"):
        audit.verify(b.conn)


# --- the guard, through the command line -------------------------------------------------------------


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "c.db"
    ok(path, "agency", "add", "市公安局", "--level", "市级部门", "--region", "市本级", "--alias", "公安局")
    ok(path, "agency", "add", "市人民政府", "--level", "city_gov", "--region", "市本级")
    return path


CASE = "(2022)浙0302行初1号"


def test_a_name_neither_registered_nor_an_alias_is_refused_with_the_nearest(db):
    line = refused(db, "file", CASE, "--filed-on", "2022-03-01", "--court", "某法院", "--agency", "市公 安",
                   "--cause", "行政处罚")
    assert "市公安 is not a registered agency or alias (did you mean 市公安局?)" in line
    assert run(db, "events", "--type", "case_filed", "--json").output.strip() == "[]"


@pytest.mark.parametrize("command", [
    ["add-defendant", CASE, "--added-on", "2022-03-02", "--agency", "市税务局", "--role", "joint"],
    ["hearing", CASE, "--held-on", "2022-03-02", "--attendance", "staff", "--agency", "市税务局"],
    ["conclude", CASE, "--decided-on", "2022-03-02", "--disposition", "revoked", "--outcome", "市税务局=撤销"],
], ids=["defendant_added", "hearing_held", "dispositions"])
def test_every_field_naming_an_agency_is_guarded(db, command):
    ok(db, "file", CASE, "--filed-on", "2022-03-01", "--court", "某法院", "--agency", "公安局", "--cause", "行政处罚")
    assert "市税务局 is not a registered agency" in refused(db, *command)


def test_a_correction_naming_an_agency_is_guarded_and_resolved(db):
    filed = json.loads(ok(db, "file", CASE, "--filed-on", "2022-03-01", "--court", "某法院", "--agency", "市人民政府",
                          "--cause", "行政处罚", "--json").output)
    assert "did you mean 市公安局" in refused(db, "correct", filed["event_id"], "--set", "agency=市公安", "--reason", "错")
    ok(db, "correct", filed["event_id"], "--set", "agency=公安局", "--reason", "录错被告")
    [correction] = json.loads(ok(db, "events", "--type", "event_corrected", "--json").output)
    assert json.loads(correction["payload"])["changes"] == {"agency": "市公安局"}


def test_an_import_line_naming_a_stranger_is_refused_naming_the_line(db, tmp_path):
    lines = [{"type": "case_filed", "case": CASE, "filed_on": "2022-03-01", "court": "某法院", "agency": "公安局",
              "cause": "行政处罚"},
             {"type": "hearing_held", "case": CASE, "held_on": "2022-03-05", "attendance": "staff", "agency": "市税务局"}]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8")
    line = refused(db, "import", str(path))
    assert "line 2" in line and "市税务局 is not a registered agency" in line
    path.write_text(json.dumps(lines[0], ensure_ascii=False) + "\n", "utf-8")
    ok(db, "import", str(path))
    assert json.loads(ok(db, "show", CASE, "--json").output)["state"]["agency"] == "市公安局"


@pytest.mark.parametrize("command, words", [
    (["agency", "add", "公安局", "--level", "city_dept", "--region", "市本级"], "already known to the registry, as 市公安局"),
    (["agency", "add", "市税务局", "--level", "市级机关", "--region", "市本级"], "--level"),
    (["agency", "alias", "市税务局", "税务局"], "not a registered agency"),
    (["agency", "alias", "市人民政府", "公安局"], "already known"),
    (["agency", "rename", "市公安局", "市人民政府", "--on", "2019-01-01"], "already known"),
    (["agency", "rename", "市公安局", "市公安分局", "--on", "2019-02-30"], "--on"),
    (["agency", "update", "市公安局"], "needs a new --level or --region"),
], ids=["known name", "unknown level", "alias of a stranger", "alias taken", "rename to a known name",
        "impossible date", "update of nothing"])
def test_registry_refusals(db, command, words):
    assert words in refused(db, *command)


def test_summary_agency_compares_names_as_they_are_stored(tmp_path):
    """No registry: `--agency '市公安局 '` finds the agency `file` stored without the space."""
    path = tmp_path / "n.db"
    ok(path, "file", CASE, "--filed-on", "2022-03-01", "--court", "某法院", "--agency", "市　公安局 ", "--cause", "行政处罚")
    s = json.loads(ok(path, "summary", "--year", "2022", "--agency", "市公安局 ", "--format", "json").output)
    assert (s["agency"], s["filed"], s["by_agency_level"], s["by_region"]) == ("市公安局", 1, [], [])
    assert "no case of agency '市税务局'" in refused(path, "summary", "--year", "2022", "--agency", "市税务局")


def test_agency_list_in_three_shapes_and_show_by_an_alias(db):
    listed = json.loads(ok(db, "agency", "list", "--json").output)
    assert listed == [
        {"agency": "市人民政府", "agency_level": "city_gov", "level_zh": "市级政府", "region": "市本级", "aliases": "",
         "former_names": ""},
        {"agency": "市公安局", "agency_level": "city_dept", "level_zh": "市级部门", "region": "市本级", "aliases": "公安局",
         "former_names": ""}]
    rows = list(csv.DictReader(io.StringIO(ok(db, "agency", "list", "--csv").output)))
    assert [r["agency"] for r in rows] == ["市人民政府", "市公安局"]
    assert "市公安局" in ok(db, "agency", "list").output
    shown = json.loads(ok(db, "agency", "show", " 公安局", "--json").output)
    assert (shown["agency"], shown["cases"], [e["type"] for e in shown["events"]]) == ("市公安局", 0, ["agency_registered"])
    assert "did you mean 市公安局" in refused(db, "agency", "show", "市公安")


# --- a registry from a sheet -------------------------------------------------------------------------


SHEET = [["名称", "级别", "区县", "别名"],
         ["市 公安局", "市级部门", "市本级", "公安局、市局"],
         ["城东区人民政府", "county_gov", "城东区", ""],
         ["城东区城关镇人民政府", "乡镇(街道)", "城东区", "城关镇; 城关镇政府"]]


def _xlsx(path, rows) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_sheet_registers_every_agency(tmp_path, suffix):
    sheet = tmp_path / f"名录.{suffix}"
    if suffix == "csv":
        sheet.write_text("".join(",".join(row) + "\n" for row in SHEET), "utf-8-sig")
    else:
        _xlsx(sheet, SHEET)
    ok(tmp_path / "s.db", "agency", "import", str(sheet))
    listed = json.loads(ok(tmp_path / "s.db", "agency", "list", "--json").output)
    assert [(r["agency"], r["agency_level"], r["region"], r["aliases"]) for r in listed] == [
        ("市公安局", "city_dept", "市本级", "公安局、市局"), ("城东区人民政府", "county_gov", "城东区", ""),
        ("城东区城关镇人民政府", "township", "城东区", "城关镇、城关镇政府")]


def test_a_sheet_with_bad_rows_is_refused_whole_naming_each(tmp_path):
    sheet = tmp_path / "bad.xlsx"
    _xlsx(sheet, [*SHEET, ["市税务局", "市级机关", "市本级", None], ["市局", "city_dept", "市本级", None]])
    line = refused(tmp_path / "s.db", "agency", "import", str(sheet))
    assert "2 problem(s)" in line and "row 5: agency_level: unknown value '市级机关'" in line
    assert "row 6:" in line and "市局 is already known" in line
    assert json.loads(ok(tmp_path / "s.db", "agency", "list", "--json").output) == []


def test_a_sheet_without_its_headers_is_refused(tmp_path):
    sheet = tmp_path / "h.csv"
    sheet.write_text("name,level\n市公安局,city_dept\n", "utf-8")
    assert "名称, 级别, 区县" in refused(tmp_path / "s.db", "agency", "import", str(sheet))


# --- reports ---------------------------------------------------------------------------------------


def test_the_reports_show_the_groups(city):
    from caselog import report

    s = city.summary(2019)
    text = report.render(s, "text", "zh")
    assert "按被告级别" in text and "市级部门" in text and "按区县" in text and "城东区" in text
    markdown = report.render(s, "markdown", "en")
    assert "### By the defendant's level" in markdown and "| county\\_gov \\(县级政府\\) | 1 |" in markdown
    rows = list(csv.DictReader(io.StringIO(report.render(s, "csv"))))
    level = next(r for r in rows if r["agency_level"] == "city_dept")
    assert (level["agency"], level["filed"], level["filed_prev"]) == ("", "2", "2")
    assert next(r for r in rows if r["region"] == "城东区")["losses"] == "1"


def test_an_import_into_an_empty_log_read_by_the_helper_resolves_aliases_and_projects_them(tmp_path, monkeypatch):
    """The helper copies the file's events as written; once an alias is resolved they differ from what is
    logged, so the importing process refreshes every case itself and verify finds the projections right."""
    from caselog import parallel

    monkeypatch.setattr(parallel, "READ_APART_FROM", 0)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    lines = [{"type": "agency_registered", "case": ev.REGISTRY, "agency": "市公安局", "agency_level": "city_dept",
              "region": "市本级", "aliases": ["公安局"]},
             *({"type": "case_filed", "case": f"(2022)浙0302行初{n}号", "filed_on": "2022-03-01", "court": "某法院",
                "agency": "公安局" if n % 2 else "市公安局", "cause": "行政处罚"} for n in range(1, 41))]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8")
    conn = opening.open_log(tmp_path / "helped.db")
    with open(path, "rb") as file:
        assert parallel.import_file(conn, file, "tester") == 41
    assert conn.execute("SELECT DISTINCT agency FROM cases").fetchall() == [("市公安局",)]
    audit.verify(conn)
