"""The figures of docs/domain.md, defined once.

``tally`` counts projection rows into buckets (a year, or a period and the
same dates a year earlier) in SQL; ``figures_of`` turns counts into the published
figures: rates, year-over-year changes and the double-decline streak.  The
yearly table, the CLI summary, the dashboard and the canned queries all read
what these two functions produce.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from typing import Mapping

from caselog.events import ATTENDANCES, UNREGISTERED

CITY = ""  # the agency key that stands for the whole city (全市)
#: The groups of agencies the registry defines, and the prefix of their keys in the agency column of the
#: tallies and of yearly_figures ("level: city_dept", "region: 鹿城区").  The space keeps a key from ever
#: being an agency's name, which holds no whitespace.
GROUPS = {"agency_level": "level: ", "region": "region: "}
LEVEL_SCOPES = ("all", "first")

COUNTS = (
    "filed", "heard", "head_appeared", "principal", "deputy", "other_head", "staff", "lawyer_only", "none",
    "spoke", "recommendations_expected", "concluded", "losses_first_instance", "reduced_on_appeal",
    "added_on_appeal", "losses", "merits_judgments", "withdrawn_after_change",
    "reconsideration_heard", "reconsideration_head_appeared",
)
#: rate -> (numerator, denominator); a zero denominator gives None, never 0.
RATES = {
    "appearance_rate": ("head_appeared", "heard"),
    "principal_rate": ("principal", "heard"),
    "principal_share": ("principal", "head_appeared"),
    "speaking_rate": ("spoke", "head_appeared"),
    "loss_rate": ("losses", "concluded"),
    "merits_loss_rate": ("losses", "merits_judgments"),
    "reconsideration_appearance_rate": ("reconsideration_head_appeared", "reconsideration_heard"),  # 复议机关出庭率
}
#: Figures compared with the year before: counts change in percent, rates in points.
COMPARED = ("filed", "appearance_rate", "loss_rate", "speaking_rate")
DERIVED_TYPES = {
    "silent": "INTEGER",
    **{rate: "REAL" for rate in RATES},
    "filed_prev": "INTEGER", "filed_change_pct": "REAL",
    "appearance_rate_prev": "REAL", "appearance_rate_change_pp": "REAL",
    "loss_rate_prev": "REAL", "loss_rate_change_pp": "REAL",
    "speaking_rate_prev": "REAL", "speaking_rate_change_pp": "REAL",
    "double_decline_streak": "INTEGER",
}
DERIVED = tuple(DERIVED_TYPES)
KEYS = COUNTS + DERIVED

_APPEARANCE = {
    "heard": "1", "head_appeared": "head", "spoke": "spoke", "recommendations_expected": "recommendation_expected",
    **{attendance: f"attendance = '{attendance}'" for attendance in ATTENDANCES},
}
_OUTCOME = {
    "concluded": "1", "losses_first_instance": "first_loss", "reduced_on_appeal": "reduced_on_appeal",
    "added_on_appeal": "added_on_appeal", "losses": "loss", "merits_judgments": "merits_judgment",
    "withdrawn_after_change": "withdrawn_after_change",
}
_RECONSIDERATION = {
    "reconsideration_heard": "role = 'reconsideration'",
    "reconsideration_head_appeared": "role = 'reconsideration' AND head",
}
# Which projection rows count as what: (table, the date that places a row, {count name: SQL summed}).
# The city counts cases (a co-defendant case once); each agency counts the cases it defends (a
# co-defendant case in each of its defendants' rows, so the agencies need not sum to the city).
# Appearance units count in the "first" level scope only at first instance; filings and outcomes
# ignore the level.
COUNTED = {
    CITY: (
        ("cases", "filed_on", {"filed": "1"}),
        ("appearance_units", "first_held_on", _APPEARANCE),
        ("outcomes", "concluded_on", _OUTCOME),
        # A 复议机关 is always a co-defendant: its units are all in the cases with several defendants.
        ("multi_defendant_units", "first_held_on", _RECONSIDERATION),
    ),
    "agency": (
        ("defendants", "filed_on", {"filed": "1"}),
        ("defendant_units", "first_held_on", {**_APPEARANCE, **_RECONSIDERATION}),
        ("defendant_outcomes", "concluded_on", _OUTCOME),
    ),
}
#: The tables of units, whose rows have a level.
LEVELLED = ("appearance_units", "defendant_units", "multi_defendant_units")
#: The date that places a row of each counted table.
DATE_OF = {table: date for counted in COUNTED.values() for table, date, _ in counted}
#: The table an agency's count comes from, for each table the city's comes from.
AGENCY_TABLE = {"cases": "defendants", "appearance_units": "defendant_units", "outcomes": "defendant_outcomes",
                "multi_defendant_units": "multi_defendant_units"}
BY_YEAR = "CAST(substr({date}, 1, 4) AS INTEGER)"


#: {(bucket, level scope, agency): {count name: n}}; the agency CITY holds the whole city's counts.
Tally = dict[tuple[object, str, str], Counter]


def tally(conn: sqlite3.Connection, where: str = "1", params: Mapping | None = None, bucket: str = BY_YEAR) -> Tally:
    """Count projection rows into buckets, per level scope, for the city, each agency and each group
    of agencies the registry defines (``grouped``).

    ``bucket`` and ``where`` are SQL over the row, with ``{date}`` standing for
    the date that places it; a row whose bucket is NULL is not counted.
    """
    return grouped(counted(conn, where, params, bucket), names_of(conn))


#: A registered name -> (its agency's name now, the agency's level, its region).
Names = dict[str, tuple[str, str, str]]


def names_of(conn: sqlite3.Connection) -> Names:
    """Every name the registry's projection knows (caselog.agencies), with its agency's groups."""
    return {name: (agency, level, region) for name, agency, level, region in conn.execute(
        "SELECT n.name, a.agency, a.agency_level, a.region FROM agency_names n JOIN agencies a ON a.agency = n.agency")}


def grouped(counts: Tally, names: Names) -> Tally:
    """Counts by the names the events give, as the figures count them once a registry exists: each name
    under its agency's name now (a renamed agency's years under its former name are its own), and
    each (case, defendant) again in its agency's level and region, or in the groups of the
    unregistered.  Without a registry, the counts as they are."""
    if not names:
        return counts
    out: Tally = defaultdict(Counter)
    for (bucket, scope, who), found in counts.items():
        if who == CITY:
            out[(bucket, scope, who)].update(found)
            continue
        agency, level, region = names.get(who, (who, UNREGISTERED, UNREGISTERED))
        for key in (agency, GROUPS["agency_level"] + level, GROUPS["region"] + region):
            out[(bucket, scope, key)].update(found)
    return dict(out)


def combined(*tallies: Tally) -> Tally:
    """The sum of several moves of the counts, groups left without a change left out."""
    out: Tally = defaultdict(Counter)
    for moved in tallies:
        for group, change in moved.items():
            out[group].update(change)
    return {group: Counter({k: n for k, n in change.items() if n}) for group, change in out.items() if any(change.values())}


def counted(conn: sqlite3.Connection, where: str = "1", params: Mapping | None = None, bucket: str = BY_YEAR) -> Tally:
    """``tally`` by the agency names the events give, before the registry groups them."""
    counts: Tally = defaultdict(Counter)
    for whose, counted in COUNTED.items():
        agency = "agency" if whose == "agency" else repr(CITY)
        for table, date, names in counted:
            first = "level = 'first'" if table in LEVELLED else "1"
            sums = ", ".join(f"sum({sql})" for sql in names.values())
            sql = (f'SELECT {bucket.format(date=date)} AS bucket, {agency} AS who, {first} AS first, {sums} '
                   f'FROM "{table}" WHERE {where.format(date=date)} GROUP BY bucket, who, first HAVING bucket IS NOT NULL')
            for key, who, at_first, *values in conn.execute(sql, params or {}):
                found = {name: n for name, n in zip(names, values) if n}
                if found:
                    for scope in LEVEL_SCOPES if at_first else ("all",):
                        counts[(key, scope, who)].update(found)
    return dict(counts)


def difference(after: Tally, before: Tally) -> Tally:
    """What changed between two tallies, groups without a change left out."""
    if not before:  # a refresh of a log whose tables were empty: the common bulk case
        return after
    out: Tally = {}
    for group in after.keys() | before.keys():
        change = Counter(after.get(group, ()))
        change.subtract(before.get(group, ()))
        change = Counter({name: n for name, n in change.items() if n})
        if change:
            out[group] = change
    return out


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def active(counts: Mapping[str, int]) -> bool:
    """Whether anything was filed, heard or concluded: who appears in a period's list."""
    return bool(counts.get("filed") or counts.get("heard") or counts.get("concluded"))


def _declined(current: Mapping[str, int], previous: Mapping[str, int]) -> bool:
    now_rate = ratio(current.get("losses", 0), current.get("concluded", 0))
    before_rate = ratio(previous.get("losses", 0), previous.get("concluded", 0))
    return (
        current.get("filed", 0) < previous.get("filed", 0)
        and now_rate is not None and before_rate is not None and now_rate < before_rate
    )


def figures_of(counts: Mapping[str, int], previous: Mapping[str, int], streak: int | None) -> dict:
    """Every figure of one period from its counts and those of the period a year earlier."""
    out: dict = {name: counts.get(name, 0) for name in COUNTS}
    out["silent"] = out["head_appeared"] - out["spoke"]
    prev = {name: previous.get(name, 0) for name in COUNTS}
    for rate, (numerator, denominator) in RATES.items():
        out[rate] = ratio(out[numerator], out[denominator])
        prev[rate] = ratio(prev[numerator], prev[denominator])
    for name in COMPARED:
        now, before = out[name], prev[name]
        out[f"{name}_prev"] = before
        if name in RATES:
            out[f"{name}_change_pp"] = None if now is None or before is None else (now - before) * 100
        else:
            out[f"{name}_change_pct"] = (now - before) / before * 100 if before else None
    out["double_decline_streak"] = streak
    return out


def figures_for(series: Mapping[int, Mapping[str, int]], year: int) -> dict:
    """The figures of one year of a series (an agency, or the city, at one level scope)."""
    empty: Mapping[str, int] = {}
    return figures_of(series.get(year, empty), series.get(year - 1, empty), streak(series, year))


def derive_series(series: Mapping[int, Mapping[str, int]]) -> dict[int, dict]:
    """Figures for every year the series has counts for."""
    return {year: figures_for(series, year) for year in series}


def streak(series: Mapping[int, Mapping[str, int]], year: int) -> int:
    """Consecutive years ending at ``year`` with both filings and the loss rate strictly lower (双下降)."""
    empty: Mapping[str, int] = {}
    n = 0
    while _declined(series.get(year - n, empty), series.get(year - n - 1, empty)):
        n += 1
    return n
