"""Every row of a canned query as CSV.

Datasette stops a canned query's CSV at ``max_returned_rows`` (1,000) without a
word, and streams only tables; the silent heads of one national year are
8,867.  So the plugin answers ``/<database>/<query>.csv`` for caselog's canned
queries itself, with every row, the columns and values Datasette's CSV would
have (fractions, 0/1, English codes).  Tables keep Datasette's own CSV,
complete with ``_stream=on``.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlencode

from datasette.utils import tilde_decode
from datasette.utils.asgi import Response

from caselog import projections
from caselog.reviewer import meta, queries

#: The key each table's CSV is streamed in, when the reviewer chose no order.
STREAM_ORDER = {**{name: key[0] for name, key in projections.PRIMARY_KEYS.items()},
                **{name: "case" for name in projections.VIEWS}, "events": "position"}
ROUTE = r"^/(?P<database>[^/]+)/(?P<query>" + "|".join(queries.QUERIES) + r")\.csv$"


async def query_csv(datasette: Any, request: Any) -> Response:
    database, name = tilde_decode(request.url_vars["database"]), request.url_vars["query"]
    if not meta.is_caselog(datasette, database):
        # Only caselog's databases have these queries; this route shadows a table of the same name elsewhere.
        return Response.text(f"{database} is not a caselog database", status=404)
    await datasette.ensure_permissions(
        request.actor, [("view-query", (database, name)), ("view-database", database), "view-instance"])
    q = queries.QUERIES[name]
    params = {p: request.args.get(p, "") for p in q["params"]}
    result = await datasette.get_database(database).execute(q["sql"], params, truncate=False)
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(result.columns)
    out.writerows(result.rows)
    headers = {"content-disposition": f'attachment; filename="{name}.csv"'} if request.args.get("_dl") else {}
    return Response(buffer.getvalue(), content_type="text/csv; charset=utf-8" if headers else "text/plain; charset=utf-8",
                    headers=headers)


def complete(datasette: Any, app: Callable) -> Callable:
    """Wrap Datasette's ASGI app: a caselog table's CSV streams every row, whichever link asked for it.

    Datasette's own "CSV" link on a table page asks for ``_size=max``, the first
    1,000 rows; with ``_stream=on`` it pages through the whole table instead.
    """

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        table = _table_of_csv(datasette, scope) if scope["type"] == "http" else None
        if table is not None and datasette.setting("allow_csv_stream"):
            params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if "sql" not in params and "_next" not in params:
                # Pages of max_returned_rows rather than 100; and, unless the reviewer chose an order, in
                # key order: paging by the table's default sort (e.g. filed_on) re-read the skipped rows
                # on every page, 17 s to 120 s for the cases at a million events against 3 s by key.
                extra = {"_stream": "on", "_size": "max"}
                if "_sort" not in params and "_sort_desc" not in params:
                    extra["_sort"] = STREAM_ORDER[table]
                query = scope.get("query_string", b"")
                added = urlencode({k: v for k, v in extra.items() if k not in params}).encode()
                scope = {**scope, "query_string": query + (b"&" if query else b"") + added}
        await app(scope, receive, send)

    return wrapped


def _table_of_csv(datasette: Any, scope: dict) -> str | None:
    """The caselog table whose CSV the request asks for, or None."""
    path = scope["path"]
    if not path.endswith(".csv"):
        return None
    for name in meta.databases_under(datasette, path):
        table = unquote(path[len(datasette.urls.database(name)) + 1:-len(".csv")])
        if table in STREAM_ORDER:
            return table
    return None
