"""Keep reviewers inside the served log, and the log unchanged.

Datasette already accepts only SELECT statements and opens the file
read-only; the authorizer also refuses, on every connection to a caselog
database, what could reach other files or change this one, and the ASGI
wrapper refuses every request that is not a read, should a future Datasette
or a configuration let such a statement or request through.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

_DENIED_ACTIONS = frozenset({
    sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH,
    sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE,
    sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_TRIGGER,
    sqlite3.SQLITE_CREATE_VIEW, sqlite3.SQLITE_CREATE_VTABLE,
    sqlite3.SQLITE_CREATE_TEMP_INDEX, sqlite3.SQLITE_CREATE_TEMP_TABLE, sqlite3.SQLITE_CREATE_TEMP_TRIGGER,
    sqlite3.SQLITE_CREATE_TEMP_VIEW,
    sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_DROP_VIEW,
    sqlite3.SQLITE_DROP_VTABLE, sqlite3.SQLITE_DROP_TEMP_INDEX, sqlite3.SQLITE_DROP_TEMP_TABLE,
    sqlite3.SQLITE_DROP_TEMP_TRIGGER, sqlite3.SQLITE_DROP_TEMP_VIEW,
    sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_REINDEX, sqlite3.SQLITE_ANALYZE,
})
# Functions that read or write files, or load code, in builds that have them.
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})


def authorizer(action: int, arg1: str | None, arg2: str | None, dbname: str | None, source: str | None) -> int:
    if action in _DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def protect(conn: sqlite3.Connection) -> None:
    conn.set_authorizer(authorizer)


def read_only(datasette: Any, app: Callable) -> Callable:
    """Wrap Datasette's ASGI app: anything but GET or HEAD under a caselog database gets 405.

    Datasette 0.65 has no write path for these files, but answers a POST to a
    table or a read-only canned query with a server error; this answers it
    plainly and keeps it so if a write query is ever configured.
    """
    from datasette.utils.asgi import Response

    from caselog.reviewer import meta

    async def guarded(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            path = scope["path"]
            for name in meta.caselog_databases(datasette):
                route = datasette.urls.database(name)
                if path == route or path.startswith((route + "/", route + ".")):
                    await Response.text("the caselog log is read-only here", status=405).asgi_send(send)
                    return
        await app(scope, receive, send)

    return guarded
