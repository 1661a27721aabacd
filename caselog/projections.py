"""Read models: tables computed from the log, never edited by hand.

Appends, imports and the rebuild all feed events through one ``Projector``:
hearings are written as they arrive; each touched case's rows (case, units,
outcome, appeals) are rewritten from its state when the transaction ends, and
the yearly figures move by the difference the case made.  ``rebuild`` is the
same path fed from position 1, so the two cannot disagree; ``differences``
checks that they do not.
"""

from __future__ import annotations

import gc
import sqlite3
from collections import Counter, defaultdict
from typing import Callable, Iterable

from caselog import events as ev
from caselog import figures, rules

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
PRIMARY_KEYS = {
    "cases": ("case",), "hearings": ("event_id",), "appearance_units": ("case", "level"),
    "outcomes": ("case",), "appeals": ("case", "seq"), "yearly_figures": ("year", "level", "agency"),
    "_caselog_projection": ("name",),
}
INDEXES = {
    "hearings": [("case",), ("year", "level")],
    "appearance_units": [("year", "agency")],
    "outcomes": [("year", "agency")],
    "cases": [("agency",), ("year",)],
}
FLUSH_CASES = 50_000  # touched cases a projector holds before writing their rows: bounds a big import's memory
CASE_TABLES = ("cases", "appearance_units", "outcomes", "appeals")


def _quote(name: str) -> str:
    return f'"{name}"'


def create(conn: sqlite3.Connection) -> None:
    for name, columns in TABLES.items():
        cols = ", ".join(f"{_quote(c)} {t}" for c, t in columns.items())
        pk = ", ".join(map(_quote, PRIMARY_KEYS[name]))
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({cols}, PRIMARY KEY ({pk}))')
        for index in INDEXES.get(name, ()):
            conn.execute(
                f'CREATE INDEX IF NOT EXISTS "idx_{name}_{"_".join(index)}" ON "{name}" ({", ".join(map(_quote, index))})'
            )


def drop(conn: sqlite3.Connection) -> None:
    for name in TABLES:
        conn.execute(f'DROP TABLE IF EXISTS "{name}"')


def hearing_row(case: str, event_id: str, hearing: ev.HearingHeld) -> tuple:
    head = hearing.attendance in ev.HEADS
    return (event_id, case, hearing.held_on, int(hearing.held_on[:4]), hearing.level, hearing.attendance,
            int(head), None if hearing.spoke is None else int(hearing.spoke), hearing.official,
            hearing.title, hearing.excuse)


def case_rows(state: rules.CaseState) -> dict[str, list[dict]]:
    """The rows a case contributes to each case-level table: the figures' definitions live here."""
    filed = state.filed
    if filed is None:
        return {name: [] for name in CASE_TABLES}
    agency = filed.agency
    units = []
    for level in ev.LEVELS:
        unit = state.units.get(level)
        if unit is None:
            continue
        attendance = unit.attendance
        head = attendance in ev.HEADS
        units.append({
            "case": state.case, "level": level, "agency": agency, "year": int(unit.first_held_on[:4]),
            "first_held_on": unit.first_held_on, "hearings": unit.hearings, "attendance": attendance,
            "head": int(head), "spoke": int(head and unit.spoke), "silent": int(head and not unit.spoke),
            "excused": int(unit.excused),
            # art. 12: a judicial recommendation is expected
            "recommendation_expected": int(
                attendance in ("lawyer_only", "none") or (attendance == "staff" and not unit.excused)
            ),
        })
    outcomes = []
    if state.concluded_on is not None:
        first_loss = state.first_disposition in ev.LOSS_SET
        loss = state.disposition in ev.LOSS_SET
        outcomes.append({
            "case": state.case, "agency": agency, "year": int(state.concluded_on[:4]),
            "concluded_on": state.concluded_on, "first_disposition": state.first_disposition,
            "disposition": state.disposition, "first_loss": int(first_loss), "loss": int(loss),
            "reduced_on_appeal": int(first_loss and not loss), "added_on_appeal": int(loss and not first_loss),
            "merits_judgment": int(state.disposition in ev.MERITS_SET),
            "withdrawn_after_change": int(state.disposition == "withdrawn_after_change"),
        })
    appeals = [
        {"case": state.case, "seq": seq, "level": "second", "appeal_case": a.appeal_case, "filed_on": a.filed_on,
         "appellant": a.appellant, "decided_on": a.decided_on, "result": a.result, "disposition": a.disposition}
        for seq, a in enumerate(state.appeals, 1)
    ] + [
        {"case": state.case, "seq": len(state.appeals) + seq, "level": "retrial", "appeal_case": None,
         "filed_on": None, "appellant": None, "decided_on": decided_on, "result": result, "disposition": disposition}
        for seq, (decided_on, result, disposition) in enumerate(state.retrials, 1)
    ]
    return {
        "cases": [{
            "case": state.case, "year": int(filed.filed_on[:4]), "filed_on": filed.filed_on, "court": filed.court,
            "agency": agency, "cause": filed.cause, "plaintiff": filed.plaintiff, "field": filed.field,
            "status": state.status, "concluded_on": state.concluded_on,
            "first_disposition": state.first_disposition, "disposition": state.disposition,
            "appeals": len(state.appeals), "remands": state.remands, "version": state.version,
        }],
        "appearance_units": units,
        "outcomes": outcomes,
        "appeals": appeals,
    }


class Projector:
    """Keeps the read models in step with events appended in the current transaction."""

    def __init__(self, conn: sqlite3.Connection, history: Callable[[str, int], list[ev.Recorded]]):
        self.conn = conn
        self.history = history  # (case, before position) -> the case's earlier events
        self.before: dict[str, rules.CaseState] = {}  # touched case -> its state when first touched
        self.after: dict[str, rules.CaseState] = {}
        self.moves: dict[tuple[str, str], dict[int, list[int]]] = defaultdict(dict)  # (level, agency) -> year -> counts

    def apply(self, before: rules.CaseState, after: rules.CaseState, rec: ev.Recorded, in_order: bool) -> None:
        case = rec.case
        self.before.setdefault(case, before)
        self.after[case] = after
        if in_order:
            if rec.type == "hearing_held":
                self.conn.execute(_insert("hearings"), hearing_row(case, rec.event_id, rec.event))
        else:
            self._rewrite_hearings(case, rec.position)
        if len(self.after) >= FLUSH_CASES:
            self._write_cases()

    def _rewrite_hearings(self, case: str, position: int) -> None:
        # A correction, retraction or back-dated event can change any hearing of the case.
        self.conn.execute('DELETE FROM hearings WHERE "case" = ?', (case,))
        standing = rules.effective(self.history(case, position + 1), check=False)
        self.conn.executemany(
            _insert("hearings"),
            [hearing_row(case, eid, event) for eid, _, event in standing if event.TYPE == "hearing_held"],
        )

    def flush(self, head) -> None:
        """At the end of the transaction: the touched cases' rows, the yearly figures, the head."""
        self._write_cases()
        _move_yearly_figures(self.conn, self.moves)
        self.moves.clear()
        self.conn.execute("INSERT OR REPLACE INTO _caselog_projection VALUES ('log', ?, ?)", (head.position, head.hash))

    def _write_cases(self) -> None:
        """Rewrite the touched cases' rows and keep the counts they moved, to be derived once at the end."""
        conn = self.conn
        added: dict[str, list[dict]] = {name: [] for name in CASE_TABLES}
        removed: dict[str, list[dict]] = {name: [] for name in CASE_TABLES}
        stale = []
        for case, after in self.after.items():
            old = case_rows(self.before[case])
            if any(old.values()):
                stale.append((case,))
                for name in CASE_TABLES:
                    removed[name].extend(old[name])
            for name, rows in case_rows(after).items():
                added[name].extend(rows)
        inserts = {name: [tuple(row.values()) for row in rows] for name, rows in added.items()}
        delta = figures.tally(added["cases"], added["appearance_units"], added["outcomes"])
        if stale:
            delta.subtract(figures.tally(removed["cases"], removed["appearance_units"], removed["outcomes"]))
        for name in CASE_TABLES:
            conn.executemany(f'DELETE FROM "{name}" WHERE "case" = ?', stale)
            conn.executemany(_insert(name), inserts[name])
        for (year, level, agency, key), n in delta.items():
            if n:
                counts = self.moves[(level, agency)].get(year)
                if counts is None:
                    counts = self.moves[(level, agency)][year] = [0] * len(figures.COUNTS)
                counts[_COUNT_INDEX[key]] += n
        self.before.clear()
        self.after.clear()


def _insert(name: str) -> str:
    return f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(TABLES[name]))})'


_COUNT_INDEX = {name: i for i, name in enumerate(figures.COUNTS)}


def _move_yearly_figures(conn: sqlite3.Connection, changes: dict[tuple[str, str], dict[int, list[int]]]) -> None:
    """Add the counts' changes, then derive every touched series again (rates, changes, streaks)."""
    counts_cols = ", ".join(map(_quote, figures.COUNTS))
    select = f"SELECT level, agency, year, {counts_cols} FROM yearly_figures"
    if len(changes) > 16:  # a bulk flush: one pass over the table, not a scan per series
        found = conn.execute(select)
    else:
        found = (row for key in changes for row in conn.execute(select + " WHERE level = ? AND agency = ?", key))
    stored: dict[tuple[str, str], dict[int, Counter]] = defaultdict(dict)
    for row in found:
        if (row[0], row[1]) in changes:
            stored[(row[0], row[1])][row[2]] = Counter(dict(zip(figures.COUNTS, row[3:])))
    conn.executemany("DELETE FROM yearly_figures WHERE year = ? AND level = ? AND agency = ?",
                     [(year, level, agency) for (level, agency), series in stored.items() for year in series])
    rows = []
    for (level, agency), moves in changes.items():
        series = stored.get((level, agency), {})
        for year, counts in moves.items():
            series.setdefault(year, Counter()).update(dict(zip(figures.COUNTS, counts)))
        derived = figures.derive_series(series)
        rows.extend(
            (year, level, agency, *(derived[year][k] for k in figures.KEYS))
            for year in sorted(series) if figures.active(series[year])
        )
    conn.executemany(_insert("yearly_figures"), rows)


def project(conn: sqlite3.Connection, recs: Iterable[ev.Recorded], head,
            history: Callable[[str, int], list[ev.Recorded]], progress: Callable[[int], None] | None = None) -> None:
    """Feed trusted logged events, in log order, through a Projector: the rebuild and the as-of view.

    ``head`` is the chain head the result reflects; ``history(case, before)``
    loads a case's events logged before a position.
    """
    projector = Projector(conn, history)
    states = rules.StateCache(lambda case, before: rules.fold(case, history(case, before)))
    n = 0
    collecting = gc.isenabled()
    gc.disable()  # millions of live states and no reference cycles: full collections only cost time
    try:
        for n, rec in enumerate(recs, 1):
            state = states.take(rec.case, rec.position)
            new = rules.evolve(state, rec, lambda: history(rec.case, rec.position))
            projector.apply(state, new, rec, rules.in_order(state, rec.event))
            states.put(rec.case, new)
            if progress is not None and n % 50_000 == 0:
                progress(n)
        if n:  # an empty log has no projection head, like a new database
            projector.flush(head)
    finally:
        if collecting:
            gc.enable()


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Every projection table's rows, sorted: what ``differences`` compares."""
    return {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in TABLES}


def differences(live: sqlite3.Connection, fresh: sqlite3.Connection) -> list[str]:
    """The tables whose rows differ between two databases, walked side by side in key order."""
    out = []
    for name, keys in PRIMARY_KEYS.items():
        width = len(keys)
        sql = f'SELECT * FROM "{name}" ORDER BY ' + ", ".join(map(_quote, keys))
        mine, theirs = live.execute(sql), fresh.execute(sql)
        a, b = next(mine, None), next(theirs, None)
        extra = missing = 0
        while a is not None or b is not None:
            if b is None or (a is not None and a[:width] < b[:width]):
                extra, a = extra + 1, next(mine, None)
            elif a is None or b[:width] < a[:width]:
                missing, b = missing + 1, next(theirs, None)
            else:
                if a != b:
                    extra, missing = extra + 1, missing + 1
                a, b = next(mine, None), next(theirs, None)
        if extra or missing:
            out.append(f"{name}: {extra} row(s) not in a rebuild, {missing} missing")
    return out
