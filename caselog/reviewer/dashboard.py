"""The yearly dashboard at /-/caselog/dashboard: the figures, their changes, the agencies, charts.

Every number comes from ``caselog.summary.summary`` on the served database,
the same call the CLI's ``caselog summary`` makes; this module only arranges
and words the results.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any
from urllib.parse import urlencode

from datasette.utils.asgi import Response
from markupsafe import Markup

from caselog import database, figures, report
from caselog import events as ev
from caselog import summary as summaries
from caselog.errors import CaselogError
from caselog.reviewer import charts, meta, queries

TEMPLATE = "caselog_dashboard.html"
LEVELS = {"all": ("全部审级", "all levels"), "first": ("仅一审", "first instance")}
# The figures table, in DOMAIN.md's order.
FIGURE_ROWS = (
    "filed", "heard", "head_appeared", "appearance_rate", "principal", "deputy", "other_head", "staff",
    "lawyer_only", "none", "principal_rate", "principal_share", "spoke", "silent", "speaking_rate",
    "recommendations_expected", "reconsideration_heard", "reconsideration_head_appeared",
    "reconsideration_appearance_rate", "concluded", "losses_first_instance", "reduced_on_appeal", "added_on_appeal",
    "losses", "loss_rate", "merits_judgments", "merits_loss_rate", "withdrawn_after_change", "double_decline_streak",
)
SPLIT = ("principal", "deputy", "other_head", "staff", "lawyer_only", "none")
QUERY_LINKS = ("rates_by_agency", "silent_heads", "recommendations_expected", "losses_and_reversals")
# The page summarises every year from the log's first to its last, so a case filed on 0001-01-01
# (logged before such dates were refused) had it summarise 2,027 years a request.
FIRST_YEAR = int(ev.EARLIEST_DATE[:4])


class BadRequest(ValueError):
    """A dashboard parameter that cannot be used; shown to the reviewer with status 400."""


def parse(args: Any) -> tuple[int | None, str, str | None]:
    """``?year=``, ``?level=`` and ``?agency=`` from a request's query string."""
    year = (args.get("year") or "").strip()
    if year and not (year.isdigit() and len(year) == 4):
        raise BadRequest(f"year must be a year such as 2022, not {year!r}")
    if year and not FIRST_YEAR <= int(year) <= dt.date.today().year:
        raise BadRequest(f"year must be from {FIRST_YEAR} to {dt.date.today().year}, not {year}")
    level = args.get("level") or "all"
    if level not in figures.LEVEL_SCOPES:
        raise BadRequest(f"level must be all or first, not {level!r}")
    return int(year) if year else None, level, queries.agency_parameter(args.get("agency")) or None


def latest_complete(years: list[int], today: dt.date) -> int:
    """The year the dashboard opens on: the last before this one, as caselog.summary.latest_complete_year."""
    return max((y for y in years if y < today.year), default=years[-1])


def collect(conn: sqlite3.Connection, year: int | None, level: str, agency: str | None,
            today: dt.date | None = None) -> dict:
    """What the page shows, read in one transaction so the parts agree with each other.

    The selected year's figures (or, for the unfinished current year, those of 1 January to
    today, compared with the same dates a year earlier) come from ``summary.summary``; the
    other years, for the charts and the previous year's column, are the yearly table's rows,
    which ``caselog.figures`` wrote and ``summary.summary`` reads.
    """
    today = today or dt.date.today()
    with database.reading(conn):
        groups = " AND ".join(f"agency NOT LIKE '{prefix}%'" for prefix in figures.GROUPS.values())
        agencies = [row[0] for row in conn.execute(
            f"SELECT DISTINCT agency FROM yearly_figures WHERE agency <> ? AND {groups} ORDER BY agency", (figures.CITY,))]
        if agency is not None:
            agency = summaries.agency_named(conn, agency)  # an alias or former name means its agency
        columns = ", ".join(f'"{key}"' for key in figures.KEYS)
        rows = conn.execute(
            f"SELECT year, {columns} FROM yearly_figures WHERE level = ? AND agency = ? AND year BETWEEN ? AND ? "
            "ORDER BY year", (level, agency or figures.CITY, FIRST_YEAR, today.year)).fetchall()
        stored = {row[0]: dict(zip(figures.KEYS, row[1:])) for row in rows}
        if not stored:
            return {"agencies": agencies, "years": [], "year": year, "summaries": {}}
        years = sorted(stored)
        year = year if year is not None else latest_complete(years, today)
        span = list(range(min(years[0], year), max(years[-1], year) + 1))
        found = {y: stored.get(y) or figures.figures_for({}, y) for y in [year - 1, *span]}
        partial = year == today.year and today < dt.date(year, 12, 31)
        if partial:
            start = dt.date(year, 1, 1)
            current = summaries.summary(conn, start=start, end=today, level=level, agency=agency)
            previous = summaries.summary(conn, start=summaries.year_before(start), end=summaries.year_before(today),
                                         level=level, agency=agency)
        else:
            current = summaries.summary(conn, year=year, level=level, agency=agency)
            previous = found[year - 1]
    return {"agencies": agencies, "years": span, "year": year, "summaries": found, "current": current,
            "previous": previous, "partial": partial,
            "unfinished": today.year if today < dt.date(today.year, 12, 31) else None}


def formatted(key: str, value: Any) -> str:
    """A figure as a reviewer reads it: a rate as a percentage, nothing as a dash."""
    if value is None:
        return "—"
    return report.pct(value) if key in figures.RATES else str(value)


def change_text(s: dict, key: str) -> str:
    """The change summary() reports for a compared figure; the dashboard computes none itself."""
    if key not in figures.COMPARED:
        return ""
    if key in figures.RATES:
        change = s[f"{key}_change_pp"]
        return "—" if change is None else f"{change:+.2f} 个百分点 · points"
    change = s[f"{key}_change_pct"]
    return "—" if change is None else f"{change:+.1f}%"


# Each count's rows: the table it is counted from (figures.COUNTED) and the filter that picks them.
ROWS_OF = {
    "filed": ("cases", {}),
    "heard": ("appearance_units", {}),
    "head_appeared": ("appearance_units", {"head": 1}),
    **{attendance: ("appearance_units", {"attendance": attendance}) for attendance in SPLIT},
    "spoke": ("appearance_units", {"spoke": 1}),
    "silent": ("appearance_units", {"silent": 1}),
    "recommendations_expected": ("appearance_units", {"recommendation_expected": 1}),
    "concluded": ("outcomes", {}),
    "losses_first_instance": ("outcomes", {"first_loss": 1}),
    "reduced_on_appeal": ("outcomes", {"reduced_on_appeal": 1}),
    "added_on_appeal": ("outcomes", {"added_on_appeal": 1}),
    "losses": ("outcomes", {"loss": 1}),
    "merits_judgments": ("outcomes", {"merits_judgment": 1}),
    "withdrawn_after_change": ("outcomes", {"withdrawn_after_change": 1}),
    "reconsideration_heard": ("multi_defendant_units", {"role": "reconsideration"}),
    "reconsideration_head_appeared": ("multi_defendant_units", {"role": "reconsideration", "head": 1}),
}


def rows_link(datasette: Any, database: str, key: str, s: dict, agency: str | None) -> str | None:
    """The table page listing the rows a count of ``s`` counts, or None for a figure that is not a count."""
    if key not in ROWS_OF:
        return None
    table, chosen = ROWS_OF[key]
    if agency is not None:  # an agency's figures count the cases it defends, one row a defendant
        table = figures.AGENCY_TABLE[table]
    params: dict[str, Any] = dict(chosen)
    if s["year"] is not None:
        params["year"] = s["year"]
    else:
        date = figures.DATE_OF[table]
        params[f"{date}__gte"], params[f"{date}__lte"] = s["from"], s["to"]
    if table in figures.LEVELLED and s["level"] == "first":
        params["level"] = "first"
    if agency is not None:
        params["agency"] = agency
    return datasette.urls.table(database, table) + "?" + urlencode(params)


def figure_rows(s: dict, previous: dict, link: Any) -> list[dict]:
    rows = []
    for key in FIGURE_ROWS:
        zh, en = meta.label("yearly_figures", key)
        rows.append({"key": key, "zh": zh, "en": en, "value": formatted(key, s[key]), "href": link(key, s),
                     "previous": formatted(key, previous[key]), "change": change_text(s, key)})
    return rows


# The agency table: every attendance, the speaking and loss figures, each count leading to its rows.
AGENCY_KEYS = (
    "filed", "heard", "appearance_rate", "principal", "deputy", "other_head", "staff", "lawyer_only", "none",
    "silent", "speaking_rate", "recommendations_expected", "reconsideration_appearance_rate", "concluded", "losses",
    "reduced_on_appeal", "loss_rate",
)
AGENCIES_PER_PAGE = 50


def sort_agencies(rows: list[dict], key: str | None, descending: bool) -> list[dict]:
    """Worst first by default; by one column on request, agencies without that figure last."""
    if key is None:
        return report.worst_first(rows)
    present = sorted((r for r in rows if r[key] is not None), key=lambda r: (r[key], r["agency"]), reverse=descending)
    return present + [r for r in rows if r[key] is None]


def agency_table(s: dict, page_link: Any, rows_href: Any, sort: str | None, descending: bool, page: int) -> dict:
    """One page of the per-agency table, sorted as asked, with links to re-sort, to the pages and to the rows."""
    ordered = sort_agencies(s["by_agency"], sort, descending)
    pages = max(1, -(-len(ordered) // AGENCIES_PER_PAGE))
    page = min(page, pages)
    shown = ordered[(page - 1) * AGENCIES_PER_PAGE: page * AGENCIES_PER_PAGE]
    columns = []
    for key in AGENCY_KEYS:
        zh, en = meta.label("yearly_figures", key)
        # A rate's worst end is low for appearance and speaking, high for losses; counts read biggest first.
        first_descending = key not in ("appearance_rate", "speaking_rate")
        columns.append({"key": key, "zh": zh, "en": en, "sorted": key == sort, "descending": descending,
                        "href": page_link(sort=key, desc=int(not descending) if key == sort else int(first_descending),
                                          page=None)})
    rows = [{"agency": row["agency"], "href": page_link(agency=row["agency"], sort=None, desc=None, page=None),
             "cells": [(formatted(key, row[key]), rows_href(key, s, row["agency"]) if row[key] else None)
                       for key in AGENCY_KEYS]}
            for row in shown]
    return {"columns": columns, "rows": rows, "count": len(ordered), "page": page, "pages": pages,
            "previous": page_link(page=page - 1) if page > 1 else None,
            "next": page_link(page=page + 1) if page < pages else None}


def group_sections(s: dict) -> list[dict]:
    """The figures by the defendant's level and by region (the agency registry's groups, empty without
    one): a table each, with the agency table's columns, and a chart of who appeared for each group."""
    columns = [(key, zh, en) for (key, zh), (_, en) in zip(report.AGENCY_COLUMNS["zh"], report.AGENCY_COLUMNS["en"])]
    sections = []
    for field, headings in report.GROUP_HEADINGS.items():
        rows = s.get("by_" + field) or []
        if not rows:
            continue
        (zh, first_zh), (en, first_en) = headings["zh"], headings["en"]
        names = [report.group_name(field, row[field], "zh") for row in rows]
        split = [(" ".join(meta.label("yearly_figures", key)), [row[key] for row in rows]) for key in SPLIT]
        sections.append({
            "title": f"{zh} · {en}",
            "columns": [(field, first_zh, first_en), *columns[1:]],
            "rows": [{"name": name, "cells": [formatted(key, row[key]) for key, _, _ in columns[1:]]}
                     for name, row in zip(names, rows)],
            "chart": Markup(charts.stacked_chart(f"{zh}出庭人员构成 · who appeared, {en.lower()}", names, split)),
        })
    return sections


def chart_svgs(years: list[int], found: dict[int, dict], selected: int, unfinished: int | None) -> list[Markup]:
    """The three charts over ``years``; the unfinished year's label is starred (its figures are so far)."""
    labels = [f"{y}*" if y == unfinished else str(y) for y in years]
    mark = labels[years.index(selected)]
    series = [found[y] for y in years]
    split = [(" ".join(meta.label("yearly_figures", key)), [s[key] for s in series]) for key in SPLIT]
    return [Markup(svg) for svg in (
        charts.rate_chart("出庭应诉率 · appearance rate", labels, [s["appearance_rate"] for s in series], selected=mark),
        charts.stacked_chart("出庭人员构成 · who appeared (units)", labels, split, selected=mark),
        charts.rate_chart("败诉率 · loss rate", labels, [s["loss_rate"] for s in series], charts.PALETTE[5], selected=mark),
    )]


def context(datasette: Any, database: str, data: dict, level: str, agency: str | None,
            table_args: tuple[str | None, bool, int] = (None, False, 1)) -> dict:
    """What the template needs; ``data`` is what ``collect`` returned, ``table_args`` how to sort and page agencies."""
    base = datasette.urls.path(meta.DASHBOARD_PATH)
    sort, descending, page = table_args
    several = len(meta.caselog_databases(datasette)) > 1

    def link(**changes: Any) -> str:
        params = {"year": data["year"], "level": level, "agency": agency, "sort": sort,
                  "desc": int(descending) if sort else None, "page": page if page > 1 else None, **changes}
        if several:
            params["database"] = database
        return base + "?" + urlencode({k: v for k, v in params.items() if v not in (None, "", "all")})

    out = {
        "database": database, "database_url": datasette.urls.database(database), "dashboard_url": base,
        "years": data["years"], "year": data["year"], "level": level, "levels": LEVELS, "agency": agency,
        "agencies": data["agencies"], "city_url": link(agency=None), "s": None,
    }
    s = data.get("current")
    if s is None:
        return out
    scope_args = {"year": data["year"], "level": level, "agency": agency or "", **({"database": database} if several else {})}
    out.update({
        "s": s,
        "partial": data["partial"],
        "scope": s.get("agency") or "全市 · whole city",  # an alias or former name shows its agency
        "compared_with": f"{data['year'] - 1}年同期 · same dates of {data['year'] - 1}" if data["partial"]
                         else f"{data['year'] - 1}年 · {data['year'] - 1}",
        "figures": figure_rows(s, data["previous"], lambda key, found: rows_link(datasette, database, key, found, agency)),
        "headline": [
            (key, *meta.label("yearly_figures", key), formatted(key, s[key]), change_text(s, key))
            for key in ("appearance_rate", "speaking_rate", "loss_rate", "filed")
        ],
        "paragraph_zh": report.paragraph(s, "zh"),
        "paragraph_en": report.paragraph(s, "en"),
        "agency_table": agency_table(s, link, lambda key, found, who: rows_link(datasette, database, key, found, who),
                                     sort, descending, page),
        "groups": group_sections(s),
        "charts": chart_svgs(data["years"], data["summaries"], data["year"], data["unfinished"]),
        "unfinished": data["unfinished"] if data["unfinished"] in data["years"] else None,
        "report_url": datasette.urls.path(meta.REPORT_PATH) + "?" + urlencode(
            {k: v for k, v in scope_args.items() if v not in ("", "all")}),
        "queries": [
            (datasette.urls.query(database, name) + "?" + urlencode(
                {k: v for k, v in scope_args.items() if k in queries.QUERIES[name]["params"]}), queries.QUERIES[name]["title"])
            for name in QUERY_LINKS
        ],
    })
    return out


def table_args(args: Any) -> tuple[str | None, bool, int]:
    """``?sort=``, ``?desc=`` and ``?page=`` of the agency table."""
    sort = args.get("sort") or None
    if sort is not None and sort not in AGENCY_KEYS:
        raise BadRequest(f"sort must be one of {', '.join(AGENCY_KEYS)}, not {sort!r}")
    page = args.get("page") or "1"
    if not page.isdigit() or int(page) < 1:
        raise BadRequest(f"page must be a whole number from 1, not {page!r}")
    return sort, args.get("desc") == "1", int(page)


def chosen_database(datasette: Any, request: Any) -> Any:
    """The caselog database a request names (``?database=``, else the first served), or a 404 response."""
    names = meta.caselog_databases(datasette)
    database = request.args.get("database") or (names[0] if names else None)
    if database not in names:
        return Response.text("no caselog database is served here" if not names else
                             f"{database} is not a caselog database: choose one of {', '.join(names)}", status=404)
    return database


async def page(datasette: Any, request: Any) -> Response:
    if request.method not in ("GET", "HEAD"):
        return Response.text("the dashboard only reads: use GET", status=405)
    database = chosen_database(datasette, request)
    if isinstance(database, Response):
        return database
    try:
        year, level, agency = parse(request.args)
        ordering = table_args(request.args)
        data = await datasette.get_database(database).execute_fn(lambda conn: collect(conn, year, level, agency))
    except (BadRequest, CaselogError) as error:
        return Response.text(str(error), status=400)
    html = await datasette.render_template(
        TEMPLATE, context(datasette, database, data, level, agency, ordering), request=request)
    return Response.html(html)
