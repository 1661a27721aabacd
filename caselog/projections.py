"""Read models: tables computed from the log, never edited by hand.

One function writes them all: ``refresh`` recomputes the rows of a set of cases
from the log in set-based SQL.  An append or an import refreshes the cases it
touched, inside its own transaction; an import into an empty log, the
rebuild, verify and the as-of view refresh every case, a long log's on both
cores (a range of cases each, the same SQL).  The SQL below is where a case's standing is read from its events
(corrections applied, retractions dropped, replayed in business-date order);
``figures.tally`` counts the rows, and the yearly figures move by the
difference a refresh made.  ``differences`` checks a database against a rebuild.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
import sqlite3
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

from caselog import events as ev
from caselog import cores, figures, rules

if TYPE_CHECKING:
    from caselog.store import Head  # the store imports this module

# Column name -> SQL type; the first columns listed in PRIMARY_KEYS are the key.
TABLES: dict[str, dict[str, str]] = {
    "cases": {
        "case": "TEXT", "year": "INTEGER", "filed_on": "TEXT", "court": "TEXT", "agency": "TEXT",
        "cause": "TEXT", "plaintiff": "TEXT", "field": "TEXT", "status": "TEXT", "concluded_on": "TEXT",
        "first_disposition": "TEXT", "disposition": "TEXT", "appeals": "INTEGER", "remands": "INTEGER",
        "version": "INTEGER",
    },
    "hearings": {
        "event_id": "TEXT", "case": "TEXT", "held_on": "TEXT", "year": "INTEGER", "level": "TEXT",
        "attendance": "TEXT", "head": "INTEGER", "spoke": "INTEGER", "official": "TEXT", "title": "TEXT",
        "excuse": "TEXT",
    },
    "appearance_units": {
        "case": "TEXT", "level": "TEXT", "agency": "TEXT", "year": "INTEGER", "first_held_on": "TEXT",
        "hearings": "INTEGER", "attendance": "TEXT", "head": "INTEGER", "spoke": "INTEGER", "silent": "INTEGER",
        "excused": "INTEGER", "recommendation_expected": "INTEGER",
    },
    "outcomes": {
        "case": "TEXT", "agency": "TEXT", "year": "INTEGER", "concluded_on": "TEXT", "first_disposition": "TEXT",
        "disposition": "TEXT", "first_loss": "INTEGER", "loss": "INTEGER", "reduced_on_appeal": "INTEGER",
        "added_on_appeal": "INTEGER", "merits_judgment": "INTEGER", "withdrawn_after_change": "INTEGER",
    },
    "appeals": {
        "case": "TEXT", "seq": "INTEGER", "level": "TEXT", "appeal_case": "TEXT", "filed_on": "TEXT",
        "appellant": "TEXT", "decided_on": "TEXT", "result": "TEXT", "disposition": "TEXT",
    },
    "yearly_figures": {
        "year": "INTEGER", "level": "TEXT", "agency": "TEXT",
        **{key: "INTEGER" for key in figures.COUNTS},
        **figures.DERIVED_TYPES,
    },
    "_caselog_projection": {"name": "TEXT", "position": "INTEGER", "hash": "TEXT"},
}
# Hearings are keyed by case first: a refresh deletes and reads them a case at a time.
PRIMARY_KEYS = {
    "cases": ("case",), "hearings": ("case", "event_id"), "appearance_units": ("case", "level"),
    "outcomes": ("case",), "appeals": ("case", "seq"), "yearly_figures": ("year", "level", "agency"),
    "_caselog_projection": ("name",),
}
T = TypeVar("T")
Series = dict[tuple[str, str], dict[int, Counter]]  # {(level, agency): {year: counts}}
CASE_TABLES = ("cases", "hearings", "appearance_units", "outcomes", "appeals")


# The page size of every database caselog creates, the log and its scratch files: four times
# SQLite's default.  At a million events, an import wrote, synced and checkpointed a quarter as
# many pages (1.5 s or more less), a rebuild took 0.6 s less and the log was 2% smaller.
PAGE_SIZE = 16_384


def scratch(path: str) -> sqlite3.Connection:
    """A new scratch database at ``path``: rows another process computes, or a copy to compute from."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = OFF")  # nothing to recover after a crash
    conn.execute("PRAGMA synchronous = OFF")
    return conn


def _quote(name: str) -> str:
    return f'"{name}"'


def create(conn: sqlite3.Connection) -> None:
    # No secondary indexes: the canned queries and the summary ran as fast without them at a
    # million events, and each one cost every refresh and rebuild its upkeep.
    for name, columns in TABLES.items():
        cols = ", ".join(f"{_quote(c)} {t}" for c, t in columns.items())
        pk = ", ".join(map(_quote, PRIMARY_KEYS[name]))
        # WITHOUT ROWID: each row is stored once, in its key's b-tree, not again in an index of the key.
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({cols}, PRIMARY KEY ({pk})) WITHOUT ROWID')


def drop(conn: sqlite3.Connection) -> None:
    for name in TABLES:
        conn.execute(f'DROP TABLE IF EXISTS "{name}"')


def _values(names: Iterable[str]) -> str:
    """An SQL list of vocabulary words (which never hold a quote)."""
    return "(" + ", ".join(f"'{name}'" for name in names) + ")"


def _field(name: str, payload: str = "payload") -> str:
    return f"json_extract({payload}, '$.{name}')"


def _year(date: str) -> str:
    return f"CAST(substr({date}, 1, 4) AS INTEGER)"


_DATE = "CASE type " + " ".join(
    f"WHEN '{kind}' THEN {_field(name)}" for kind, fields in ev.FIELDS.items() for name in fields if name in ev.DATE_FIELDS
) + " END"
# A step's place in the business-date replay: its date, then its position, as one sortable string
# (10 + 12 characters), so that max() finds the last step and max(key || value) that step's value.
_KEY = f"{_DATE} || printf('%012d', position)"
_KEY_LENGTH = 22
_STEPS = ("case_concluded", "appeal_filed", "appeal_decided", "retrial_decided")
_HEADS = _values(ev.HEADS)
# Corrections and retractions, about 1% of the log.  The store indexes them under this very
# condition (a partial index), which SQLite uses only when a query spells it the same way.
CORRECTIONS = f"type IN {_values(sorted(ev.META_TYPES))}"
_LOSSES = _values(ev.LOSSES)
_RANK = "CASE h.attendance " + " ".join(f"WHEN '{a}' THEN {r}" for a, r in ev.ATTENDANCE_RANK.items()) + " END"
_ATTENDANCE_OF_RANK = "CASE best_rank " + " ".join(f"WHEN {r} THEN '{a}'" for a, r in ev.ATTENDANCE_RANK.items()) + " END"

# The events that stand, corrections applied.  ``+e."case"`` keeps SQLite from walking the
# (case, version) index to spare a sort: that costs a random read of the table per row.
_STANDING = """standing AS (
    SELECT +e."case" AS "case", e.position, e.event_id, e.type, coalesce(o.payload, e.payload) AS payload
    FROM {log}.events e LEFT JOIN temp._override o ON o.event_id = e.event_id
    WHERE e.type IN %s AND o.retracted IS NOT 1 AND {scope}
)"""

_HEARINGS = f"""
INSERT INTO hearings
WITH {_STANDING % "('hearing_held')"},
fields AS (
    SELECT event_id, "case", {_field("held_on")} AS held_on, coalesce({_field("level")}, 'first') AS level,
           {_field("attendance")} AS attendance, {_field("spoke")} AS spoke, {_field("official")} AS official,
           {_field("title")} AS title, {_field("excuse")} AS excuse
    FROM standing
)
SELECT event_id, "case", held_on, {_year("held_on")}, level, attendance, attendance IN {_HEADS}, spoke,
       official, title, excuse
FROM fields ORDER BY "case", event_id
"""

# One pass over each case's filing and replay steps; its version counts every event logged.
# The standing conclusion is the last one, unless a remand came after it; its disposition is that
# of the last reversal after it, if any.  An appeal is pending when no appeal decision follows it.
_CASES = f"""
INSERT INTO cases
WITH logged AS (
    SELECT +e."case" AS "case", e.position, e.type, coalesce(o.payload, e.payload) AS payload
    FROM {{log}}.events e LEFT JOIN temp._override o ON o.event_id = e.event_id
    WHERE e.type IN {_values(("case_filed",) + _STEPS)} AND o.retracted IS NOT 1 AND {{scope}}
),
steps AS (
    SELECT "case", type,
           CASE WHEN type = 'case_filed' THEN payload END AS filing,
           CASE WHEN type <> 'case_filed' THEN {_KEY} END AS key,
           CASE WHEN type <> 'appeal_filed' AND type <> 'case_filed' THEN {_field("disposition")} END AS disposition,
           CASE WHEN type IN ('appeal_decided', 'retrial_decided') THEN {_field("result")} END AS result
    FROM logged
),
decisions AS MATERIALIZED (
    SELECT "case", max(filing) AS filing,
           max(CASE WHEN type = 'case_concluded' THEN key || disposition END) AS conclusion,
           max(CASE WHEN result = 'reversed' THEN key || disposition END) AS reversal,
           max(CASE WHEN result = 'remanded' THEN key END) AS remand,
           max(CASE WHEN type = 'appeal_filed' THEN key END) AS appeal,
           max(CASE WHEN type = 'appeal_decided' THEN key END) AS appeal_decision,
           count(CASE WHEN type = 'appeal_filed' THEN 1 END) AS appeals,
           count(CASE WHEN result = 'remanded' THEN 1 END) AS remands
    FROM steps GROUP BY "case"
),
standing AS (
    SELECT d."case", filing, reversal, appeal, appeal_decision, appeals, remands,
           (SELECT count(*) FROM {{log}}.events e WHERE e."case" = d."case" AND {{scope}}) AS version,
           CASE WHEN remand IS NULL OR remand < substr(conclusion, 1, {_KEY_LENGTH}) THEN conclusion END AS conclusion
    FROM decisions d WHERE filing IS NOT NULL
)
SELECT "case", {_year(_field("filed_on", "filing"))}, {_field("filed_on", "filing")},
       {_field("court", "filing")}, {_field("agency", "filing")}, {_field("cause", "filing")},
       {_field("plaintiff", "filing")}, {_field("field", "filing")},
       CASE WHEN conclusion IS NULL THEN CASE WHEN remands > 0 THEN 'remanded' ELSE 'open' END
            WHEN appeal > coalesce(appeal_decision, '') THEN 'on_appeal'
            ELSE 'concluded' END,
       substr(conclusion, 1, 10), substr(conclusion, {_KEY_LENGTH + 1}),
       CASE WHEN reversal > conclusion THEN substr(reversal, {_KEY_LENGTH + 1})
            ELSE substr(conclusion, {_KEY_LENGTH + 1}) END,
       appeals, remands, version
FROM standing
"""

# One case at one level (art. 7): its best attendance over its hearings, and whether a head spoke.
_UNITS = f"""
INSERT INTO appearance_units
WITH units AS (
    SELECT h."case", h.level, c.agency, min(h.held_on) AS first_held_on, count(*) AS hearings,
           max({_RANK}) AS best_rank,
           max(coalesce(h.spoke, 0)) AS spoke, max(h.excuse IS NOT NULL) AS excused
    FROM hearings h JOIN cases c ON c."case" = h."case"
    WHERE {{cases}}
    GROUP BY h."case", h.level
),
named AS (SELECT *, {_ATTENDANCE_OF_RANK} AS attendance FROM units)
SELECT "case", level, agency, {_year("first_held_on")}, first_held_on, hearings, attendance,
       attendance IN {_HEADS}, attendance IN {_HEADS} AND spoke, attendance IN {_HEADS} AND NOT spoke, excused,
       attendance IN ('lawyer_only', 'none') OR (attendance = 'staff' AND NOT excused)  -- art. 12
FROM named  -- already in (case, level) order, from the GROUP BY: no second sort
"""

_OUTCOMES = f"""
INSERT INTO outcomes
SELECT "case", agency, {_year("concluded_on")}, concluded_on, first_disposition, disposition,
       first_disposition IN {_LOSSES}, disposition IN {_LOSSES},
       first_disposition IN {_LOSSES} AND disposition NOT IN {_LOSSES},
       disposition IN {_LOSSES} AND first_disposition NOT IN {_LOSSES},
       disposition IN {_values(sorted(ev.MERITS_SET))}, disposition = 'withdrawn_after_change'
FROM cases c WHERE concluded_on IS NOT NULL AND {{cases}} ORDER BY "case"
"""

# Appeals in replay order, each with the decision that follows it; then retrials, numbered on.
_APPEALS = f"""
INSERT INTO appeals
WITH {_STANDING % "('appeal_filed', 'appeal_decided', 'retrial_decided')"},
steps AS MATERIALIZED (
    SELECT "case", type, {_KEY} AS key, {_DATE} AS date,
           CASE WHEN type = 'appeal_filed' THEN {_field("appeal_case")} END AS appeal_case,
           CASE WHEN type = 'appeal_filed' THEN {_field("appellant")} END AS appellant,
           CASE WHEN type <> 'appeal_filed' THEN {_field("result")} END AS result,
           CASE WHEN type <> 'appeal_filed' THEN {_field("disposition")} END AS disposition
    FROM standing
),
paired AS (
    SELECT "case", type, date, appeal_case, appellant, sum(type = 'appeal_filed') OVER w AS seq,
           lead(type) OVER w AS next_type, lead(date) OVER w AS next_date, lead(result) OVER w AS next_result,
           lead(disposition) OVER w AS next_disposition
    FROM steps WHERE type IN ('appeal_filed', 'appeal_decided')
    WINDOW w AS (PARTITION BY "case" ORDER BY key)
)
SELECT "case", seq, 'second', appeal_case, date, appellant,
       CASE WHEN next_type = 'appeal_decided' THEN next_date END,
       CASE WHEN next_type = 'appeal_decided' THEN next_result END,
       CASE WHEN next_type = 'appeal_decided' THEN next_disposition END
FROM paired WHERE type = 'appeal_filed'
UNION ALL
SELECT s."case", c.appeals + row_number() OVER (PARTITION BY s."case" ORDER BY s.key), 'retrial', NULL, NULL, NULL,
       s.date, s.result, s.disposition
FROM steps s JOIN cases c ON c."case" = s."case"
WHERE s.type = 'retrial_decided'
ORDER BY 1, 2
"""

def _touched(column: str) -> str:
    return f'{column} IN (SELECT "case" FROM temp._touched)'


# The share of the cases this process computes; it also copies the other share in.  Writing into
# the log costs more than into a scratch file (a verify, an as-of view), where this process can
# take more: at a million events a verify took 5.8 s with 0.51 against 6.1 s with 0.47.
_MINE, _MINE_IN_SCRATCH = 0.47, 0.51


class Share:
    """The upper range of a full refresh's cases, computed by another process into a scratch file.

    ``split`` is the range's first case and ``events`` the file of events it was computed from;
    ``rows()`` waits for that process and returns the scratch file and the tally of its rows,
    or None if it could not compute them.
    """

    def __init__(self, split: str, events: str, rows: Callable[[], tuple[str, figures.Tally] | None]):
        self.split = split
        self.events = events
        self.rows = rows


def refresh(conn: sqlite3.Connection, head: Head, cases: Iterable[str] | None = None, log: str = "main",
            upto: int | None = None, apart: str = "", share: Share | None = None) -> None:
    """Recompute the rows of ``cases`` (every case when None) from the log, and move the yearly figures.

    ``log`` names the attached database holding ``events`` (the as-of view
    writes into a scratch database); only events up to position ``upto`` count.
    ``head`` is the chain head the result reflects.  A full refresh of a long log
    computes part of the cases in a second process: ``share``, computed already,
    or one started here if ``apart`` names a file whose ``events`` another process
    can read and that holds the same events (the log's own file when none of its
    events is this transaction's own).
    """
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _override (event_id TEXT PRIMARY KEY, payload TEXT, retracted INTEGER)")
    scope = ["1"]
    if cases is None:
        touched = "1"
    else:
        conn.execute('CREATE TEMP TABLE IF NOT EXISTS _touched ("case" TEXT PRIMARY KEY)')
        conn.execute("DELETE FROM temp._touched")
        conn.executemany("INSERT OR IGNORE INTO temp._touched VALUES (?)", ((case,) for case in cases))
        touched = _touched('"case"')
        scope.append(_touched('e."case"'))
    if upto is not None:
        scope.append("e.position <= :upto")
    params = {"upto": upto}

    before = figures.tally(conn, touched)
    for name in CASE_TABLES:
        conn.execute(f'DELETE FROM "{name}" WHERE {touched}')
    if cases is None and (share is not None or apart and cores.worth_it(head.position)):
        stored = _stored_series(conn, None)
        with contextlib.nullcontext(share) if share else _spawned(conn, log, scope, params, apart, head.position) as share:
            deleted, rows = _fill_in_two(conn, log, scope, params, share,
                                         lambda after: _yearly_rows(figures.difference(after, before), stored))
    else:
        _fill(conn, log, " AND ".join(scope), "1" if cases is None else _touched('c."case"'), params)
        moved = figures.difference(figures.tally(conn, touched), before)
        deleted, rows = _yearly_rows(moved, _stored_series(conn, {(level, agency) for _, level, agency in moved}))
    conn.executemany("DELETE FROM yearly_figures WHERE year = ? AND level = ? AND agency = ?", deleted)
    conn.executemany(_insert("yearly_figures"), rows)
    if head.position:  # an empty log has no projection head, like a new database
        conn.execute("INSERT OR REPLACE INTO _caselog_projection VALUES ('log', ?, ?)", (head.position, head.hash))


def _fill(conn: sqlite3.Connection, log: str, events_scope: str, cases_scope: str, params: dict) -> None:
    """Write the case tables' rows of the events in ``events_scope`` (SQL over ``e``), whose
    cases ``cases_scope`` (SQL over ``c``) picks out of the cases table."""
    conn.execute("DELETE FROM temp._override")
    _write_overrides(conn, log, events_scope, params)
    for statement in (_CASES, _HEARINGS, _APPEALS):
        conn.execute(statement.format(log=log, scope=events_scope), params)
    for statement in (_UNITS, _OUTCOMES):
        conn.execute(statement.format(cases=cases_scope), params)


# The two ranges of cases of a full refresh on both cores.
_BEFORE_SPLIT, _FROM_SPLIT = '+e."case" < :split', '+e."case" >= :split'


def split_case(conn: sqlite3.Connection, log: str, events: int, mine: float = _MINE) -> str:
    """The case that ends the first ``mine`` of ``events`` events in (case) order: where a full
    refresh hands the rest of the cases to a second process."""
    row = conn.execute(f'SELECT "case" FROM {log}.events ORDER BY "case" LIMIT 1 OFFSET ?',
                       (int(events * mine),)).fetchone()
    return row[0]


def fill_upper(path: str, rows: str, split: str, scope: Iterable[str] = ("1",), params: dict | None = None) -> figures.Tally:
    """In a second process: the rows of the cases from ``split`` on, of the events in the file
    ``path``, written into the new file ``rows``; returns their tally."""
    conn = scratch(rows)
    try:
        conn.execute("ATTACH DATABASE ? AS log", (path,))
        create(conn)
        conn.execute("CREATE TEMP TABLE _override (event_id TEXT PRIMARY KEY, payload TEXT, retracted INTEGER)")
        conn.execute("BEGIN")
        _fill(conn, "log", " AND ".join([*scope, _FROM_SPLIT]), "1", {**(params or {}), "split": split})
        counts = figures.tally(conn)
        conn.execute("COMMIT")
        return counts
    finally:
        conn.close()


@contextlib.contextmanager
def _spawned(conn: sqlite3.Connection, log: str, scope: list[str], params: dict, path: str, events: int) -> Iterator[Share]:
    """A second process computing the share of a full refresh, reading the events in the file ``path``."""
    import tempfile  # only a long job pays for this import: a clerk's command loads this module too

    split = split_case(conn, log, events, _MINE if log == "main" else _MINE_IN_SCRATCH)
    with tempfile.TemporaryDirectory(prefix="caselog-") as folder, cores.second_process() as pool:
        rows = os.path.join(folder, "apart.db")
        theirs = pool.submit(fill_upper, path, rows, split, scope, params)
        yield Share(split, path, lambda: (rows, theirs.result()))


def _fill_in_two(conn: sqlite3.Connection, log: str, scope: list[str], params: dict, share: Share,
                 then: Callable[[figures.Tally], T]) -> T:
    """A full refresh on both cores: the cases before ``share.split`` computed here, the rest
    by another process; then its rows are copied in.  Returns ``then`` of the tally of all rows,
    run while the rows are copied.  If the other process could not compute its share, it is
    computed here.

    Cases are independent of each other, so the shares are the same SQL over two ranges of cases.
    """
    split = {"split": share.split, **params}
    _fill(conn, log, " AND ".join([*scope, _BEFORE_SPLIT]), "1", split)
    counts = figures.tally(conn)
    theirs = share.rows()
    if theirs is None:
        _fill(conn, log, " AND ".join([*scope, _FROM_SPLIT]), 'c."case" >= :split', split)
        return then(figures.tally(conn))
    rows, found = theirs
    for group, counted in found.items():
        counts.setdefault(group, Counter()).update(counted)
    with _attached(conn, rows, "apart"), ThreadPoolExecutor(1) as thread:
        # SQLite lets go of the GIL while it copies, so ``then`` (Python) runs meanwhile.
        result = thread.submit(then, counts)
        for name in CASE_TABLES:
            conn.execute(f'INSERT INTO "{name}" SELECT * FROM {_SCRATCH}apart."{name}"')
    return result.result()


def _write_overrides(conn: sqlite3.Connection, log: str, scope: str, params: dict) -> None:
    """What corrections and retractions (rare) make of the events they target, for the SQL to read:
    the corrected payload, or a mark that the event is retracted."""
    corrections: dict[str, list[dict]] = defaultdict(list)
    retracted = []
    for type_, payload in conn.execute(
        f"SELECT e.type, e.payload FROM {log}.events e WHERE e.{CORRECTIONS} AND {scope} "
        "ORDER BY e.position", params,
    ):
        data = json.loads(payload)
        if type_ == "event_corrected":
            corrections[data["target"]].append(data["changes"])
        else:
            retracted.append(data["target"])
    rows = [(event_id, None, 1) for event_id in retracted]
    targets = sorted(set(corrections) - set(retracted))
    for start in range(0, len(targets), 500):
        chunk = targets[start:start + 500]
        for event_id, type_, schema_version, payload in conn.execute(
            f"SELECT event_id, type, schema_version, payload FROM {log}.events "
            f"WHERE event_id IN ({', '.join('?' * len(chunk))})", chunk,
        ):
            event = ev.trusted(type_, ev.upcast(type_, schema_version, json.loads(payload)))
            for changes in corrections[event_id]:
                event = rules.apply_changes(event, changes)
            rows.append((event_id, json.dumps(ev.payload(event), ensure_ascii=False), 0))
    conn.executemany("INSERT INTO temp._override VALUES (?, ?, ?)", rows)


def _insert(name: str) -> str:
    return f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(TABLES[name]))})'


_figure_values = operator.itemgetter(*figures.KEYS)


def _stored_series(conn: sqlite3.Connection, series: set[tuple[str, str]] | None) -> Series:
    """The yearly counts stored for ``series`` (every one when None), as {(level, agency): {year: counts}}."""
    counts_cols = ", ".join(map(_quote, figures.COUNTS))
    select = f"SELECT level, agency, year, {counts_cols} FROM yearly_figures"
    if series is None or len(series) > 16:  # one pass over the table, not a scan per series
        found = conn.execute(select)
    else:
        found = (row for key in series for row in conn.execute(select + " WHERE level = ? AND agency = ?", key))
    stored: Series = defaultdict(dict)
    for row in found:
        if series is None or (row[0], row[1]) in series:
            stored[(row[0], row[1])][row[2]] = Counter(dict(zip(figures.COUNTS, row[3:])))
    return stored


def _yearly_rows(moved: figures.Tally, stored: Series) -> tuple[list[tuple], list[tuple]]:
    """The counts' changes added to the stored series, every touched series derived again (rates,
    changes, streaks): (the stored rows to delete, the rows to write)."""
    changes: Series = defaultdict(dict)
    for (year, level, agency), change in moved.items():
        changes[(level, agency)][year] = change
    deleted = [(year, level, agency) for (level, agency) in changes for year in stored.get((level, agency), ())]
    rows = []
    for (level, agency), moves in changes.items():
        series = stored.get((level, agency), {})
        for year, counts in moves.items():
            series.setdefault(year, Counter()).update(counts)
        derived = figures.derive_series(series)
        rows.extend(
            (year, level, agency, *_figure_values(derived[year]))
            for year in sorted(series) if figures.active(series[year])
        )
    return deleted, rows


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Every projection table's rows, sorted: what ``differences`` compares."""
    return {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in TABLES}


def differences(conn: sqlite3.Connection, rebuilt: str) -> list[str]:
    """The tables whose rows differ from those of the database file ``rebuilt``, compared in SQL:
    a row matches when the other side holds the same key with the same values."""
    out = []
    with _attached(conn, rebuilt, "rebuilt"):
        for name, keys in PRIMARY_KEYS.items():
            on = " AND ".join(f"a.{_quote(k)} = b.{_quote(k)}" for k in keys)
            same = " AND ".join(f"a.{_quote(c)} IS b.{_quote(c)}" for c in TABLES[name] if c not in keys) or "1"
            (mine,) = conn.execute(f'SELECT count(*) FROM main."{name}"').fetchone()
            (theirs,) = conn.execute(f'SELECT count(*) FROM {_SCRATCH}rebuilt."{name}"').fetchone()
            (matched,) = conn.execute(
                f'SELECT count(*) FROM main."{name}" a JOIN {_SCRATCH}rebuilt."{name}" b ON {on} WHERE {same}'
            ).fetchone()
            if mine != matched or theirs != matched:
                out.append(f"{name}: {mine - matched} row(s) not in a rebuild, {theirs - matched} missing")
    return out


# A scratch database that a transaction has read (a second process's rows, a rebuild to compare with)
# cannot be detached before the transaction ends; the store lets it go then.
_SCRATCH = "_scratch_"


@contextlib.contextmanager
def _attached(conn: sqlite3.Connection, path: str, name: str) -> Iterator[None]:
    """``path`` attached as a scratch database named ``name``, detached after use or, inside a
    transaction, by ``let_go_of_scratch`` when it ends."""
    name = _SCRATCH + name
    conn.execute(f"ATTACH DATABASE ? AS {name}", (path,))
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute(f"DETACH DATABASE {name}")


def let_go_of_scratch(conn: sqlite3.Connection) -> None:
    for _, name, _ in conn.execute("PRAGMA database_list").fetchall():
        if name.startswith(_SCRATCH):
            conn.execute(f"DETACH DATABASE {name}")
