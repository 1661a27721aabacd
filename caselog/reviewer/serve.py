"""Serving a log to reviewers: Datasette, read-only, with the plugin and safe settings.

The file is served mutable, so pages show what clerks append while the server
runs (unless it lies in a folder no one can write); Datasette's own connections
are read-only.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Iterable

from caselog import database
from caselog.errors import InputError
from caselog.reviewer import accounts

SETTINGS = {
    "sql_time_limit_ms": 3000,  # one reviewer's query cannot hold the server for long
    # Reviewers' own SQL may hold two of these threads (limits.SQL_AT_ONCE); pages always get the third.
    "num_sql_threads": 3,
    "allow_download": False,  # the log leaves through `caselog export`, not a browser
    # Suggesting facets runs a query per column of every table page: 0.5-0.8 s at a million events.
    "suggest_facets": False,
    # A canned query's page renders every row it returns: 1,000 rows of 35 figures took 0.33 s, 500
    # take 0.17 s.  Nothing is cut silently: the page says how many rows exist, its CSV has them all.
    "max_returned_rows": 500,
}
SWITCH = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


def settings(given: Iterable[tuple[str, str]] = (), base_url: str | None = None) -> dict[str, Any]:
    """caselog's settings with Datasette's own ``--setting NAME VALUE`` pairs and a base URL over them.

    Values are read as Datasette's command line reads them (a number, or on/off for a switch);
    an unknown name or a value of the wrong kind is refused with the names Datasette knows.
    """
    from datasette.app import SETTINGS as KNOWN

    defaults = {setting.name: setting.default for setting in KNOWN}
    out: dict[str, Any] = dict(SETTINGS)
    for name, value in given:
        if name not in defaults:
            raise InputError(f"unknown Datasette setting {name!r}: expected one of {', '.join(sorted(defaults))}")
        default = defaults[name]
        if isinstance(default, bool):
            if value.lower() not in SWITCH:
                raise InputError(f"setting {name} is on or off, not {value!r}")
            out[name] = SWITCH[value.lower()]
        elif isinstance(default, int):
            if not value.isdigit():
                raise InputError(f"setting {name} is a whole number, not {value!r}")
            out[name] = int(value)
        else:
            out[name] = value
    if base_url is not None:
        out["base_url"] = base_url
    # Datasette joins its paths onto the base URL, which must therefore begin and end with a slash.
    path = str(out.get("base_url", "/")).strip("/")
    out["base_url"] = f"/{path}/" if path else "/"
    return out


def app(path: str | Path, people: dict[str, dict] | None = None, chosen: dict[str, Any] | None = None) -> Any:
    """A Datasette instance serving the caselog database at ``path`` with ``settings()`` or ``chosen``;
    with ``people`` (the accounts, ``accounts.load``), nobody reads anything without signing in."""
    from datasette.app import Datasette

    metadata = {"plugins": {accounts.PLUGIN: accounts.plugin_config(people),
                            "caselog": {"roles": {name: a["role"] for name, a in people.items()}}}} if people else None
    settings_ = chosen if chosen is not None else SETTINGS
    if database.immutable(path):  # in a folder no one writes: read as it is (see database.immutable)
        return Datasette(immutables=[str(path)], settings=settings_, metadata=metadata)
    return Datasette([str(path)], settings=settings_, metadata=metadata)


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


def run(path: str | Path, host: str, port: int, found: dict[str, dict], chosen: dict[str, Any]) -> None:
    import uvicorn

    uvicorn.run(app(path, found, chosen).app(), host=host, port=port, log_level="warning", lifespan="on")
