"""Reading the log for people: a case's trail, event listings, verification."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Callable

from caselog import events as ev
from caselog import chain, database, parallel, projections, rules, signing, writer
from caselog.errors import InputError, RuleViolation, TamperError

EVENT_COLUMNS = ("position", "recorded_at", "recorded_by", "case", "version", "type", "event_id", "payload")


def list_events(conn: sqlite3.Connection, *, case: str | None = None, type_: str | None = None,
                clerk: str | None = None, since: str | None = None, until: str | None = None,
                limit: int | None = None) -> list[dict]:
    clauses, params = [], []
    if case is not None:
        clauses.append('"case" = ?')
        params.append(_case(case))
    if type_ is not None:
        if type_ not in ev.EVENT_TYPES:
            raise InputError(f"unknown event type {type_!r}: expected one of {', '.join(ev.EVENT_TYPES)}")
        clauses.append("type = ?")
        params.append(type_)
    if clerk is not None:
        clauses.append("recorded_by = ?")
        params.append(clerk)
    if since is not None:
        clauses.append("recorded_at >= ?")
        params.append(chain.timestamp(since if len(since) > 10 else since + "T00:00:00Z"))
    if until is not None:
        clauses.append("recorded_at <= ?")
        params.append(chain.timestamp(until))
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    sql = f'SELECT {", ".join(chr(34) + c + chr(34) for c in EVENT_COLUMNS)} FROM events{where} ORDER BY position DESC'
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = [dict(zip(EVENT_COLUMNS, r)) for r in conn.execute(sql, params)]
    rows.reverse()
    return rows


def _case(case: str) -> str:
    try:
        return ev.case_number(case)
    except (ValueError, TypeError) as error:
        raise InputError(str(error)) from None


def case_detail(conn: sqlite3.Connection, case: str) -> dict:
    """The case's current state (from the projections) and its whole audit trail."""
    case = _case(case)
    conn.row_factory = sqlite3.Row
    try:
        state = conn.execute('SELECT * FROM cases WHERE "case" = ?', (case,)).fetchone()
        units = conn.execute('SELECT * FROM appearance_units WHERE "case" = ? ORDER BY level', (case,)).fetchall()
        outcome = conn.execute('SELECT * FROM outcomes WHERE "case" = ?', (case,)).fetchone()
        appeals = conn.execute('SELECT * FROM appeals WHERE "case" = ? ORDER BY seq', (case,)).fetchall()
        defendants = conn.execute(
            'SELECT d.agency, d.role, d.added_on, o.first_disposition, o.disposition FROM defendants d '
            'LEFT JOIN defendant_outcomes o ON o."case" = d."case" AND o.agency = d.agency '
            'WHERE d."case" = ? ORDER BY d.role IS NOT NULL, d.added_on IS NOT NULL, d.agency', (case,)).fetchall()
        attended = conn.execute('SELECT agency, level, attendance, head, spoke FROM defendant_units WHERE "case" = ? '
                                'ORDER BY level', (case,)).fetchall()
    finally:
        conn.row_factory = None
    trail = list_events(conn, case=case)
    if not trail:
        raise InputError(f"no case {case} in the log")
    by_id = {row["event_id"]: row for row in trail}
    for row in trail:
        row["payload"] = json.loads(row["payload"])
        row["corrections"] = []
        row["retracted_by"] = None
    for row in trail:
        target = by_id.get(row["payload"].get("target")) if row["type"] in ev.META_TYPES else None
        if target is None:
            continue
        note = {k: row[k] for k in ("event_id", "recorded_at", "recorded_by")} | {
            k: row["payload"][k] for k in ("changes", "reason") if k in row["payload"]
        }
        if row["type"] == "event_corrected":
            target["corrections"].append(note)
        else:
            target["retracted_by"] = note
    return {
        "case": case,
        "state": dict(state) if state else None,
        "appearance_units": [dict(u) for u in units],
        "outcome": dict(outcome) if outcome else None,
        "appeals": [dict(a) for a in appeals],
        "defendants": [{**dict(d), "units": [dict(u) for u in attended if u["agency"] == d["agency"]]}
                       for d in defendants],
        "trail": trail,
    }


def parse_anchor(anchor: str) -> tuple[int, str]:
    position, sep, digest = anchor.partition(":")
    if not sep or not (position.isascii() and position.isdigit()) or len(digest) != 64:  # "²".isdigit() too
        raise InputError(f"malformed anchor {anchor!r}: expected POSITION:HASH as printed by `caselog head`")
    return int(position), digest.lower()


def verify(conn: sqlite3.Connection, anchor: str | None = None, check_projections: bool = True,
           notes: Callable[[str], None] | None = None) -> chain.Head:
    """Check the chain and every signature (``signing.verify``); unless ``check_projections`` is
    False, also that the writer could have logged the history it holds and that the projections
    equal a rebuild.

    ``anchor`` is POSITION:HASH or a checkpoint's JSON (``caselog checkpoint``); ``notes`` is told
    of unsigned stretches of an older log and who signed the rest.
    """
    checkpoint = signing.parse_checkpoint(anchor) if anchor and anchor.lstrip().startswith("{") else None
    with database.reading(conn):
        if checkpoint is not None:
            head = parallel.verify_chain(conn, (checkpoint["position"], checkpoint["head"]))
        else:
            head = parallel.verify_chain(conn, parse_anchor(anchor) if anchor else None)
        found = signing.verify(conn, head)
        if checkpoint is not None:
            signing.check_checkpoint(conn, checkpoint)
        if check_projections:
            replay(conn)
            with parallel.replayed(conn) as (fresh, _):
                problems = projections.differences(conn, database.file_of(fresh))
            if problems:
                raise TamperError("the projections differ from a rebuild (run `caselog rebuild`): " + "; ".join(problems))
    for line in found if notes is not None else ():
        notes(line)
    return head


def replay(conn: sqlite3.Connection) -> None:
    """Check every event as the writer did when it appended it: in log order, recorded no earlier than
    the event before it, the next version of its case, and allowed by the rules given the case's
    events before it (``rules.decide``, with a state cache like the writer's); TamperError at the first
    that fails.  A chain relinked after a rewrite holds, but not a history the writer would have refused.
    """
    today = dt.date.today()  # the day of every earlier append was this one or before

    def before(case: str, position: int) -> list[ev.Recorded]:
        return [rec for rec in writer.history(conn, case) if rec.position < position]

    def load(case: str, position: int) -> rules.CaseState:
        # A case met for the first time has nothing before: no query for each case of the log.
        return rules.fold(case, before(case, position)) if case in seen else rules.CaseState(case)

    states = rules.StateCache(load)
    seen: set[str] = set()
    last = ""
    for row in conn.execute(chain.SELECT + " ORDER BY position"):
        position, case, recorded_at = row[0], row[2], row[8]
        if recorded_at < last:
            raise TamperError(f"position {position}: recorded_at {recorded_at} is earlier than the event before "
                              f"it ({last}): the log was rewritten")
        last = recorded_at
        state = states.take(case, position)
        seen.add(case)
        try:
            # Read without validation, as the projections read it: validation only tightens over
            # time, and an event the writer took then is not a forgery now.
            recorded = writer.record(row)
            if recorded.version != state.version + 1:
                raise RuleViolation(f"it is version {recorded.version}, but the case had {state.version} events before it")
            states.put(case, rules.decide(state, recorded, lambda: before(case, position), today, entering=False))
        except RuleViolation as error:
            raise TamperError(f"position {position}: {row[4]} of case {case} could not have been logged there "
                              f"({error}): the log was rewritten") from None
        except (ValueError, TypeError, KeyError, AttributeError):  # a payload no writer could have stored
            raise TamperError(f"position {position}: the payload is not a {row[4]} caselog could have logged: "
                              "the log was rewritten") from None
