"""Reading the log for people: a case's trail, event listings, verification, rebuild."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from typing import Iterator

from caselog import events as ev
from caselog import projections, store
from caselog.errors import InputError, TamperError

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
        params.append(store.timestamp(since if len(since) > 10 else since + "T00:00:00Z"))
    if until is not None:
        clauses.append("recorded_at <= ?")
        params.append(store.timestamp(until))
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
        "trail": trail,
    }


def rebuild(conn: sqlite3.Connection) -> store.Head:
    """Drop and rebuild every projection from the log in one transaction."""
    with store.Transaction(conn):
        head = store.head(conn)
        projections.drop(conn)
        projections.create(conn)
        projections.refresh(conn, head, apart=store.file_of(conn))
    return head


@contextlib.contextmanager
def replayed(conn: sqlite3.Connection, upto: int | None = None) -> Iterator[tuple[sqlite3.Connection, store.Head]]:
    """The projections of the log up to position ``upto`` (all of it by default), rebuilt
    through the same refresh in a scratch database that is deleted afterwards.

    A file rather than memory: at a national scale the rows alone take hundreds of MB.
    The scratch database reads the log file itself; events up to ``upto`` never
    change, so what it reads agrees with the caller's own snapshot.
    """
    head = store.head_at(conn, upto)
    path = store.file_of(conn)
    if not path:
        raise InputError("an as-of view or a verify reads the log's file, and this log is in memory")
    with tempfile.TemporaryDirectory(prefix="caselog-") as scratch:
        fresh = projections.scratch(os.path.join(scratch, "projections.db"))
        try:
            fresh.execute("ATTACH DATABASE ? AS log", (path,))
            projections.create(fresh)
            fresh.execute("BEGIN")
            projections.refresh(fresh, head, log="log", upto=head.position, apart=path)
            fresh.execute("COMMIT")
            fresh.execute("DETACH DATABASE log")
            yield fresh, head
        finally:
            fresh.close()


def parse_anchor(anchor: str) -> tuple[int, str]:
    position, sep, digest = anchor.partition(":")
    if not sep or not (position.isascii() and position.isdigit()) or len(digest) != 64:  # "²".isdigit() too
        raise InputError(f"malformed anchor {anchor!r}: expected POSITION:HASH as printed by `caselog head`")
    return int(position), digest.lower()


def verify(conn: sqlite3.Connection, anchor: str | None = None, check_projections: bool = True) -> store.Head:
    """Check the chain (against an anchor, if given) and that the projections equal a rebuild."""
    with store.reading(conn):
        head = store.verify_chain(conn, parse_anchor(anchor) if anchor else None)
        if check_projections:
            with replayed(conn) as (fresh, _):
                problems = projections.differences(conn, store.file_of(fresh))
            if problems:
                raise TamperError("the projections differ from a rebuild (run `caselog rebuild`): " + "; ".join(problems))
    return head
