"""Summaries: the published figures for a year or a period, as of now or any past moment.

A summary reads the projections only.  ``--as-of`` builds the projections of
the log's prefix in a scratch database, through the same refresh, and reads those.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections import Counter, defaultdict
from typing import Iterator

from caselog import chain, database, figures, parallel, projections
from caselog import events as ev
from caselog.errors import InputError


@contextlib.contextmanager
def view(conn: sqlite3.Connection, as_of: str | None) -> Iterator[tuple[sqlite3.Connection, chain.Head]]:
    """The projections to read: the live ones, or those of the log as recorded at ``as_of``."""
    if as_of is None:
        yield conn, projections.projection_head(conn)
    else:
        with parallel.replayed(conn, chain.as_of_position(conn, as_of)) as past:
            yield past


def _yearly_series(rows: list[tuple]) -> dict[str, dict[int, dict[str, int]]]:
    """``projections.sealed_yearly``'s rows as {agency: {year: counts}}."""
    table: dict[str, dict[int, dict[str, int]]] = defaultdict(dict)
    names = figures.COUNTS
    for year, agency, *counts in rows:
        table[agency][year] = dict(zip(names, counts))
    return table


def latest_complete_year(conn: sqlite3.Connection, today: dt.date | None = None) -> int | None:
    """The last year before this one with figures for the city (or the last year at all)."""
    this_year = (today or dt.date.today()).year
    row = conn.execute(
        "SELECT max(CASE WHEN year < ? THEN year END), max(year) FROM yearly_figures WHERE agency = ? AND level = 'all'",
        (this_year, figures.CITY),
    ).fetchone()
    return row[0] if row[0] is not None else row[1]


def year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _period_counts(conn: sqlite3.Connection, start: dt.date, end: dt.date, level: str) -> dict[str, dict[str, Counter]]:
    """Counts for the period and the same dates a year earlier (同期), per agency.

    Each is counted on its own: a period longer than a year overlaps its predecessor.
    """
    periods = {"current": (start, end), "previous": (year_before(start), year_before(end))}
    table: dict[str, dict[str, Counter]] = defaultdict(lambda: {"current": Counter(), "previous": Counter()})
    for name, (low, high) in periods.items():
        counts = figures.tally(conn, "{date} BETWEEN :low AND :high", {"low": low.isoformat(), "high": high.isoformat()},
                               bucket=f"'{name}'")
        for (_, scope, agency), found in counts.items():
            if scope == level:
                table[agency][name].update(found)
    return table


def agency_named(conn: sqlite3.Connection, name: str) -> str:
    """The agency a typed name means, as the figures key it: compared as names are stored (NFKC, no
    whitespace), an alias or former name meaning its agency; InputError if no case names it."""
    try:
        name = ev.agency_name(name)
    except (ValueError, TypeError) as error:
        raise InputError(f"agency: {error}") from None
    found = conn.execute("SELECT agency FROM agency_names WHERE name = ?", (name,)).fetchone()
    agency = found[0] if found else name
    # Every case is counted in the year it was filed, so its agency has rows in yearly_figures.
    if not conn.execute("SELECT 1 FROM yearly_figures WHERE agency = ? LIMIT 1", (agency,)).fetchone():
        raise InputError(f"no case of agency {name!r} in the log")
    return agency


def _group_order(field: str, key: str) -> tuple:
    """Levels highest first, regions by name; the unregistered last."""
    value = key.removeprefix(figures.GROUPS[field])
    rank = ev.AGENCY_LEVELS.index(value) if field == "agency_level" and value in ev.AGENCY_LEVELS else 0
    return (value == ev.UNREGISTERED, rank, value)


def summary(conn: sqlite3.Connection, *, year: int | None = None, start: dt.date | None = None,
            end: dt.date | None = None, level: str = "all", agency: str | None = None,
            as_of: str | None = None) -> dict:
    """Every figure of docs/domain.md for a year (or a period), the city's and each agency's."""
    if level not in figures.LEVEL_SCOPES:
        raise InputError(f"unknown level {level!r}: expected all or first")
    if (year is None) == (start is None or end is None):
        raise InputError("give either a year or both ends of a period")
    if start is not None and start > end:
        raise InputError(f"the period starts ({start}) after it ends ({end})")
    moment = chain.timestamp(as_of) if as_of is not None else None
    with database.reading(conn), view(conn, moment) as (source, head):
        yearly = projections.sealed_yearly(source, level)  # refuses figures edited outside caselog
        if agency is not None:
            agency = agency_named(source, agency)
        if year is not None:
            series = _yearly_series(yearly)
            results = {who: figures.figures_for(s, year) for who, s in series.items()}
            shown = {who for who, s in series.items() if figures.active(s.get(year, {}))}
            city = results.get(figures.CITY) or figures.figures_for({}, year)
            out: dict = {"year": year}
        else:
            periods = _period_counts(source, start, end, level)
            results = {who: figures.figures_of(c["current"], c["previous"], None) for who, c in periods.items()}
            shown = {who for who, c in periods.items() if figures.active(c["current"])}
            city = results.get(figures.CITY) or figures.figures_of({}, {}, None)
            out = {"year": None, "from": start.isoformat(), "to": end.isoformat()}
    out.update({"as_of": moment, "level": level})
    groups = {field: sorted(who for who in shown if who.startswith(prefix)) for field, prefix in figures.GROUPS.items()}
    by_agency = [{"agency": who, **results[who]}
                 for who in sorted(shown - {figures.CITY} - {who for keys in groups.values() for who in keys})]
    if agency is not None:
        out["agency"] = agency
        by_agency = [row for row in by_agency if row["agency"] == agency]
        city = results.get(agency) or figures.figures_of({}, {}, None if year is None else 0)
    out.update(city)
    out["by_agency"] = by_agency
    for field, keys in groups.items():
        out["by_" + field] = [{field: key.removeprefix(figures.GROUPS[field]), **results[key]}
                              for key in sorted(keys, key=lambda key: _group_order(field, key))]
    out["head"] = {"position": head.position, "hash": head.hash}
    return out
