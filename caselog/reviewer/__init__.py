"""caselog's Datasette plugin: the reviewer UI over any served caselog database.

Registered by the ``datasette`` entry point, so plain ``datasette db/caselog.db``
shows titled and described tables, canned queries and the yearly dashboard.
Databases without caselog's ``events`` table are left alone.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from datasette import hookimpl
from markupsafe import Markup, escape

from caselog.events import AGENCY_LEVELS_ZH
from caselog.reviewer import accounts, csvsafe, dashboard, exports, guard, limits, meta, pages, queries, written

CSS = "caselog.css"
# Tables whose agency column holds a name as the events give it: it links to what the registry says of it.
AGENCY_LINKED = frozenset({"cases", "defendants", "hearings", "appearance_units", "defendant_units", "outcomes",
                           "defendant_outcomes", "agencies"})


@hookimpl
def startup(datasette: Any) -> None:
    for name in meta.caselog_databases(datasette):
        meta.open_quoted(datasette.databases[name])


@hookimpl
def get_metadata(datasette: Any, key: str, database: str | None, table: str | None) -> dict:
    names = meta.caselog_databases(datasette)
    if not names:
        return {}
    dashboard_url = datasette.urls.path(meta.DASHBOARD_PATH)
    return {"title": meta.texts()["title"], "description": meta.texts()["description"],
            "databases": {name: meta.database_metadata(dashboard_url) for name in names}}


@hookimpl
def prepare_connection(conn: Any, database: str, datasette: Any) -> None:
    if meta.is_caselog(datasette, database):
        guard.protect(conn)
        limits.cap(conn)
        queries.register(conn)


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    return lambda app: guard.read_only(datasette, accounts.signed_in(datasette, limits.throttled(
        datasette, csvsafe.neutralising(exports.complete(datasette, app)))))


@hookimpl
def permission_allowed(datasette: Any, actor: dict | None, action: str, resource: Any) -> bool | None:
    return accounts.allowed(datasette, actor, action, resource)


@hookimpl
def register_routes() -> list:
    return [(r"^/-/caselog/dashboard$", dashboard.page), (r"^/-/caselog/report$", written.page),
            (exports.ROUTE, exports.query_csv)]


@hookimpl
def menu_links(datasette: Any) -> list[dict]:
    if not meta.caselog_databases(datasette):
        return []
    return [{"href": datasette.urls.path(meta.DASHBOARD_PATH), "label": "年度仪表盘 · Yearly dashboard"}]


@hookimpl
def database_actions(datasette: Any, database: str) -> list[dict]:
    if not meta.is_caselog(datasette, database):
        return []
    names = meta.caselog_databases(datasette)
    query = f"?database={database}" if len(names) > 1 else ""
    return [{"href": datasette.urls.path(meta.DASHBOARD_PATH) + query, "label": "年度仪表盘 · Yearly dashboard"}]


@hookimpl
def extra_css_urls(template: str, database: str | None, datasette: Any) -> list[str]:
    if template == dashboard.TEMPLATE or (database and meta.is_caselog(datasette, database)):
        return [datasette.urls.static_plugins("caselog", CSS)]
    return []


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """Personal names masked for reviewers, agencies as links to the registry; rates as percentages,
    flags as 是/否, codes in Chinese, case numbers as links, payloads as readable JSON."""
    if isinstance(value, str) and value and column in accounts.NAME_COLUMNS | {"agency", "agency_level"} \
            and meta.is_caselog(datasette, database):
        if column in accounts.NAME_COLUMNS and accounts.ROLE.get() == "reviewer":
            return accounts.masked(value)
        if column == "agency" and table in AGENCY_LINKED:
            href = datasette.urls.table(database, "agency_names") + "?" + urlencode({"name": value})
            return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
        if column == "agency_level" and value in AGENCY_LEVELS_ZH:
            return Markup(f'{escape(value)} <span class="caselog-zh">{escape(AGENCY_LEVELS_ZH[value])}</span>')
    if isinstance(value, str) and column in ("payload", "target_payload") and value.startswith("{"):
        try:
            shown = Markup(f'<pre class="caselog-payload">{escape(json.dumps(json.loads(value), ensure_ascii=False, indent=1))}</pre>')
        except ValueError:
            return None
    else:
        shown = pages.cell(row, value, column, table, datasette, database)
    # Checked last, for the cells that would change: it reads the file's signature, and a page
    # of 1,000 rows by 40 columns asked 40,000 times.
    return shown if shown is not None and meta.is_caselog(datasette, database) else None


@hookimpl
def extra_template_vars(template: str, database: str | None, table: str | None, request: Any,
                        datasette: Any) -> Any:
    return pages.template_vars(template, database, table, request, datasette)
