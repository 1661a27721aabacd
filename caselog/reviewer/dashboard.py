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
    "recommendations_expected", "concluded", "losses_first_instance", "reduced_on_appeal", "added_on_appeal",
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


def collect(conn: sqlite3.Connection, year: int | None, level: str, agency: str | None) -> dict:
    """Every summary the page shows, read in one transaction so the years agree with each other."""
    with database.reading(conn):
        agencies = [row[0] for row in conn.execute("SELECT DISTINCT agency FROM cases ORDER BY agency")]
        if agency is not None:
            agency = summaries.agency_named(conn, agency)  # an alias or former name means its agency
        years = [row[0] for row in conn.execute(
            "SELECT year FROM yearly_figures WHERE level = ? AND agency = ? AND year BETWEEN ? AND ? ORDER BY year",
            (level, agency or figures.CITY, FIRST_YEAR, dt.date.today().year),
        )]
        if not years:
            return {"agencies": agencies, "years": [], "year": year, "summaries": {}}
        year = year if year is not None else years[-1]
        span = list(range(min(years[0], year), max(years[-1], year) + 1))
        found = {y: summaries.summary(conn, year=y, level=level, agency=agency) for y in [year - 1, *span]}
    return {"agencies": agencies, "years": span, "year": year, "summaries": found}


def _value(key: str, value: Any) -> str:
    if value is None:
        return "—"
    return report.pct(value) if key in figures.RATES else str(value)


def _change(s: dict, key: str) -> str:
    """The change summary() reports for a compared figure; the dashboard computes none itself."""
    if key not in figures.COMPARED:
        return ""
    if key in figures.RATES:
        change = s[f"{key}_change_pp"]
        return "—" if change is None else f"{change:+.2f} 个百分点 · points"
    change = s[f"{key}_change_pct"]
    return "—" if change is None else f"{change:+.1f}%"


def figure_rows(s: dict, previous: dict) -> list[dict]:
    rows = []
    for key in FIGURE_ROWS:
        zh, en = meta.label("yearly_figures", key)
        rows.append({"key": key, "zh": zh, "en": en, "value": _value(key, s[key]),
                     "previous": _value(key, previous[key]), "change": _change(s, key)})
    return rows


def agency_table(s: dict, link: Any) -> dict:
    """The per-agency table, worst first, with the CLI report's columns."""
    columns = [(key, zh, en) for (key, zh), (_, en) in zip(report.AGENCY_COLUMNS["zh"], report.AGENCY_COLUMNS["en"])]
    rows = []
    for row in report.worst_first(s["by_agency"]):
        cells = [_value(key, row[key]) for key, _, _ in columns]
        rows.append({"agency": row["agency"], "href": link(agency=row["agency"]), "cells": cells[1:]})
    return {"columns": columns, "rows": rows}


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
            "rows": [{"name": name, "cells": [_value(key, row[key]) for key, _, _ in columns[1:]]}
                     for name, row in zip(names, rows)],
            "chart": Markup(charts.stacked_chart(f"{zh}出庭人员构成 · who appeared, {en.lower()}", names, split)),
        })
    return sections


def chart_svgs(years: list[int], found: dict[int, dict]) -> list[Markup]:
    labels = [str(y) for y in years]
    series = [found[y] for y in years]
    split = [(" ".join(meta.label("yearly_figures", key)), [s[key] for s in series]) for key in SPLIT]
    return [Markup(svg) for svg in (
        charts.rate_chart("出庭应诉率 · appearance rate", labels, [s["appearance_rate"] for s in series]),
        charts.stacked_chart("出庭人员构成 · who appeared (units)", labels, split),
        charts.rate_chart("败诉率 · loss rate", labels, [s["loss_rate"] for s in series], charts.PALETTE[5]),
    )]


def context(datasette: Any, database: str, data: dict, level: str, agency: str | None) -> dict:
    """What the template needs; ``data`` is what ``collect`` returned."""
    base = datasette.urls.path(meta.DASHBOARD_PATH)

    def link(**changes: Any) -> str:
        params = {"year": data["year"], "level": level, "agency": agency, **changes}
        if len(meta.caselog_databases(datasette)) > 1:
            params["database"] = database
        return base + "?" + urlencode({k: v for k, v in params.items() if v not in (None, "", "all")})

    out = {
        "database": database, "database_url": datasette.urls.database(database), "dashboard_url": base,
        "years": data["years"], "year": data["year"], "level": level, "levels": LEVELS, "agency": agency,
        "agencies": data["agencies"], "city_url": link(agency=None), "s": None,
    }
    s = data["summaries"].get(data["year"])
    if s is None:
        return out
    query_args = urlencode({"year": data["year"], "level": level, "agency": agency or ""})
    out.update({
        "s": s,
        "scope": s.get("agency") or "全市 · whole city",  # an alias or former name shows its agency
        "figures": figure_rows(s, data["summaries"][data["year"] - 1]),
        "headline": [
            (key, *meta.label("yearly_figures", key), _value(key, s[key]), _change(s, key))
            for key in ("appearance_rate", "speaking_rate", "loss_rate", "filed")
        ],
        "paragraph_zh": report.paragraph(s, "zh"),
        "paragraph_en": report.paragraph(s, "en"),
        "agency_table": agency_table(s, link),
        "groups": group_sections(s),
        "charts": chart_svgs(data["years"], data["summaries"]),
        "queries": [
            (datasette.urls.query(database, name) + "?" + query_args, queries.QUERIES[name]["title"])
            for name in QUERY_LINKS
        ],
    })
    return out


async def page(datasette: Any, request: Any) -> Response:
    if request.method not in ("GET", "HEAD"):
        return Response.text("the dashboard only reads: use GET", status=405)
    names = meta.caselog_databases(datasette)
    database = request.args.get("database") or (names[0] if names else None)
    if database not in names:
        return Response.text("no caselog database is served here" if not names else
                             f"{database} is not a caselog database: choose one of {', '.join(names)}", status=404)
    try:
        year, level, agency = parse(request.args)
        data = await datasette.get_database(database).execute_fn(lambda conn: collect(conn, year, level, agency))
    except (BadRequest, CaselogError) as error:
        return Response.text(str(error), status=400)
    html = await datasette.render_template(TEMPLATE, context(datasette, database, data, level, agency), request=request)
    return Response.html(html)
