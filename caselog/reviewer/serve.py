"""Serving a log to reviewers: Datasette, read-only, with the plugin and safe settings.

The file is served mutable, so pages show what clerks append while the server
runs (unless it lies in a folder no one can write); Datasette's own connections
are read-only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caselog import database

SETTINGS = {
    "sql_time_limit_ms": 3000,  # one reviewer's query cannot hold the server for long
    # Reviewers' own SQL may hold two of these threads (limits.SQL_AT_ONCE); pages always get the third.
    "num_sql_threads": 3,
    "allow_download": False,  # the log leaves through `caselog export`, not a browser
}


def app(path: str | Path) -> Any:
    """A Datasette instance serving the caselog database at ``path``."""
    from datasette.app import Datasette

    if database.immutable(path):  # in a folder no one writes: read as it is (see database.immutable)
        return Datasette(immutables=[str(path)], settings=SETTINGS)
    return Datasette([str(path)], settings=SETTINGS)


def run(path: str | Path, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app(path).app(), host=host, port=port, log_level="warning", lifespan="on")
