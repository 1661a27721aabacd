"""Serving a log to reviewers: Datasette, read-only, with the plugin and safe settings.

The file is served mutable, so pages show what clerks append while the server
runs (unless it lies in a folder no one can write); Datasette's own connections
are read-only.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from caselog import database
from caselog.errors import InputError
from caselog.reviewer import accounts

SETTINGS = {
    "sql_time_limit_ms": 3000,  # one reviewer's query cannot hold the server for long
    # Reviewers' own SQL may hold two of these threads (limits.SQL_AT_ONCE); pages always get the third.
    "num_sql_threads": 3,
    "allow_download": False,  # the log leaves through `caselog export`, not a browser
}


def app(path: str | Path, people: dict[str, dict] | None = None) -> Any:
    """A Datasette instance serving the caselog database at ``path``; with ``people`` (the
    accounts, ``accounts.load``), nobody reads anything without signing in."""
    from datasette.app import Datasette

    metadata = {"plugins": {accounts.PLUGIN: accounts.plugin_config(people),
                            "caselog": {"roles": {name: a["role"] for name, a in people.items()}}}} if people else None
    if database.immutable(path):  # in a folder no one writes: read as it is (see database.immutable)
        return Datasette(immutables=[str(path)], settings=SETTINGS, metadata=metadata)
    return Datasette([str(path)], settings=SETTINGS, metadata=metadata)


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def people(path: str | Path, host: str) -> dict[str, dict]:
    """The accounts to serve ``path`` with; refused on any address but this machine's own without any."""
    found = accounts.load(path)
    if not found and not is_loopback(host):
        raise InputError(f"serving on {host} without accounts would show every plaintiff's name to anyone on the "
                         "network: add one with `caselog accounts add NAME --role reviewer`")
    return found


def run(path: str | Path, host: str, port: int, found: dict[str, dict]) -> None:
    import uvicorn

    uvicorn.run(app(path, found).app(), host=host, port=port, log_level="warning", lifespan="on")
