"""The reviewer's metadata: which databases are caselog's, and what their tables mean.

``metadata.json`` holds every table's title, description, sort order and
facets, and each column as ``[Chinese label, English label, explanation]``;
Datasette gets the columns as one line of text each, the dashboard uses the
labels.  The canned queries come from ``queries.py``.
"""

from __future__ import annotations

import functools
import html
import json
import os
import sqlite3
import time
from importlib import resources
from typing import Any

from caselog import database
from caselog.reviewer import queries

DASHBOARD_PATH = "/-/caselog/dashboard"
REPORT_PATH = "/-/caselog/report"


@functools.cache
def texts() -> dict:
    """The packaged metadata.json, a table whose rows are a part of a view's (``columns_of``) given the
    view's column texts."""
    found = json.loads(resources.files(__package__).joinpath("metadata.json").read_text(encoding="utf-8"))
    tables = found["tables"]
    for name, table in tables.items():
        if "columns_of" in table:
            tables[name] = {**{k: v for k, v in table.items() if k != "columns_of"},
                            "columns": tables[table["columns_of"]]["columns"]}
    return found


def label(table: str, column: str) -> tuple[str, str]:
    """A column's (Chinese, English) label."""
    zh, en, _ = texts()["tables"][table]["columns"][column]
    return zh, en


def _column_line(zh: str, en: str, about: str) -> str:
    return f"{zh} · {en}: {about}"


@functools.cache
def _database_json(dashboard_url: str) -> str:
    """The Datasette metadata of one caselog database, as JSON text: decoded afresh for every
    caller because Datasette merges into and annotates what the hook returns."""
    source = texts()
    tables = {}
    for name, table in source["tables"].items():
        tables[name] = {**table, "columns": {c: _column_line(*v) for c, v in table["columns"].items()}}
    link = (f' <a href="{html.escape(dashboard_url)}">年度审查仪表盘 · yearly dashboard</a>')
    return json.dumps({
        "title": source["title"],
        "description_html": html.escape(source["description"]) + link,
        "tables": tables,
        # Reviewers read a query's title, description and parameters; its SQL is one click away.
        "queries": {name: {**q, "hide_sql": True} for name, q in queries.QUERIES.items()},
    }, ensure_ascii=False)


def database_metadata(dashboard_url: str) -> dict:
    return json.loads(_database_json(dashboard_url))


def _signature(path: str) -> tuple:
    # The WAL file changes as soon as a new log is created, before the main file does.
    out = []
    for name in (path, path + "-wal"):
        try:
            stat = os.stat(name)
            out.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _has_caselog_events(path: str, signature: tuple) -> bool:
    expected = set(texts()["tables"]["events"]["columns"])
    try:
        conn = database.read_only(path)
    except sqlite3.Error:
        return False
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return expected <= columns


# How long an answer of is_caselog stands: render_cell asks for each cell, 12,000 times for one
# page of rates by agency, and each fresh answer reads two files' status.
ANSWER_SECONDS = 1.0
_answers: dict[str, tuple[float, bool]] = {}


def is_caselog(datasette: Any, name: str) -> bool:
    """Whether the served database ``name`` is a caselog log: it has caselog's ``events`` table."""
    db = datasette.databases.get(name)
    if db is None or not db.path:
        return False
    now = time.monotonic()
    found = _answers.get(db.path)
    if found is None or now - found[0] > ANSWER_SECONDS:
        found = _answers[db.path] = (now, _has_caselog_events(db.path, _signature(db.path)))
    return found[1]


def caselog_databases(datasette: Any) -> list[str]:
    return [name for name in datasette.databases if is_caselog(datasette, name)]


def databases_under(datasette: Any, path: str) -> list[str]:
    """The caselog databases whose pages ``path`` is one of: the database page, its tables, rows and queries."""
    found = []
    for name in caselog_databases(datasette):
        route = datasette.urls.database(name)
        if path == route or path.startswith((route + "/", route + ".")):
            found.append(name)
    return found


def open_quoted(db: Any) -> None:
    """Have Datasette open the log's file through a quoted URI, as caselog does (``database.uri``).

    Datasette 0.65 writes the path into ``file:{path}?mode=ro`` as it is, so a log named
    ``a#b.db`` would be read as the file ``a`` (created empty) and serve nothing of the log.
    """
    def connect(write: bool = False) -> sqlite3.Connection:
        options = {} if write else {"mode": "ro"} if db.is_mutable else {"immutable": "1"}
        if not write and db.is_mutable and db.ds.nolock:
            options["nolock"] = "1"
        conn = sqlite3.connect(database.uri(db.path, **options), uri=True, check_same_thread=False)
        db._all_file_connections.append(conn)
        return conn

    db.connect = connect
