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
from caselog.errors import InputError


@contextlib.contextmanager
def view(conn: sqlite3.Connection, as_of: str | None) -> Iterator[tuple[sqlite3.Connection, chain.Head]]:
    """The projections to read: the live ones, or those of the log as recorded at ``as_of``."""
    if as_of is None:
        yield conn, projections.projection_head(conn)
    else:
        with parallel.replayed(conn, chain.as_of_position(conn, as_of)) as past:
            yield past


def _yearly_series(rows: list[tuple]) -> dict[str, dict[int, Counter]]:
    """``projections.sealed_yearly``'s rows as {agency: {year: counts}}."""
    table: dict[str, dict[int, Counter]] = defaultdict(dict)
    for year, agency, *counts in rows:
        table[agency][year] = Counter(dict(zip(figures.COUNTS, counts)))
    return table


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
        # Every case is counted in the year it was filed, so its agency has rows in yearly_figures.
        if agency is not None and (agency == figures.CITY or not source.execute(
                "SELECT 1 FROM yearly_figures WHERE agency = ? LIMIT 1", (agency,)).fetchone()):
            raise InputError(f"no case of agency {agency!r} in the log")
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
    by_agency = [{"agency": who, **results[who]} for who in sorted(shown - {figures.CITY})]
    if agency is not None:
        out["agency"] = agency
        by_agency = [row for row in by_agency if row["agency"] == agency]
        city = results.get(agency) or figures.figures_of({}, {}, None if year is None else 0)
    out.update(city)
    out["by_agency"] = by_agency
    out["head"] = {"position": head.position, "hash": head.hash}
    return out
