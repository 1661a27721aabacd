"""Read models: tables computed from the log, never edited by hand, thrown away at will.

``refresh`` is the one way rows get here: it recomputes the rows of a set of
cases from the log in set-based SQL, in this process (``recompute``), and moves
the yearly figures by the difference it made (``settle``).  Appends and imports
refresh the cases they touched inside their own transaction; a rebuild, a verify
and the as-of view refresh every case (``caselog.parallel`` may recompute two
ranges of cases at once, ``absorb`` the other range's rows, and settle both
moves together).

Each refresh ends by sealing the yearly figures with a digest that their readers
check (``sealed_yearly``), so that figures edited in the file are refused.

The tables carry a fingerprint of their schema and of the code that fills them
(``FINGERPRINT``); a log whose projections were made by other code has them
rebuilt before it is read (``caselog.opening``).

The SQL below is where a case's standing is read from its events: corrections
applied, retractions dropped, steps replayed in business-date order.
``figures.tally`` counts the rows; ``differences`` checks a database against a rebuild.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

import attrs

from caselog import agencies, chain, database, figures, rules
from caselog import events as ev
from caselog.chain import Head
from caselog.errors import TamperError

# Column name -> SQL type; the first columns listed in PRIMARY_KEYS are the key.
_UNIT = {
    "year": "INTEGER", "first_held_on": "TEXT", "hearings": "INTEGER", "attendance": "TEXT", "head": "INTEGER",
    "spoke": "INTEGER", "silent": "INTEGER", "excused": "INTEGER", "head_left_or_refused": "INTEGER",
    "recommendation_expected": "INTEGER",
}
_OUTCOME = {
    "year": "INTEGER", "concluded_on": "TEXT", "first_disposition": "TEXT", "disposition": "TEXT",
    "first_loss": "INTEGER", "loss": "INTEGER", "reduced_on_appeal": "INTEGER", "added_on_appeal": "INTEGER",
    "merits_judgment": "INTEGER", "withdrawn_after_change": "INTEGER",
}
_DEFENDANT = {"case": "TEXT", "agency": "TEXT", "role": "TEXT", "added_on": "TEXT", "year": "INTEGER", "filed_on": "TEXT"}
_DEFENDANT_UNIT = {"case": "TEXT", "level": "TEXT", "agency": "TEXT", "role": "TEXT", **_UNIT}
_DEFENDANT_OUTCOME = {"case": "TEXT", "agency": "TEXT", "role": "TEXT", **_OUTCOME}

# Column name -> SQL type; the first columns listed in PRIMARY_KEYS are the key.
TABLES: dict[str, dict[str, str]] = {
    "cases": {
        "case": "TEXT", "year": "INTEGER", "filed_on": "TEXT", "court": "TEXT", "agency": "TEXT",
        "defendants": "INTEGER", "cause": "TEXT", "plaintiff": "TEXT", "field": "TEXT", "status": "TEXT",
        "concluded_on": "TEXT", "first_disposition": "TEXT", "disposition": "TEXT", "appeals": "INTEGER",
        "remands": "INTEGER", "version": "INTEGER",
        # Per-defendant outcomes that differ from the two dispositions above (JSON objects), and
        # whether a reversal after the standing conclusion decides the effective outcome.
        "first_dispositions": "TEXT", "reversed": "INTEGER", "reversal_dispositions": "TEXT",
    },
    # A hearing is named by its event's position in the log: its 36-character id took 11 bytes an event.
    "hearings": {
        "position": "INTEGER", "case": "TEXT", "held_on": "TEXT", "year": "INTEGER", "level": "TEXT",
        "agency": "TEXT", "attendance": "TEXT", "head": "INTEGER", "spoke": "INTEGER", "official": "TEXT",
        "title": "TEXT", "excuse": "TEXT", "excuse_rejected": "INTEGER", "left_early": "INTEGER",
        "refused_to_explain": "INTEGER",
    },
    # One case at one level (art. 7), whichever defendants attended: the city's unit of count.
    "appearance_units": {"case": "TEXT", "level": "TEXT", "agency": "TEXT", "defendants": "INTEGER", **_UNIT},
    # A case's outcome for the city: a loss when any defendant lost.
    "outcomes": {"case": "TEXT", "agency": "TEXT", "defendants": "INTEGER", **_OUTCOME},
    # The defendants, units and outcomes of the cases with several defendants, each defendant's own.
    "multi_defendants": _DEFENDANT,
    "multi_defendant_units": _DEFENDANT_UNIT,
    "multi_defendant_outcomes": _DEFENDANT_OUTCOME,
    "appeals": {
        "case": "TEXT", "seq": "INTEGER", "level": "TEXT", "appeal_case": "TEXT", "filed_on": "TEXT",
        "appellant": "TEXT", "decided_on": "TEXT", "result": "TEXT", "disposition": "TEXT",
    },
    "yearly_figures": {
        "year": "INTEGER", "level": "TEXT", "agency": "TEXT",
        **{key: "INTEGER" for key in figures.COUNTS},
        **figures.DERIVED_TYPES,
    },
    **agencies.TABLES,
    "_caselog_projection": {"name": "TEXT", "position": "INTEGER", "hash": "TEXT"},
}
# Hearings are keyed by case first: a refresh deletes and reads them a case at a time.
PRIMARY_KEYS = {
    "cases": ("case",), "hearings": ("case", "position"), "appearance_units": ("case", "level"),
    "outcomes": ("case",), "multi_defendants": ("case", "agency"), "multi_defendant_units": ("case", "level", "agency"),
    "multi_defendant_outcomes": ("case", "agency"), "appeals": ("case", "seq"),
    "yearly_figures": ("year", "level", "agency"), **agencies.PRIMARY_KEYS, "_caselog_projection": ("name",),
}
CASE_TABLES = ("cases", "hearings", "appearance_units", "outcomes", "multi_defendants", "multi_defendant_units",
               "multi_defendant_outcomes", "appeals")

# Every defendant of every case, each with its units and outcomes: the agencies' unit of count.  Seven
# cases in eight have one defendant, whose rows are the city's own (``defendants = 1``); storing them
# twice cost 66 bytes an event and a sixth of a full refresh, so these are views, and only the cases
# with several defendants have rows of their own (``multi_*``).
VIEWS: dict[str, tuple[dict[str, str], str]] = {
    "defendants": (_DEFENDANT, """
        SELECT "case", agency, NULL, NULL, year, filed_on FROM cases WHERE defendants = 1
        UNION ALL SELECT * FROM multi_defendants"""),
    "defendant_units": (_DEFENDANT_UNIT, f"""
        SELECT "case", level, agency, NULL, {", ".join(_UNIT)} FROM appearance_units WHERE defendants = 1
        UNION ALL SELECT * FROM multi_defendant_units"""),
    "defendant_outcomes": (_DEFENDANT_OUTCOME, f"""
        SELECT "case", agency, NULL, {", ".join(_OUTCOME)} FROM outcomes WHERE defendants = 1
        UNION ALL SELECT * FROM multi_defendant_outcomes"""),
}
Series = dict[tuple[str, str], dict[int, Counter]]  # {(level, agency): {year: counts}}


def _quote(name: str) -> str:
    return f'"{name}"'


# Secondary indexes, for the reviewers' pages only: grouping a table by agency (its facet, on
# the table pages and the dashboard's drill-downs) sorted 2,400 agencies' rows, 80 ms a page at a
# million events; by an index, 10 ms.  Indexes on the other facet and sort columns made pages no
# faster than 0.3 s needs and took 270 bytes an event.  Each costs every refresh its upkeep.
INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "cases": (("agency",),), "appearance_units": (("agency",),), "outcomes": (("agency",),),
}


def create(conn: sqlite3.Connection) -> None:
    """Every projection table, empty, stamped with this code's fingerprint."""
    for name, columns in TABLES.items():
        cols = ", ".join(f"{_quote(c)} {t}" for c, t in columns.items())
        pk = ", ".join(map(_quote, PRIMARY_KEYS[name]))
        # WITHOUT ROWID: each row is stored once, in its key's b-tree, not again in an index of the key.
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({cols}, PRIMARY KEY ({pk})) WITHOUT ROWID')
        for indexed in INDEXES.get(name, ()):
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{name}_{"_".join(indexed)}" '
                         f'ON "{name}" ({", ".join(map(_quote, indexed))})')
    for name, (columns, sql) in VIEWS.items():
        conn.execute(f'CREATE VIEW IF NOT EXISTS "{name}" ({", ".join(map(_quote, columns))}) AS {sql}')
    conn.execute("INSERT OR REPLACE INTO _caselog_projection VALUES ('fingerprint', NULL, ?)", (fingerprint(),))


def drop(conn: sqlite3.Connection) -> None:
    """Every table and view that is not the log's own: the projections of this code, or of any other."""
    found = conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') "
                         "AND name NOT LIKE 'sqlite%' ORDER BY type = 'table'").fetchall()
    for type_, name in found:
        if name not in database.LOG_TABLES:
            conn.execute(f'DROP {type_.upper()} "{name}"')


# --- which code made the projections ------------------------------------------------

# The modules whose code decides what the rows hold: the SQL and its vocabulary, the figures, the
# corrections' rules.  Any change to them makes the stored rows suspect, so their text is hashed.
_FILLED_BY = ("projections.py", "figures.py", "rules.py", "events.py", "agencies.py")


def fingerprint() -> str:
    """A digest of the projection schema and the code that fills it."""
    digest = hashlib.sha256(json.dumps([TABLES, PRIMARY_KEYS, VIEWS, figures.COUNTED, list(figures.KEYS)],
                                       sort_keys=True).encode())
    here = Path(__file__).parent
    for name in _FILLED_BY:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def stored_fingerprint(conn: sqlite3.Connection) -> str | None:
    """The fingerprint the projections were made with; None if there are none, or made before fingerprints."""
    try:
        row = conn.execute("SELECT hash FROM _caselog_projection WHERE name = 'fingerprint'").fetchone()
    except sqlite3.OperationalError:  # no projections at all
        return None
    return row[0] if row else None


def projection_head(conn: sqlite3.Connection) -> Head:
    """The chain head the projections reflect."""
    row = conn.execute("SELECT position, hash FROM _caselog_projection WHERE name = 'log'").fetchone()
    return Head(row[0], row[1], "") if row else Head(0, "0" * 64, "")


# --- the SQL ---------------------------------------------------------------------------
# Templates are plain strings, put together from pieces and filled by ``_sql`` alone: the
# vocabulary below, and per call the schema holding ``events`` ({log}) and the SQL choosing the
# events ({scope}, over ``e``) or the cases ({cases}, over ``c``) a refresh recomputes.


def _values(names: Iterable[str]) -> str:
    """An SQL list of vocabulary words (which never hold a quote)."""
    return "(" + ", ".join(f"'{name}'" for name in names) + ")"


def _date_of_type() -> str:
    return "CASE type " + " ".join(
        f"WHEN '{kind}' THEN json_extract(payload, '$.{name}')"
        for kind, fields in ev.FIELDS.items() for name in fields if name in ev.DATE_FIELDS
    ) + " END"


_VOCABULARY = {
    "heads": _values(ev.HEADS),
    "losses": _values(ev.LOSSES),
    "merits": _values(sorted(ev.MERITS_SET)),
    "rank": "CASE h.attendance " + " ".join(f"WHEN '{a}' THEN {r}" for a, r in ev.ATTENDANCE_RANK.items()) + " END",
    "attendance_of_rank": "CASE best_rank " + " ".join(f"WHEN {r} THEN '{a}'" for a, r in ev.ATTENDANCE_RANK.items()) + " END",
    "date": _date_of_type(),
    "none_rank": str(ev.ATTENDANCE_RANK["none"]),
}


def _sql(template: str, **parts: str) -> str:
    return template.format(**_VOCABULARY, **parts)


def _standing(types: str) -> str:
    """The events of ``types`` that stand, corrections applied."""
    # ``+e."case"`` keeps SQLite from walking the (case, version) index to spare a sort: that costs a
    # random read of the table per row.
    return f"""
    SELECT +e."case" AS "case", e.position, e.event_id, e.type, coalesce(o.payload, e.payload) AS payload
    FROM {{log}}.events e LEFT JOIN temp._override o ON o.event_id = e.event_id
    WHERE e.type IN {types} AND o.retracted IS NOT 1 AND {{scope}}
"""


_HEARINGS = """
INSERT INTO hearings
WITH standing AS (""" + _standing("('hearing_held')") + """),
fields AS (
    SELECT position, "case", json_extract(payload, '$.held_on') AS held_on,
           coalesce(json_extract(payload, '$.level'), 'first') AS level,
           json_extract(payload, '$.attendance') AS attendance, json_extract(payload, '$.spoke') AS spoke,
           json_extract(payload, '$.official') AS official, json_extract(payload, '$.title') AS title,
           json_extract(payload, '$.excuse') AS excuse, json_extract(payload, '$.agency') AS agency,
           json_extract(payload, '$.excuse_rejected') AS excuse_rejected,
           json_extract(payload, '$.left_early') AS left_early,
           json_extract(payload, '$.refused_to_explain') AS refused_to_explain
    FROM standing
)
SELECT position, "case", held_on, CAST(substr(held_on, 1, 4) AS INTEGER), level, agency, attendance,
       attendance IN {heads}, spoke, official, title, excuse, excuse_rejected, left_early, refused_to_explain
FROM fields ORDER BY "case", position
"""

# A case's filing, then its steps (conclusions, appeals, decisions and added defendants) replayed in
# business-date order, each knowing what comes after it.  The standing conclusion is the latest one not
# undone by a later remand: a conclusion with no conclusion and no remand after it.  Its disposition
# gives way to that of the latest reversal after it: a reversal with no reversal and no conclusion
# after it.  An appeal is pending when no appeal decision comes after it.
_CASES = """
INSERT INTO cases
WITH filings AS (""" + _standing("('case_filed')") + """),
steps AS (""" + _standing(_values(("case_concluded", "appeal_filed", "appeal_decided", "retrial_decided",
                                   "defendant_added"))) + """),
fields AS (
    SELECT "case", position, type, {date} AS date, json_extract(payload, '$.disposition') AS disposition,
           json_extract(payload, '$.dispositions') AS dispositions, json_extract(payload, '$.result') AS result
    FROM steps
),
replayed AS (
    SELECT *, total(type = 'case_concluded') OVER later AS conclusions_after,
              total(result = 'remanded') OVER later AS remands_after,
              total(result = 'reversed') OVER later AS reversals_after,
              total(type = 'appeal_decided') OVER later AS appeal_decisions_after
    FROM fields
    WINDOW later AS (PARTITION BY "case" ORDER BY date, position ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
),
marked AS (
    SELECT *, type = 'case_concluded' AND NOT conclusions_after AND NOT remands_after AS standing_conclusion,
              result = 'reversed' AND NOT reversals_after AND NOT conclusions_after AS last_reversal
    FROM replayed
),
per_case AS (
    SELECT "case",
           max(standing_conclusion) AS concluded,
           max(last_reversal) AS reversed_after,
           max(type = 'appeal_filed' AND NOT appeal_decisions_after) AS appeal_pending,
           sum(type = 'appeal_filed') AS appeals, sum(result = 'remanded') AS remands,
           sum(type = 'defendant_added') AS added,
           max(CASE WHEN standing_conclusion THEN date END) AS concluded_on,
           max(CASE WHEN standing_conclusion THEN disposition END) AS disposition,
           max(CASE WHEN standing_conclusion THEN dispositions END) AS dispositions,
           max(CASE WHEN last_reversal THEN disposition END) AS reversal_disposition,
           max(CASE WHEN last_reversal THEN dispositions END) AS reversal_dispositions
    FROM marked GROUP BY "case"
),
effective AS (SELECT *, coalesce(concluded AND reversed_after, 0) AS reversed FROM per_case)
SELECT f."case", CAST(substr(json_extract(f.payload, '$.filed_on'), 1, 4) AS INTEGER),
       json_extract(f.payload, '$.filed_on'), json_extract(f.payload, '$.court'),
       json_extract(f.payload, '$.agency'),
       1 + coalesce(json_array_length(f.payload, '$.co_defendants'), 0) + coalesce(s.added, 0),
       json_extract(f.payload, '$.cause'), json_extract(f.payload, '$.plaintiff'), json_extract(f.payload, '$.field'),
       CASE WHEN NOT coalesce(s.concluded, 0) THEN CASE WHEN s.remands > 0 THEN 'remanded' ELSE 'open' END
            WHEN s.appeal_pending THEN 'on_appeal'
            ELSE 'concluded' END,
       s.concluded_on, s.disposition, CASE WHEN s.reversed THEN s.reversal_disposition ELSE s.disposition END,
       coalesce(s.appeals, 0), coalesce(s.remands, 0),
       (SELECT count(*) FROM {log}.events e WHERE e."case" = f."case" AND {scope}),
       s.dispositions, coalesce(s.reversed, 0), CASE WHEN s.reversed THEN s.reversal_dispositions END
FROM filings f
LEFT JOIN effective s ON s."case" = f."case"
ORDER BY f."case"
"""

_SEVERAL = 'SELECT "case" FROM cases WHERE defendants > 1'
# Every defendant of a case with several: the first, those named with it, and those the court added.
_MULTI_DEFENDANTS = """
INSERT INTO multi_defendants
WITH standing AS (""" + _standing("('case_filed', 'defendant_added')") + """),
named AS (
    SELECT "case", json_extract(payload, '$.agency') AS agency, NULL AS role, NULL AS added_on
    FROM standing WHERE type = 'case_filed'
    UNION ALL
    SELECT s."case", json_extract(d.value, '$.agency'), json_extract(d.value, '$.role'), NULL
    FROM standing s, json_each(s.payload, '$.co_defendants') d WHERE s.type = 'case_filed'
    UNION ALL
    SELECT "case", json_extract(payload, '$.agency'), json_extract(payload, '$.role'), json_extract(payload, '$.added_on')
    FROM standing WHERE type = 'defendant_added'
)
SELECT n."case", n.agency, n.role, n.added_on, c.year, c.filed_on
FROM named n JOIN cases c ON c."case" = n."case"
WHERE c.defendants > 1
ORDER BY n."case", n.agency
"""

# A unit's attendance is the best over its hearings; it "spoke" when a head spoke at any.  Art. 12 expects
# a judicial recommendation when only a lawyer or nobody came; when staff came, unless every hearing gave
# an excuse the court did not reject (a postponement for a good reason, then another absence without one,
# is art. 12(2)); and when a head left early or refused to explain.
_UNIT_OF_HEARINGS = """
    count(*) AS hearings, max({rank}) AS best_rank, max(coalesce(h.spoke, 0)) AS spoke,
    min(h.excuse IS NOT NULL AND NOT coalesce(h.excuse_rejected, 0)) AS excused,
    max(h.head AND (coalesce(h.left_early, 0) OR coalesce(h.refused_to_explain, 0))) AS left_or_refused
"""
_UNIT_FIGURES = """
    attendance IN {heads}, attendance IN {heads} AND spoke, attendance IN {heads} AND NOT spoke, excused,
    left_or_refused,
    attendance IN ('lawyer_only', 'none') OR (attendance = 'staff' AND NOT excused) OR left_or_refused
"""

# The city's unit: one case at one level (art. 7), over every defendant's hearings (art. 3: co-defendants
# may agree which head appears).
_UNITS = """
INSERT INTO appearance_units
WITH units AS (
    SELECT h."case", h.level, c.agency, c.defendants, min(h.held_on) AS first_held_on, """ + _UNIT_OF_HEARINGS + """
    FROM hearings h JOIN cases c ON c."case" = h."case"
    WHERE {cases}
    GROUP BY h."case", h.level
),
named AS (SELECT *, {attendance_of_rank} AS attendance FROM units)
SELECT "case", level, agency, defendants, CAST(substr(first_held_on, 1, 4) AS INTEGER), first_held_on, hearings,
       attendance, """ + _UNIT_FIGURES + """
FROM named  -- already in (case, level) order, from the GROUP BY: no second sort
"""

# Each defendant's unit, for every level at which the case was heard, in the year of the case's first
# hearing there; a defendant none of whose hearings is recorded counts as absent.  A hearing that names no
# defendant is the first defendant's (a case with several must name one, but it may have been heard before
# the court added the second).
_MULTI_DEFENDANT_UNITS = """
INSERT INTO multi_defendant_units
WITH attended AS (
    SELECT h."case", h.level, coalesce(h.agency, c.agency) AS agency, """ + _UNIT_OF_HEARINGS + """
    FROM hearings h JOIN cases c ON c."case" = h."case"
    WHERE {cases} AND c.defendants > 1
    GROUP BY h."case", h.level, coalesce(h.agency, c.agency)
),
named AS (
    SELECT u."case", u.level, d.agency, d.role, u.year, u.first_held_on, coalesce(a.hearings, 0) AS hearings,
           coalesce(a.best_rank, {none_rank}) AS best_rank, coalesce(a.spoke, 0) AS spoke, coalesce(a.excused, 0) AS excused,
           coalesce(a.left_or_refused, 0) AS left_or_refused
    FROM appearance_units u JOIN multi_defendants d ON d."case" = u."case"
    LEFT JOIN attended a ON a."case" = u."case" AND a.level = u.level AND a.agency = d.agency
    WHERE {units}
),
ranked AS (SELECT *, {attendance_of_rank} AS attendance FROM named)
SELECT "case", level, agency, role, year, first_held_on, hearings, attendance, """ + _UNIT_FIGURES + """
FROM ranked ORDER BY "case", level, agency
"""

# Each defendant's outcome: its own entry in the conclusion's dispositions, else the disposition; after
# a reversal, its entry in the reversal's, else the reversal's disposition.
_DECIDED = """
    SELECT c."case", d.agency, d.role, c.concluded_on,
           coalesce(f.value, c.first_disposition) AS first_disposition,
           CASE WHEN c.reversed THEN coalesce(r.value, c.disposition)
                ELSE coalesce(f.value, c.first_disposition) END AS disposition
    FROM cases c JOIN {defendants} d ON d."case" = c."case"
    LEFT JOIN json_each(c.first_dispositions) f ON f.key = d.agency
    LEFT JOIN json_each(c.reversal_dispositions) r ON r.key = d.agency
    WHERE c.concluded_on IS NOT NULL AND {cases}
"""
_FLAGGED = """
flagged AS (
    SELECT *, first_disposition IN {losses} AS first_loss, disposition IN {losses} AS loss,
           disposition IN {merits} AS merits_judgment, disposition = 'withdrawn_after_change' AS withdrawn_after_change
    FROM decided
)"""
_REDUCED_OR_ADDED = "first_loss AND NOT loss, loss AND NOT first_loss"
_MULTI_DEFENDANT_OUTCOMES = """
INSERT INTO multi_defendant_outcomes
WITH decided AS (""" + _DECIDED.replace("{defendants}", "multi_defendants") + """),""" + _FLAGGED + """
SELECT "case", agency, role, CAST(substr(concluded_on, 1, 4) AS INTEGER), concluded_on, first_disposition, disposition,
       first_loss, loss, """ + _REDUCED_OR_ADDED + """, merits_judgment, withdrawn_after_change
FROM flagged ORDER BY "case", agency
"""

# The city's outcome of a case: a first-instance loss when any defendant's first disposition was one, a loss
# when any defendant's effective disposition is; reduced and added compare the two.  A case with one
# defendant has that defendant's own outcome (its dispositions may name it), since its row is also the
# defendant's row in the view defendant_outcomes; a case with several, the case's dispositions and what
# its defendants' rows (multi_defendant_outcomes, refreshed first) add up to.
_OUTCOMES = """
INSERT INTO outcomes
WITH decided AS (""" + _DECIDED.replace("{defendants}", "(SELECT \"case\", agency, NULL AS role FROM cases WHERE defendants = 1)") + """),
""" + _FLAGGED + """,
any_defendant AS (
    SELECT "case", max(first_loss) AS first_loss, max(loss) AS loss, max(merits_judgment) AS merits_judgment,
           max(withdrawn_after_change) AS withdrawn_after_change
    FROM multi_defendant_outcomes c WHERE {cases} GROUP BY "case"
)
SELECT "case", agency, 1, CAST(substr(concluded_on, 1, 4) AS INTEGER), concluded_on, first_disposition, disposition,
       first_loss, loss, """ + _REDUCED_OR_ADDED + """, merits_judgment, withdrawn_after_change
FROM flagged
UNION ALL
SELECT c."case", c.agency, c.defendants, CAST(substr(c.concluded_on, 1, 4) AS INTEGER), c.concluded_on,
       c.first_disposition, c.disposition, a.first_loss, a.loss, """ + _REDUCED_OR_ADDED + """,
       a.merits_judgment, a.withdrawn_after_change
FROM any_defendant a JOIN cases c ON c."case" = a."case"
ORDER BY 1
"""

# Appeals in replay order, each with the decision that follows it; then retrials, numbered on.
_APPEALS = """
INSERT INTO appeals
WITH standing AS (""" + _standing("('appeal_filed', 'appeal_decided', 'retrial_decided')") + """),
steps AS MATERIALIZED (
    SELECT "case", type, position, {date} AS date,
           json_extract(payload, '$.appeal_case') AS appeal_case, json_extract(payload, '$.appellant') AS appellant,
           json_extract(payload, '$.result') AS result, json_extract(payload, '$.disposition') AS disposition
    FROM standing
),
paired AS (
    SELECT "case", type, date, appeal_case, appellant, sum(type = 'appeal_filed') OVER w AS seq,
           lead(type) OVER w AS next_type, lead(date) OVER w AS next_date, lead(result) OVER w AS next_result,
           lead(disposition) OVER w AS next_disposition
    FROM steps WHERE type IN ('appeal_filed', 'appeal_decided')
    WINDOW w AS (PARTITION BY "case" ORDER BY date, position)
)
SELECT "case", seq, 'second', appeal_case, date, appellant,
       CASE WHEN next_type = 'appeal_decided' THEN next_date END,
       CASE WHEN next_type = 'appeal_decided' THEN next_result END,
       CASE WHEN next_type = 'appeal_decided' THEN next_disposition END
FROM paired WHERE type = 'appeal_filed'
UNION ALL
SELECT s."case", c.appeals + row_number() OVER (PARTITION BY s."case" ORDER BY s.date, s.position), 'retrial',
       NULL, NULL, NULL, s.date, s.result, s.disposition
FROM steps s JOIN cases c ON c."case" = s."case"
WHERE s.type = 'retrial_decided'
ORDER BY 1, 2
"""


# --- which cases a refresh recomputes ----------------------------------------------------


@attrs.frozen
class CaseRange:
    """The cases from ``first`` (inclusive) up to ``stop`` (exclusive), in the order of their numbers;
    None leaves that end open."""

    first: str | None = None
    stop: str | None = None

    def sql(self, column: str) -> str:
        bounds = [f"{column} >= :first" if self.first is not None else "",
                  f"{column} < :stop" if self.stop is not None else ""]
        return " AND ".join(b for b in bounds if b) or "1"


EVERY_CASE = CaseRange()


def _scope(conn: sqlite3.Connection, cases: Iterable[str] | CaseRange) -> tuple[CaseRange | None, dict]:
    """Prepare ``cases`` for the SQL: a range as it is, named cases in ``temp._touched``."""
    if isinstance(cases, CaseRange):
        return cases, {"first": cases.first, "stop": cases.stop}
    conn.execute('CREATE TEMP TABLE IF NOT EXISTS _touched ("case" TEXT PRIMARY KEY)')
    conn.execute("DELETE FROM temp._touched")
    conn.executemany("INSERT OR IGNORE INTO temp._touched VALUES (?)", ((case,) for case in cases))
    (low, high), = conn.execute('SELECT min("case"), max("case") FROM temp._touched')
    return None, {"low": low, "high": high}


def _of(scope: CaseRange | None, column: str) -> str:
    if scope is not None:
        return scope.sql(column)
    # The bounds say nothing the list does not, but SQLite moves them, unlike a subquery, into each
    # branch of a view: a clerk's refresh then reads its case of defendant_units through the key
    # instead of every row (0.05 s a statement at a million events).
    return f'{column} BETWEEN :low AND :high AND {column} IN (SELECT "case" FROM temp._touched)'


# --- the refresh ---------------------------------------------------------------------------


def refresh(conn: sqlite3.Connection, head: Head, cases: Iterable[str] | CaseRange = EVERY_CASE,
            log: str = "main", upto: int | None = None) -> None:
    """Recompute the rows of ``cases`` from the events in ``log`` (a schema name) up to position
    ``upto``, and move the yearly figures by the difference; the projections then reflect ``head``."""
    settle(conn, head, recompute(conn, cases, log, upto))


def recompute(conn: sqlite3.Connection, cases: Iterable[str] | CaseRange = EVERY_CASE, log: str = "main",
              upto: int | None = None) -> figures.Tally:
    """The rows of ``cases`` recomputed, and how the yearly counts move by it, for ``settle``.  Apart from
    ``refresh`` so that a refresh split between processes derives the yearly figures once, from the
    moves of both."""
    with database.sorting(conn) if isinstance(cases, CaseRange) else contextlib.nullcontext():
        return _recompute(conn, cases, log, upto)


def settle(conn: sqlite3.Connection, head: Head, moved: figures.Tally) -> None:
    """Move the yearly figures by ``moved`` and seal them: the projections now reflect ``head``."""
    _mark(conn, head)  # first: the yearly figures are sealed under the head they reflect
    _move_yearly(conn, moved)


def _recompute(conn: sqlite3.Connection, cases: Iterable[str] | CaseRange, log: str,
               upto: int | None) -> figures.Tally:
    scope, params = _scope(conn, cases)
    rows_scope = _of(scope, '"case"')
    # A few named cases are found through the (case, version) index; a range of cases, most of the log,
    # is read in log order (``+`` keeps SQLite off the index: a random read of the table a row).
    events_scope = (_of(scope, '+e."case"') if scope is not None else _of(scope, 'e."case"')) + \
        (" AND e.position <= :upto" if upto is not None else "")
    params["upto"] = upto

    regrouped: figures.Tally = {}
    if scope is not None or conn.execute("SELECT 1 FROM temp._touched WHERE \"case\" = ?", (ev.REGISTRY,)).fetchone():
        regrouped = _refresh_registry(conn, log, upto)
    before = figures.tally(conn, rows_scope, params)
    for name in CASE_TABLES:
        conn.execute(f'DELETE FROM "{name}" WHERE {rows_scope}', params)
    _write_overrides(conn, log, events_scope, params)
    for statement in (_CASES, _HEARINGS, _APPEALS):
        conn.execute(_sql(statement, log=log, scope=events_scope), params)
    # One case in eight has several defendants: over a range of cases, theirs are found through the case
    # index rather than by reading every filing.  (Named cases are few: listing every case with several
    # defendants for them made a clerk's command read the whole cases table.)
    several = f' AND e."case" IN ({_SEVERAL})' if scope is not None else ""
    conn.execute(_sql(_MULTI_DEFENDANTS, log=log, scope=events_scope + several), params)
    for statement in (_UNITS, _MULTI_DEFENDANT_UNITS, _MULTI_DEFENDANT_OUTCOMES, _OUTCOMES):
        conn.execute(_sql(statement, cases=_of(scope, 'c."case"'), units=_of(scope, 'u."case"')), params)
    return figures.combined(regrouped, figures.difference(figures.tally(conn, rows_scope, params), before))


def _refresh_registry(conn: sqlite3.Connection, log: str, upto: int | None) -> figures.Tally:
    """Fold the registry's events in ``log`` up to ``upto`` into its tables; if that changed them, every
    agency's rows are grouped anew (a rename, a level or region), and this returns how the yearly
    figures move: the rows of every case counted under the new registry less under the old."""
    events = [ev.trusted(type_, json.loads(payload)) for type_, payload in conn.execute(
        f'SELECT type, payload FROM {log}.events WHERE "case" = ? AND (? IS NULL OR position <= ?) ORDER BY position',
        (ev.REGISTRY, upto, upto))]
    new = agencies.rows(agencies.fold(events))
    old = {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall() for name in agencies.TABLES}
    if new == old:
        return {}
    counted = figures.counted(conn)  # by the names the events give, before grouping
    before = figures.grouped(counted, figures.names_of(conn))
    for name, rows in new.items():
        conn.execute(f'DELETE FROM "{name}"')
        conn.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(agencies.TABLES[name]))})', rows)
    return figures.difference(figures.grouped(counted, figures.names_of(conn)), before)


def absorb(conn: sqlite3.Connection, path: str) -> None:
    """Take in the rows of other cases, recomputed by another process into the new database ``path``
    (whose yearly counts move by what that ``recompute`` returned: see ``settle``)."""
    with database.attached(conn, path, "absorbed") as other:
        for name in CASE_TABLES:
            conn.execute(f'INSERT INTO "{name}" SELECT * FROM {other}."{name}"')


def _mark(conn: sqlite3.Connection, head: Head) -> None:
    if head.position:  # an empty log has no projection head, like a new database
        conn.execute("INSERT OR REPLACE INTO _caselog_projection VALUES ('log', ?, ?)", (head.position, head.hash))


def _write_overrides(conn: sqlite3.Connection, log: str, scope: str, params: dict) -> None:
    """What corrections and retractions (rare) make of the events they target, for the SQL to read:
    the corrected payload, or a mark that the event is retracted."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _override (event_id TEXT PRIMARY KEY, payload TEXT, retracted INTEGER)")
    conn.execute("DELETE FROM temp._override")
    corrections: dict[str, list[dict]] = defaultdict(list)
    retracted = []
    for type_, payload in conn.execute(
        f"SELECT e.type, e.payload FROM {log}.events e WHERE e.{database.CORRECTIONS} AND {scope} "
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


# --- the yearly figures ---------------------------------------------------------------------

def _move_yearly(conn: sqlite3.Connection, moved: figures.Tally) -> None:
    """Add ``moved`` to the stored yearly counts and derive every touched series again (rates,
    changes, streaks)."""
    changes: Series = defaultdict(dict)
    for (year, level, agency), change in moved.items():
        changes[(level, agency)][year] = change
    stored = _stored_series(conn, set(changes))
    seal = _Seal(conn)
    deleted = [(year, level, agency) for (level, agency) in changes for year in stored.get((level, agency), ())]
    for year, level, agency in deleted:
        seal.remove(level, (year, agency, *(stored[(level, agency)][year][k] for k in figures.COUNTS)))
    conn.executemany("DELETE FROM yearly_figures WHERE year = ? AND level = ? AND agency = ?", deleted)
    rows = []
    values = operator.itemgetter(*figures.KEYS)
    counts = operator.itemgetter(*figures.COUNTS)
    for (level, agency), moves in changes.items():
        series = stored.get((level, agency), {})
        for year, moved_counts in moves.items():
            series.setdefault(year, Counter()).update(moved_counts)
        derived = figures.derive_series(series)
        for year in sorted(series):
            if figures.active(series[year]):
                rows.append((year, level, agency, *values(derived[year])))
                seal.add(level, (year, agency, *counts(derived[year])))
    conn.executemany(f'INSERT INTO yearly_figures VALUES ({", ".join("?" * len(TABLES["yearly_figures"]))})', rows)
    seal.store(projection_head(conn))


def _stored_series(conn: sqlite3.Connection, series: set[tuple[str, str]]) -> Series:
    """The yearly counts stored for ``series``, as {(level, agency): {year: counts}}."""
    counts_cols = ", ".join(map(_quote, figures.COUNTS))
    select = f"SELECT level, agency, year, {counts_cols} FROM yearly_figures"
    if len(series) > 16:  # one pass over the table, not a scan per series
        found = conn.execute(select)
    else:
        found = (row for key in series for row in conn.execute(select + " WHERE level = ? AND agency = ?", key))
    stored: Series = defaultdict(dict)
    for row in found:
        if (row[0], row[1]) in series:
            stored[(row[0], row[1])][row[2]] = Counter(dict(zip(figures.COUNTS, row[3:])))
    return stored


# --- the seal on the yearly figures --------------------------------------------------------
# The published figures are read from yearly_figures, which no trigger protects: beside them each
# refresh keeps, for each level, the sum of a hash of every row (its key and counts, from which
# summary derives every figure it prints), moved by exactly the rows it deletes and writes, so an
# append pays for the rows it touches only; every reader of the figures adds up the rows it reads
# and compares.  This is evidence only against an edit that leaves the seal alone: whoever can
# write the file can recompute it.  What holds against that is `caselog verify`, which compares
# every row with a rebuild from the log, and an anchor.

_SEAL_MODULUS = 2 ** 256


def _sealed() -> str:
    """The columns a seal covers: every figure is derived from the counts."""
    return ", ".join(map(_quote, ("year", "agency", *figures.COUNTS)))


def _row_hash(row: tuple) -> int:
    return int.from_bytes(hashlib.sha256(chain.canonical(list(row)).encode()).digest(), "big")


class _Seal:
    """The sums of the rows' hashes of each level, as stored, moved row by row."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        found = dict(conn.execute("SELECT name, hash FROM _caselog_projection WHERE name LIKE 'yearly_seal %'").fetchall())
        self.sums = {level: int(found.get(f"yearly_seal {level}") or "0", 16) for level in figures.LEVEL_SCOPES}

    def add(self, level: str, row: tuple) -> None:
        self.sums[level] = (self.sums[level] + _row_hash(row)) % _SEAL_MODULUS

    def remove(self, level: str, row: tuple) -> None:
        self.sums[level] = (self.sums[level] - _row_hash(row)) % _SEAL_MODULUS

    def store(self, head: Head) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO _caselog_projection VALUES (?, ?, ?)",
                              [(f"yearly_seal {level}", head.position, f"{total:064x}") for level, total in self.sums.items()])


def sealed_yearly(conn: sqlite3.Connection, level: str) -> list[tuple]:
    """The rows of yearly_figures at ``level`` as (year, agency, *figures.COUNTS), in key order, if they
    are the rows the last refresh sealed under the projections' head; TamperError otherwise."""
    read = conn.cursor()
    read.row_factory = None  # plain tuples, as hashed, whatever the connection's (Datasette's: sqlite3.Row)
    rows = read.execute(f"SELECT {_sealed()} FROM yearly_figures WHERE level = ? ORDER BY year, level, agency", (level,)).fetchall()
    seal = read.execute("SELECT position, hash FROM _caselog_projection WHERE name = ?", (f"yearly_seal {level}",)).fetchone()
    total = sum(map(_row_hash, rows)) % _SEAL_MODULUS
    if seal is None and not rows or seal == (projection_head(conn).position, f"{total:064x}"):
        return rows
    raise TamperError("yearly_figures does not match the seal its last refresh stored: the figures were edited "
                      "outside caselog; run `caselog verify` to see what differs, then `caselog rebuild`")


# --- checking -----------------------------------------------------------------------------


def differences(conn: sqlite3.Connection, rebuilt: str) -> list[str]:
    """The tables whose rows differ from those of the database file ``rebuilt``, compared in SQL:
    a row matches when the other side holds the same key with the same values.  The tables are
    named as readers name them: the log's own, or those shadowing them (``opening``)."""
    out = []
    with database.attached(conn, rebuilt, "rebuilt") as other:
        for name, keys in PRIMARY_KEYS.items():
            on = " AND ".join(f"a.{_quote(k)} = b.{_quote(k)}" for k in keys)
            same = " AND ".join(f"a.{_quote(c)} IS b.{_quote(c)}" for c in TABLES[name] if c not in keys) or "1"
            (mine,) = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            (theirs,) = conn.execute(f'SELECT count(*) FROM {other}."{name}"').fetchone()
            (matched,) = conn.execute(
                f'SELECT count(*) FROM "{name}" a JOIN {other}."{name}" b ON {on} WHERE {same}'
            ).fetchone()
            if mine != matched or theirs != matched:
                out.append(f"{name}: {mine - matched} row(s) not in a rebuild, {theirs - matched} missing")
    return out
