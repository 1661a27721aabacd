"""Keep the reviewers' server up while someone runs heavy SQL.

Datasette bounds a query's time (``sql_time_limit_ms``) but not what it
allocates, nor how many run at once: a few ``randomblob(1000000000)`` took the
server to gigabytes, and a dozen slow queries filled the ``num_sql_threads``
pool that every page's queries wait for.  So each connection refuses to make
a value longer than ``MAX_LENGTH``, and the ASGI wrapper lets at most
``SQL_AT_ONCE`` requests running reviewer-written SQL (``?sql=``, ``?_where=``,
canned queries) hold a thread, always leaving one for table pages, the home
page and the dashboard; the others are told at once to retry.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable
from urllib.parse import parse_qs

MAX_LENGTH = 4 * 1024 * 1024  # bytes in one string, blob or row; a case's longest row is a few KB
SQL_AT_ONCE = 2
RETRY_AFTER_SECONDS = 5


def cap(conn: sqlite3.Connection) -> None:
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_LENGTH)


def sql_at_once(datasette: Any) -> int:
    """How many requests running reviewer-written SQL may hold a thread at once."""
    return max(1, min(SQL_AT_ONCE, datasette.setting("num_sql_threads") - 1))


def runs_reviewers_sql(datasette: Any, database: str, scope: dict) -> bool:
    """Whether the request runs SQL a reviewer wrote or chose: ``?sql=``, ``?_where=`` or a canned query."""
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if "sql" in params or "_where" in params:
        return True
    route = datasette.urls.database(database)
    path = scope["path"]
    if not path.startswith(route + "/"):
        return False
    name = path[len(route) + 1:].rsplit(".", 1)[0]  # rates_by_agency.json is rates_by_agency
    return name in (datasette.metadata("queries", database=database) or {})


def throttled(datasette: Any, app: Callable) -> Callable:
    """Wrap Datasette's ASGI app: past ``sql_at_once`` requests running reviewers' SQL, answer 503 at once."""
    from datasette.utils.asgi import Response

    from caselog.reviewer import meta

    running = 0  # one event loop serves every request, so a plain counter is safe

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        nonlocal running
        if scope["type"] != "http" or not any(
                runs_reviewers_sql(datasette, name, scope) for name in meta.databases_under(datasette, scope["path"])):
            await app(scope, receive, send)
            return
        if running >= sql_at_once(datasette):
            response = Response.text("too many SQL queries are running on this server: try again in a few seconds",
                                     status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
            await response.asgi_send(send)
            return
        running += 1
        try:
            await app(scope, receive, send)
        finally:
            running -= 1

    return wrapped
