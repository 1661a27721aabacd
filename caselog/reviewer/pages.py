"""Datasette's own pages as reviewers read them: Chinese first, percentages, 是/否, links to trails.

Only the HTML changes.  ``render_cell`` words a cell for the page, and the
plugin's templates (``templates/``) use ``template_vars`` for titles, column
labels and parameter help; each falls back to Datasette's own template for a
database that is not caselog's.  JSON and CSV come from Datasette untouched,
so they keep fractions, 0 and 1, and the English codes.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote, urlencode

from datasette.utils import path_with_added_args
from markupsafe import Markup, escape

from caselog import figures
from caselog.events import LABELS_ZH
from caselog.reviewer import meta, queries

# Which 0/1 columns are a yes or no, per table; in yearly_figures the same names are counts.
FLAGS = {
    "hearings": frozenset({"head", "spoke"}),
    "appearance_units": frozenset({"head", "spoke", "silent", "excused", "recommendation_expected"}),
    "outcomes": frozenset({"first_loss", "loss", "reduced_on_appeal", "added_on_appeal", "merits_judgment",
                           "withdrawn_after_change"}),
}
ANY_FLAG = frozenset().union(*FLAGS.values())
YES_NO = {1: "是", 0: "否"}
# Columns holding a vocabulary word of caselog.events, shown with its Chinese label.
LABELLED = frozenset({"level", "attendance", "excuse", "disposition", "first_disposition", "result", "appellant"})
# Columns that hold another column's words: a correction's target type is an event type.
SAME_WORDS = {"target_type": "type"}
# Hashes are 64 characters wide: the page hides them unless asked (HASHES_ARG); JSON and CSV keep them.
HIDDEN = {"events": ("payload_sha256", "hash"), "case_trail": ("hash",), "_caselog_projection": ("hash",)}
HASHES_ARG = "_hashes"
RATE_PREVS = frozenset(f"{key}_prev" for key in figures.COMPARED if key in figures.RATES)


def value_label(column: str, value: Any) -> str | None:
    """The Chinese a reviewer reads for a stored code, or None when the value is shown as it is."""
    if column in LABELLED and value in LABELS_ZH:
        return LABELS_ZH[value]
    if column in ANY_FLAG and value in YES_NO and not isinstance(value, str):
        return YES_NO[value]
    words = meta.texts()["value_labels"].get(SAME_WORDS.get(column, column), {})
    return words.get(value) if isinstance(value, str) else None


def _is_figure_row(table: str | None, row: Any) -> bool:
    """A row of yearly figures: the yearly table, or a canned query's rows taken from it."""
    return table == "yearly_figures" or (table is None and "heard" in row.keys())


def cell(row: Any, value: Any, column: str, table: str | None, datasette: Any, database: str) -> Markup | None:
    """The HTML of one cell of a caselog table or canned query, or None to leave it to Datasette."""
    if value is None:
        return None
    if isinstance(value, float) and (column in figures.RATES or column in RATE_PREVS):
        return Markup(escape(f"{value * 100:.1f}%"))
    if isinstance(value, float) and column.endswith("_change_pp"):
        return Markup(escape(f"{value:+.2f} 个百分点"))
    if isinstance(value, float) and column.endswith("_change_pct"):
        return Markup(escape(f"{value:+.1f}%"))
    if isinstance(value, int):
        flags = FLAGS.get(table or "", ANY_FLAG if table is None and not _is_figure_row(table, row) else ())
        return Markup(YES_NO[value]) if column in flags and value in YES_NO else None
    if column == "case" and isinstance(value, str):
        return case_link(datasette, database, value)
    label = value_label(column, value)
    if label is not None:
        return Markup(f'{escape(label)} <span class="caselog-code">{escape(value)}</span>')
    return None


def case_link(datasette: Any, database: str, case: str) -> Markup:
    """A case number that opens the case's audit trail (the canned query ``case_trail``)."""
    href = datasette.urls.query(database, "case_trail") + "?" + urlencode({"case": case}, quote_via=quote)
    return Markup(f'<a class="caselog-case" href="{escape(href)}">{escape(case)}</a>')


def _labels(columns: Mapping[str, list]) -> dict[str, tuple[str, str, str]]:
    return {name: tuple(text) for name, text in columns.items()}


def column_labels(source: str) -> dict[str, tuple[str, str, str]]:
    """(Chinese, English, explanation) of every column a table or canned query shows."""
    tables = meta.texts()["tables"]
    if source in tables:
        return _labels(tables[source]["columns"])
    out: dict[str, tuple[str, str, str]] = {}
    for name in reversed(list(tables)):  # a column named in several tables takes the first table's label
        out.update(_labels(tables[name]["columns"]))
    out.update(_labels(tables[queries.SOURCES[source]]["columns"]))
    out.update(_labels(meta.texts()["query_columns"]))
    return out


async def _rows_in(datasette: Any, database: str, name: str, request: Any) -> int | None:
    """How many rows a canned query gives for the request's parameters, or None if it cannot say in time."""
    from datasette.database import QueryInterrupted

    q = queries.QUERIES[name]
    params = {p: request.args.get(p, "") for p in q["params"]}
    try:
        result = await datasette.get_database(database).execute(f"SELECT count(*) FROM ({q['sql']})", params)
    except QueryInterrupted:
        return None
    return result.first()[0]


async def template_vars(template: str, database: str | None, table: str | None, request: Any,
                        datasette: Any) -> dict:
    """``caselog`` for the plugin's templates: None on pages that are not a caselog database's."""
    names = meta.caselog_databases(datasette)
    if not names or (database is not None and database not in names):
        return {"caselog": None}
    texts = meta.texts()
    out: dict = {
        "tables": {name: t["title"] for name, t in texts["tables"].items()},
        "databases": names,
        "dashboard_url": datasette.urls.path(meta.DASHBOARD_PATH),
        "report_url": datasette.urls.path(meta.REPORT_PATH),
        "show_hashes": bool(request and request.args.get(HASHES_ARG)),
        "hashes_url": path_with_added_args(request, {HASHES_ARG: 1}) if request else None,
    }
    # A canned query's page is rendered by Datasette's table route, which names the query ``table``.
    is_query = template == "query.html"
    source = table if template == "table.html" else request.url_vars.get("table") if is_query else None
    if is_query and source not in queries.QUERIES:
        return {"caselog": None}  # the reviewer's own SQL: Datasette's page as it is
    if source is not None:
        out["columns"] = column_labels(source)
        out["hidden"] = () if out["show_hashes"] else HIDDEN.get(source, ())
        out["value_label"] = value_label
        out["case_link"] = lambda case: case_link(datasette, database, case)
    if is_query:
        out["params"] = queries.PARAMS
        # Counted only when the page is cut (the template calls it then): a second run of the query.
        out["total"] = lambda: _rows_in(datasette, database, source, request)
        latest = await datasette.get_database(database).execute(f"SELECT {queries.LATEST_COMPLETE_YEAR}")
        out["defaults"] = {"year": latest.first()[0]}
        out["max_rows"] = datasette.setting("max_returned_rows")
        out["csv_url"] = datasette.urls.query(database, source, format="csv") + "?" + urlencode(
            {p: request.args.get(p, "") for p in queries.QUERIES[source]["params"]})
    return {"caselog": out}
