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
MESSAGES_PATH = "/-/messages"
# Browsers must take an error page's text for the type it is sent as, never for a script or HTML they guess.
_NOSNIFF = (b"x-content-type-options", b"nosniff")


def authorizer(action: int, arg1: str | None, arg2: str | None, dbname: str | None, source: str | None) -> int:
    if action in _DENIED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def protect(conn: sqlite3.Connection) -> None:
    conn.set_authorizer(authorizer)


def read_only(datasette: Any, app: Callable) -> Callable:
    """Wrap Datasette's ASGI app: anything but GET or HEAD under a caselog database, or to
    ``/-/messages``, gets 405, and no response may be sniffed into another content type.

    Datasette 0.65 has no write path for these files, but answers a POST to a
    table or a read-only canned query with a server error; this answers it
    plainly and keeps it so if a write query is ever configured.  Its
    ``/-/messages`` debug form answers a bad message type or a body that is
    not UTF-8 with a 500 and a traceback, and reviewers have no message to post.
    """
    from datasette.utils.asgi import Response

    from caselog.reviewer import meta

    async def guarded(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_nosniff(message: dict) -> None:
            headers = message.get("headers", [])
            if message["type"] == "http.response.start" and not any(key.lower() == _NOSNIFF[0] for key, _ in headers):
                message = {**message, "headers": [*headers, _NOSNIFF]}
            await send(message)

        if scope["method"] not in ("GET", "HEAD") and (meta.databases_under(datasette, scope["path"]) or (
                scope["path"] == MESSAGES_PATH and meta.caselog_databases(datasette))):
            await Response.text("the caselog log is read-only here", status=405).asgi_send(send_nosniff)
            return
        await app(scope, receive, send_nosniff)

    return guarded
