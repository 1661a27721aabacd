"""The written report reviewers hand in: one self-contained HTML file for A4, or the same as Word.

``build`` gathers what the dashboard shows (``dashboard.collect``: the year's
figures from ``summary.summary``, the other years from the yearly table) and
words it with the dashboard's and ``caselog.report``'s wording; nothing here
computes a figure.  The HTML carries its fonts as CSS font stacks and its
charts as inline SVG, so it opens and prints with no network; the Word file
has the same sections, with each chart's figures as a small table (Word
cannot show an SVG that python-docx can write).
"""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from html import escape
from typing import Any, BinaryIO

from caselog import figures, report
from caselog.errors import CaselogError, InputError
from caselog.reviewer import dashboard, meta

#: Where the report's provenance section is; a signed checkpoint of the head goes in it once
#: caselog signs checkpoints (another change), so that a reader can check the figures' source.
PROVENANCE_ID = "provenance"

CSS = """
@page { size: A4; margin: 20mm 18mm 20mm 18mm; }
html { font-size: 11pt; }
body { font-family: "Songti SC", "STSong", "SimSun", "Noto Serif CJK SC", "Source Han Serif SC", "WenQuanYi Zen Hei", serif;
       line-height: 1.7; color: #000; max-width: 174mm; margin: 0 auto; }
h1, h2, h3, th, .caselog-meta { font-family: "Heiti SC", "STHeiti", "SimHei", "Microsoft YaHei", "Noto Sans CJK SC",
       "Source Han Sans SC", "WenQuanYi Zen Hei", sans-serif; }
h1 { font-size: 18pt; text-align: center; margin: 0 0 0.3em; }
h2 { font-size: 13pt; margin: 1.2em 0 0.4em; page-break-after: avoid; }
p.lead { text-indent: 2em; }
.caselog-meta { text-align: center; color: #333; font-size: 9.5pt; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 0.3em 0 0.8em; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 0.5pt solid #555; padding: 2pt 4pt; text-align: right; }
th[scope=row], thead th:first-child { text-align: left; }
figure { margin: 0.5em 0; page-break-inside: avoid; }
svg { max-width: 100%; height: auto; }
#provenance { font-size: 9pt; color: #333; word-break: break-all; border-top: 0.5pt solid #999; margin-top: 1.5em; }
@media print { a { color: inherit; text-decoration: none; } }
"""


def build(conn: sqlite3.Connection, year: int | None, level: str = "all", agency: str | None = None,
          today: dt.date | None = None) -> dict:
    """Everything the report says, as text and SVG; ``year`` None means the latest complete year."""
    data = dashboard.collect(conn, year, level, agency, today)
    s = data.get("current")
    if s is None:
        raise InputError("the log has no yearly figures yet: log some cases first")
    if not figures.active(s):
        raise InputError(f"nothing was filed, heard or concluded in {data['year']}"
                         f"{' for ' + agency if agency else ''}: the log has figures for "
                         f"{data['years'][0]} to {data['years'][-1]}")
    scope = agency or "全市"
    period = (f"{s['from']}至{s['to']}(年度未完)" if data["partial"] else f"{data['year']}年")
    compared = f"{data['year'] - 1}年同期" if data["partial"] else f"{data['year'] - 1}年"
    agencies = [{"agency": row["agency"], "cells": [dashboard.formatted(key, row[key]) for key in dashboard.AGENCY_KEYS]}
                for row in report.worst_first(s["by_agency"])]
    years = data["years"]
    return {
        "year": data["year"],
        "title": f"{scope}行政诉讼出庭应诉与败诉情况报告",
        "period": period,
        "level": dashboard.LEVELS[level][0],
        "compared": compared,
        "paragraph": report.paragraph(s, "zh"),
        "figures": dashboard.figure_rows(s, data["previous"], lambda key, found: None),
        "agency_columns": [meta.label("yearly_figures", key)[0] for key in dashboard.AGENCY_KEYS],
        "agencies": agencies,
        "charts": dashboard.chart_svgs(years, data["summaries"], data["year"], data["unfinished"]),
        "series": [(str(y), dashboard.formatted("appearance_rate", data["summaries"][y]["appearance_rate"]),
                    dashboard.formatted("loss_rate", data["summaries"][y]["loss_rate"]),
                    *(str(data["summaries"][y][key]) for key in dashboard.SPLIT)) for y in years],
        "provenance": [
            ("日志头(位置:哈希)", f"{s['head']['position']}:{s['head']['hash']}"),
            ("数据截至", s["as_of"] or f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}(生成时的全部记录)"),
            ("核对方法", f"caselog verify --anchor {s['head']['position']}:{s['head']['hash']}"),
        ],
    }


def _table(head: list[str], rows: list[list[str]], first_is_row_header: bool = True) -> str:
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        cells = [f'<th scope="row">{escape(row[0])}</th>' if first_is_row_header else f"<td>{escape(row[0])}</td>"]
        out.append("<tr>" + "".join(cells + [f"<td>{escape(c)}</td>" for c in row[1:]]) + "</tr>")
    return "".join(out) + "</tbody></table>"


def render_html(r: dict) -> str:
    """The report as one HTML file: styles inline, charts inline SVG, nothing fetched."""
    figures = [[f"{row['zh']}", row["value"], row["previous"], row["change"].split(" · ")[0]] for row in r["figures"]]
    parts = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(r['title'])}({escape(r['period'])})</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(r['title'])}</h1>",
        f'<p class="caselog-meta">{escape(r["period"])} · {escape(r["level"])} · 与{escape(r["compared"])}比较</p>',
        "<h2>一、基本情况</h2>", f'<p class="lead">{escape(r["paragraph"])}</p>',
        "<h2>二、主要数据</h2>",
        _table(["指标", r["period"], r["compared"], "变化"], figures),
        "<h2>三、历年趋势</h2>",
        *(f"<figure>{svg}</figure>" for svg in r["charts"]),
        f"<h2>四、各单位情况(由差到好,共 {len(r['agencies'])} 个单位)</h2>",
        _table(["单位", *r["agency_columns"]], [[a["agency"], *a["cells"]] for a in r["agencies"]]),
        f'<section id="{PROVENANCE_ID}"><h2>数据来源</h2>',
        "".join(f"<p>{escape(name)}:{escape(value)}</p>" for name, value in r["provenance"]),
        "</section></body></html>",
    ]
    return "".join(parts)


def render_docx(r: dict, out: BinaryIO) -> None:
    """The same report as a Word document, A4, Chinese fonts named for Word to use."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    section.top_margin = section.bottom_margin = Mm(20)
    for name, east_asian, size in (("Normal", "宋体", 11), ("Title", "黑体", 18), ("Heading 1", "黑体", 13)):
        style = doc.styles[name]
        style.font.size = Pt(size)
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asian)

    def table(head: list[str], rows: list[list[str]]) -> None:
        t = doc.add_table(rows=1, cols=len(head), style="Table Grid")
        for cell, text in zip(t.rows[0].cells, head):
            cell.text = text
        for row in rows:
            for cell, text in zip(t.add_row().cells, row):
                cell.text = text

    doc.add_heading(r["title"], level=0)
    doc.add_paragraph(f"{r['period']} · {r['level']} · 与{r['compared']}比较")
    doc.add_heading("一、基本情况", level=1)
    doc.add_paragraph(r["paragraph"]).paragraph_format.first_line_indent = Pt(22)
    doc.add_heading("二、主要数据", level=1)
    table(["指标", r["period"], r["compared"], "变化"],
          [[row["zh"], row["value"], row["previous"], row["change"].split(" · ")[0]] for row in r["figures"]])
    doc.add_heading("三、历年趋势", level=1)
    split = [meta.label("yearly_figures", key)[0] for key in dashboard.SPLIT]
    table(["年度", "出庭应诉率", "败诉率", *split], [list(row) for row in r["series"]])
    doc.add_heading(f"四、各单位情况(由差到好,共 {len(r['agencies'])} 个单位)", level=1)
    table(["单位", *r["agency_columns"]], [[a["agency"], *a["cells"]] for a in r["agencies"]])
    doc.add_heading("数据来源", level=1)
    for name, value in r["provenance"]:
        doc.add_paragraph(f"{name}:{value}")
    doc.save(out)


def render(r: dict, fmt: str, out: BinaryIO) -> None:
    """Write the report in ``fmt`` (html or docx) to a binary stream."""
    if fmt == "docx":
        render_docx(r, out)
    else:
        out.write(render_html(r).encode("utf-8"))


CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def default_name(r: dict, fmt: str) -> str:
    return f"caselog-report-{r['year']}.{fmt}"


async def page(datasette: Any, request: Any) -> Any:
    """/-/caselog/report: the report for the dashboard's year, level and agency; ?format=docx for Word."""
    from datasette.utils.asgi import Response

    database = dashboard.chosen_database(datasette, request)
    if isinstance(database, Response):
        return database
    fmt = request.args.get("format") or "html"
    if fmt not in CONTENT_TYPES:
        return Response.text(f"format must be html or docx, not {fmt!r}", status=400)
    try:
        year, level, agency = dashboard.parse(request.args)
        r = await datasette.get_database(database).execute_fn(lambda conn: build(conn, year, level, agency))
    except (dashboard.BadRequest, CaselogError) as error:
        return Response.text(str(error), status=400)
    buffer = io.BytesIO()
    render(r, fmt, buffer)
    headers = {"content-disposition": f'attachment; filename="{default_name(r, fmt)}"'} if fmt == "docx" else {}
    return Response(buffer.getvalue(), content_type=CONTENT_TYPES[fmt], headers=headers)
