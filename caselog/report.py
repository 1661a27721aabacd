"""Summaries and listings for people: text and Markdown in Chinese or English, CSV, JSON.

Nothing is computed here: every number comes from ``caselog.summary``; this
module only rounds and words it.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Iterable

from caselog import cells, figures
from caselog.events import AGENCY_LEVELS_ZH, LABELS_ZH, UNREGISTERED

ZH_NUMERALS = "零一二三四五六七八九十"


def width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(rows: list[dict], columns: Iterable[str]) -> str:
    columns = list(columns)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([width(c)] + [width(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(values, widths)).rstrip()

    out = [line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells]
    return "\n".join(out)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def points(change: float | None, lang: str) -> str:
    if change is None:
        return "—"
    if lang == "zh":
        return f"{'提高' if change >= 0 else '下降'}{abs(change):.2f}个百分点"
    return f"{change:+.2f} points"


def zh_count(n: int) -> str:
    """A small count as it is written before a measure word: 连续两年, 连续三年."""
    return "两" if n == 2 else ZH_NUMERALS[n] if 0 <= n <= 10 else str(n)


def worst_first(rows: list[dict]) -> list[dict]:
    """Lowest appearance rate first, then highest loss rate; agencies with no hearings last."""
    return sorted(rows, key=lambda r: (
        r["appearance_rate"] is None,
        r["appearance_rate"] if r["appearance_rate"] is not None else 0,
        -(r["loss_rate"] or 0),
        r["agency"],
    ))


AGENCY_COLUMNS = {
    "zh": [("agency", "单位"), ("filed", "发案"), ("heard", "应出庭"), ("appearance_rate", "出庭应诉率"),
           ("principal", "正职"), ("deputy", "副职"), ("other_head", "其他负责人"), ("staff", "工作人员"),
           ("silent", "出庭不出声"), ("speaking_rate", "出声率"), ("concluded", "审结"), ("losses", "败诉"),
           ("loss_rate", "败诉率")],
    "en": [("agency", "agency"), ("filed", "filed"), ("heard", "heard"), ("appearance_rate", "appearance"),
           ("principal", "principal"), ("deputy", "deputy"), ("other_head", "other head"), ("staff", "staff"),
           ("silent", "silent"), ("speaking_rate", "speaking"), ("concluded", "concluded"), ("losses", "losses"),
           ("loss_rate", "loss rate")],
}


def _agency_cells(row: dict, lang: str) -> list[str]:
    return [row["agency"], *_figure_cells(row, lang)]


def _figure_cells(row: dict, lang: str) -> list[str]:
    """The cells of the agency table after its first column, for a row of an agency or of a group."""
    return [pct(row[key]) if key in figures.RATES else str(row[key]) for key, _ in AGENCY_COLUMNS[lang][1:]]


#: The summary's groups of agencies (by_agency_level, by_region): their heading and first column.
GROUP_HEADINGS = {
    "agency_level": {"zh": ("按被告级别", "被告级别"), "en": ("By the defendant's level", "level")},
    "region": {"zh": ("按区县", "区县"), "en": ("By region", "region")},
}


def group_name(field: str, value: str, lang: str) -> str:
    """A group as people read it: 市级部门 (city_dept); the unregistered as 未登记."""
    if value == UNREGISTERED:
        return "未登记" if lang == "zh" else "unregistered (未登记)"
    if field == "agency_level":
        return AGENCY_LEVELS_ZH[value] if lang == "zh" else f"{value} ({AGENCY_LEVELS_ZH[value]})"
    return value


def _group_tables(s: dict, lang: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, column headers, rows) of each grouping the summary holds, in the summary's order."""
    out = []
    for field, names in GROUP_HEADINGS.items():
        rows = s.get("by_" + field) or []
        if rows:
            heading, first = names[lang]
            headers = [first] + [h for _, h in AGENCY_COLUMNS[lang][1:]]
            out.append((heading, headers, [[group_name(field, row[field], lang), *_figure_cells(row, lang)]
                                           for row in rows]))
    return out


def _group_note(lang: str) -> str:
    if lang == "zh":
        return "注:按案件和被告计算,共同被告案件计入每个被告所在的组。"
    return "Counted per case and defendant: a co-defendant case counts in each of its defendants' groups."


def _period(s: dict, lang: str) -> str:
    if s["year"] is not None:
        return f"{s['year']}年" if lang == "zh" else str(s["year"])
    return f"{s['from']}至{s['to']}" if lang == "zh" else f"{s['from']} to {s['to']}"


def _previous_period(s: dict, lang: str) -> str:
    if s["year"] is not None:
        return f"{s['year'] - 1}年同期" if lang == "zh" else str(s["year"] - 1)
    return "上年同期" if lang == "zh" else "the same dates a year earlier"


def paragraph(s: dict, lang: str = "zh") -> str:
    """A paragraph a reviewer can paste into a report, in the seed report's style."""
    scope = s.get("agency") or ("全市" if lang == "zh" else "the city")
    if lang == "zh":
        parts = [f"{_period(s, lang)},{scope}行政诉讼案件出庭应诉率{pct(s['appearance_rate'])}"]
        if s["appearance_rate_change_pp"] is not None:
            parts[0] += f",较{_previous_period(s, lang)}{points(s['appearance_rate_change_pp'], lang)}"
        heads = s["head_appeared"]
        if heads:
            leading = max(("principal", "deputy", "other_head"), key=lambda k: s[k])
            parts.append(
                f"负责人出庭{heads}件,其中正职{s['principal']}件、副职{s['deputy']}件、其他负责人{s['other_head']}件,"
                f"以{ {'principal': '正职', 'deputy': '副职', 'other_head': '其他负责人'}[leading] }出庭为主"
            )
        if s["staff"]:
            parts.append(f"{s['staff']}件由工作人员代替负责人出庭")
        if heads:
            parts.append(f"出庭不出声{s['silent']}件,出声率{pct(s['speaking_rate'])}")
        loss = f"判决行政机关败诉{s['losses']}件"
        adjust = []
        if s["reduced_on_appeal"]:
            adjust.append(f"经二审核减{s['reduced_on_appeal']}件")
        if s["added_on_appeal"]:
            adjust.append(f"经二审改判增加{s['added_on_appeal']}件")
        if adjust:
            loss += "(" + ",".join(adjust) + ")"
        loss += f",败诉率{pct(s['loss_rate'])}"
        parts.append(loss)
        if s.get("double_decline_streak"):
            parts.append(f"连续{zh_count(s['double_decline_streak'])}年实现行政诉讼发案量和败诉率“双下降”")
        return ";".join(parts) + "。"
    parts = [f"In {_period(s, lang)}, the appearance rate of agency heads in {scope} was {pct(s['appearance_rate'])}"]
    if s["appearance_rate_change_pp"] is not None:
        parts[0] += f" ({points(s['appearance_rate_change_pp'], lang)} on {_previous_period(s, lang)})"
    if s["head_appeared"]:
        parts.append(f"heads appeared in {s['head_appeared']} units ({s['principal']} principal, {s['deputy']} deputy, "
                     f"{s['other_head']} other heads) and stayed silent in {s['silent']}")
    if s["staff"]:
        parts.append(f"staff stood in for the head in {s['staff']}")
    loss = f"agencies lost {s['losses']} cases"
    if s["reduced_on_appeal"] or s["added_on_appeal"]:
        loss += f" ({s['reduced_on_appeal']} reduced and {s['added_on_appeal']} added on appeal)"
    parts.append(loss + f", a loss rate of {pct(s['loss_rate'])}")
    if s.get("double_decline_streak"):
        parts.append(f"both filings and the loss rate fell for {s['double_decline_streak']} consecutive years")
    return "; ".join(parts) + "."


def _headline(s: dict, lang: str) -> list[tuple[str, str]]:
    zh = lang == "zh"
    filed_change = "—" if s["filed_change_pct"] is None else f"{s['filed_change_pct']:+.1f}%"
    rows = [
        ("发案量" if zh else "filed", f"{s['filed']} ({'同比' if zh else 'change'} {filed_change})"),
        ("应出庭(案件·审级)" if zh else "units heard", str(s["heard"])),
        ("出庭应诉率" if zh else "appearance rate",
         f"{pct(s['appearance_rate'])} ({s['head_appeared']}/{s['heard']}; {points(s['appearance_rate_change_pp'], lang)})"),
        ("正职 / 副职 / 其他负责人" if zh else "principal / deputy / other head",
         f"{s['principal']} / {s['deputy']} / {s['other_head']}"),
        ("工作人员 / 仅律师 / 无人" if zh else "staff / lawyer only / none",
         f"{s['staff']} / {s['lawyer_only']} / {s['none']}"),
        ("正职出庭率 / 正职占比" if zh else "principal rate / share",
         f"{pct(s['principal_rate'])} / {pct(s['principal_share'])}"),
        ("出声 / 出庭不出声 / 出声率" if zh else "spoke / silent / speaking rate",
         f"{s['spoke']} / {s['silent']} / {pct(s['speaking_rate'])}"),
        ("应发司法建议" if zh else "recommendations expected", str(s["recommendations_expected"])),
        *([("复议机关出庭率" if zh else "reconsideration bodies' appearance rate",
            f"{pct(s['reconsideration_appearance_rate'])} "
            f"({s['reconsideration_head_appeared']}/{s['reconsideration_heard']})")]
          if s["reconsideration_heard"] else []),
        ("审结" if zh else "concluded", str(s["concluded"])),
        ("一审败诉 / 二审核减 / 改判增加" if zh else "first-instance losses / reduced / added",
         f"{s['losses_first_instance']} / {s['reduced_on_appeal']} / {s['added_on_appeal']}"),
        ("败诉 / 败诉率" if zh else "losses / loss rate",
         f"{s['losses']} / {pct(s['loss_rate'])} ({points(s['loss_rate_change_pp'], lang)})"),
        ("实体判决 / 实体败诉率" if zh else "merits judgments / merits loss rate",
         f"{s['merits_judgments']} / {pct(s['merits_loss_rate'])}"),
        ("改变行政行为后撤诉" if zh else "withdrawn after the agency changed its act", str(s["withdrawn_after_change"])),
    ]
    if s["double_decline_streak"] is not None:
        rows.append(("发案量和败诉率双下降(连续年数)" if zh else "double-decline streak (years)", str(s["double_decline_streak"])))
    return rows


def _title(s: dict, lang: str) -> str:
    level = {"all": ("全部审级", "all levels"), "first": ("一审", "first instance")}[s["level"]]
    scope = s.get("agency") or ("全市" if lang == "zh" else "city")
    if lang == "zh":
        return f"{scope}行政诉讼出庭应诉与败诉情况 {_period(s, lang)}({level[0]})"
    return f"Administrative litigation, {scope}, {_period(s, lang)} ({level[1]})"


def _provenance(s: dict, lang: str) -> str:
    head = f"{s['head']['position']}:{s['head']['hash']}"
    as_of = s["as_of"] or ("现在" if lang == "zh" else "now")
    return f"截至 {as_of},日志头 {head}" if lang == "zh" else f"as of {as_of}, log head {head}"


def _agency_note(lang: str) -> str:
    if lang == "zh":
        return "注:有共同被告的案件计入每个被告的行,各单位之和可以大于全市。"
    return "A case with co-defendants counts in each defendant's row, so the rows may add up to more than the city."


def render_text(s: dict, lang: str) -> str:
    labels = _headline(s, lang)
    pad = max(width(label) for label, _ in labels)
    out = [_title(s, lang), _provenance(s, lang), ""]
    out += [f"{label}{' ' * (pad - width(label))}  {value}" for label, value in labels]
    if s["by_agency"]:
        out += ["", "各单位(由差到好)" if lang == "zh" else "By agency (worst first)"]
        headers = [h for _, h in AGENCY_COLUMNS[lang]]
        rows = [dict(zip(headers, _agency_cells(r, lang))) for r in worst_first(s["by_agency"])]
        out += [table(rows, headers), _agency_note(lang)]
    for heading, headers, rows in _group_tables(s, lang):
        out += ["", heading, table([dict(zip(headers, row)) for row in rows], headers)]
    if _group_tables(s, lang):
        out.append(_group_note(lang))
    out += ["", paragraph(s, lang)]
    return "\n".join(out) + "\n"


def render_markdown(s: dict, lang: str) -> str:
    zh = lang == "zh"
    # Agency names are the only text people typed: escaped, one cannot add a row, a link or a line.
    s = {**s, "agency": s.get("agency") and cells.markdown_text(s["agency"]),
         "by_agency": [{**r, "agency": cells.markdown_text(r["agency"])} for r in s["by_agency"]]}
    out = [f"## {_title(s, lang)}", "", f"_{_provenance(s, lang)}_", "",
           "| 指标 | 数值 |" if zh else "| figure | value |", "|---|---|"]
    out += [f"| {label} | {value} |" for label, value in _headline(s, lang)]
    if s["by_agency"]:
        headers = [h for _, h in AGENCY_COLUMNS[lang]]
        out += ["", "### " + ("各单位(由差到好)" if zh else "By agency (worst first)"), "",
                "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        out += ["| " + " | ".join(_agency_cells(r, lang)) + " |" for r in worst_first(s["by_agency"])]
        out += ["", _agency_note(lang)]
    for heading, headers, rows in _group_tables(s, lang):
        out += ["", f"### {heading}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        out += ["| " + " | ".join([cells.markdown_text(row[0]), *row[1:]]) + " |" for row in rows]
    if _group_tables(s, lang):
        out += ["", _group_note(lang)]
    out += ["", paragraph(s, lang)]
    return "\n".join(out) + "\n"


def render_csv(s: dict) -> str:
    """One row for the city (agency 全市), one per agency, then one per level and one per region of
    agencies, every figure as a column."""
    buffer = io.StringIO()
    columns = ["year", "from", "to", "as_of", "level", "agency", *GROUP_HEADINGS, *figures.KEYS]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    common = {k: s.get(k) for k in ("year", "from", "to", "as_of", "level")}
    writer.writerow(cells.neutralised({**common, **s, "agency": s.get("agency") or "全市"}))
    for row in [*s["by_agency"], *(row for field in GROUP_HEADINGS for row in s.get("by_" + field, ()))]:
        writer.writerow(cells.neutralised({**common, **row}))
    return buffer.getvalue()


def json_text(s: dict) -> str:
    """The summary as JSON for people and machines: a key a line, a row of a list a line.  (``indent``
    would lay out every figure of every agency on its own line, and runs in Python, not in C.)"""
    lines = []
    for key, value in s.items():
        if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
            rows = ",\n".join("    " + json.dumps(row, ensure_ascii=False) for row in value)
            lines.append(f"  {json.dumps(key)}: [\n{rows}\n  ]")
        else:
            lines.append(f"  {json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def render(s: dict, fmt: str, lang: str = "zh") -> str:
    if fmt == "json":
        return json_text(s)
    if fmt == "csv":
        return render_csv(s)
    if fmt == "markdown":
        return render_markdown(s, lang)
    return render_text(s, lang)


def case_text(detail: dict) -> str:
    """A case for a clerk: where it stands, then every event with its corrections beside it."""
    out = [detail["case"]]
    state = detail["state"]
    if state:
        out.append(
            f"  {state['agency']} · {state['cause']} · filed {state['filed_on']} at {state['court']} · "
            f"status {state['status']} · version {state['version']}"
        )
        if detail["outcome"]:
            o = detail["outcome"]
            out.append(f"  concluded {o['concluded_on']}: {o['first_disposition']} ({LABELS_ZH[o['first_disposition']]})"
                       + (f" → now {o['disposition']} ({LABELS_ZH[o['disposition']]})" if o["disposition"] != o["first_disposition"] else ""))
        for u in detail["appearance_units"]:
            spoke = "" if not u["head"] else (" · spoke" if u["spoke"] else " · silent (出庭不出声)")
            out.append(f"  {u['level']} unit {u['year']}: {u['attendance']} ({LABELS_ZH[u['attendance']]}), "
                       f"{u['hearings']} hearing(s){spoke}")
        for a in detail["appeals"]:
            out.append(f"  {a['level']} {a['appeal_case'] or ''} {a['filed_on'] or ''} → "
                       f"{a['result'] or 'pending'} {a['decided_on'] or ''} {a['disposition'] or ''}".rstrip())
        if len(detail["defendants"]) > 1:
            out.append("  defendants:")
            for d in detail["defendants"]:
                role = LABELS_ZH[d["role"]] if d["role"] else "被告"
                added = f", added {d['added_on']}" if d["added_on"] else ""
                outcome = (f" · outcome {d['disposition']} ({LABELS_ZH[d['disposition']]})" if d["disposition"] else "")
                levels = "; ".join(
                    f"{u['level']} {u['attendance']} ({LABELS_ZH[u['attendance']]})"
                    + ("" if not u["head"] else " spoke" if u["spoke"] else " silent") for u in d["units"])
                out.append(f"    {d['agency']} ({role}{added}){outcome}" + (f" · {levels}" if levels else ""))
    else:
        out.append("  (no standing case_filed: retracted)")
    out.append("")
    out.append("audit trail:")
    for row in detail["trail"]:
        fields = ", ".join(f"{k}={v}" for k, v in row["payload"].items())
        flag = " [retracted]" if row["retracted_by"] else ""
        out.append(f"  #{row['position']} v{row['version']} {row['recorded_at']} {row['recorded_by']}  "
                   f"{row['type']} {row['event_id']}{flag}")
        out.append(f"      {fields}")
        for note in row["corrections"]:
            changes = ", ".join(f"{k}={v}" for k, v in note["changes"].items())
            out.append(f"      ↳ corrected {note['recorded_at']} by {note['recorded_by']}: {changes} "
                       f"({note['reason']}; {note['event_id']})")
        if row["retracted_by"]:
            note = row["retracted_by"]
            out.append(f"      ↳ retracted {note['recorded_at']} by {note['recorded_by']} ({note['reason']}; {note['event_id']})")
    return "\n".join(out) + "\n"
