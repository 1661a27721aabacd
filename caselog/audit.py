"""Reading the log for people: a case's trail, event listings, verification."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from typing import Callable, Iterator

from caselog import events as ev
from caselog import agencies, chain, database, parallel, projections, rules, signing, writer
from caselog.errors import InputError, RuleViolation, TamperError

EVENT_COLUMNS = ("position", "recorded_at", "recorded_by", "case", "version", "type", "event_id", "payload")


def list_events(conn: sqlite3.Connection, *, case: str | None = None, type_: str | None = None,
                clerk: str | None = None, since: str | None = None, until: str | None = None,
                limit: int | None = None, stream: str | None = None) -> list[dict]:
    """Logged events, oldest first; ``stream`` is a stream's key as stored (the registry's), ``case`` a
    case number as a clerk types it."""
    clauses, params = [], []
    if case is not None or stream is not None:
        clauses.append('"case" = ?')
        params.append(stream or _case(case))
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


#: The columns of ``agency list``.
AGENCY_COLUMNS = ("agency", "agency_level", "level_zh", "region", "aliases", "former_names")


def _agency_row(row: tuple) -> dict:
    agency, level, region, aliases, former = row
    return {"agency": agency, "agency_level": level, "level_zh": ev.AGENCY_LEVELS_ZH[level], "region": region,
            "aliases": "、".join(json.loads(aliases)),
            "former_names": "、".join(f"{f['name']}(至{f['until']})" for f in json.loads(former))}


def agencies_listed(conn: sqlite3.Connection, as_of: str | None = None) -> list[dict]:
    """The registered agencies by level (highest first) and name, now or as the log held them at ``as_of``."""
    upto = chain.as_of_position(conn, chain.timestamp(as_of)) if as_of is not None else None
    with database.reading(conn), parallel.replayed(conn, upto) if as_of is not None else _now(conn) as (source, _):
        rows = source.execute("SELECT agency, agency_level, region, aliases, former_names FROM agencies").fetchall()
    return sorted(map(_agency_row, rows), key=lambda r: (ev.AGENCY_LEVELS.index(r["agency_level"]), r["agency"]))


@contextlib.contextmanager
def _now(conn: sqlite3.Connection) -> Iterator[tuple[sqlite3.Connection, chain.Head]]:
    yield conn, projections.projection_head(conn)


def agency_detail(conn: sqlite3.Connection, name: str) -> dict:
    """A registered agency, by any of its names: its record, the cases naming it, and its registry events."""
    try:
        name = ev.agency_name(name)
    except (ValueError, TypeError) as error:
        raise InputError(f"agency: {error}") from None
    found = conn.execute("SELECT a.agency, a.agency_level, a.region, a.aliases, a.former_names FROM agency_names n "
                         "JOIN agencies a ON a.agency = n.agency WHERE n.name = ?", (name,)).fetchone()
    if found is None:
        registry = writer.registry_of(conn)
        raise InputError(f"{name} is not a registered agency or alias{registry.suggestion(name)}")
    out = _agency_row(found)
    names = [row[0] for row in conn.execute("SELECT name FROM agency_names WHERE agency = ?", (out["agency"],))]
    marks = ", ".join("?" * len(names))
    (out["cases"],) = conn.execute(f'SELECT count(DISTINCT "case") FROM defendants WHERE agency IN ({marks})',
                                   names).fetchone()
    out["events"] = [
        {**row, "payload": json.loads(row["payload"])} for row in list_events(conn, stream=ev.REGISTRY)
        if names_in(json.loads(row["payload"])) & set(names)
    ]
    return out


def names_in(payload: dict) -> set[str]:
    """The names a registry event's payload gives."""
    return {payload[k] for k in ("agency", "alias", "new_name") if k in payload} | set(payload.get("aliases", ()))


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
            # The chain check takes each unredacted event's m as stored (docstring of caselog.chain); a
            # wrong one would surface only at its redaction, so the full verify looks at every one.
            with parallel.masks_checked(conn) as masks:
                replay(conn)
                wrong = masks()
            if wrong is not None:
                raise TamperError(wrong.message)
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
    registry = agencies.Registry()
    seen: set[str] = set()
    last = ""
    for row in conn.execute(chain.SELECT + " ORDER BY position"):
        position, case, recorded_at = row[0], row[2], row[8]
        if recorded_at < last:
            raise TamperError(f"position {position}: recorded_at {recorded_at} is earlier than the event before "
                              f"it ({last}): the log was rewritten")
        last = recorded_at
        try:
            # Read without validation, as the projections read it: validation only tightens over
            # time, and an event the writer took then is not a forgery now.
            recorded = writer.record(row)
            if (case == ev.REGISTRY) != (recorded.type in ev.REGISTRY_TYPES):
                raise RuleViolation(f"the stream {case} cannot hold {recorded.type}")
            if case == ev.REGISTRY:
                if recorded.version != registry.version + 1:
                    raise RuleViolation(f"it is version {recorded.version}, but the registry had {registry.version} "
                                        "events before it")
                registry = agencies.decide(registry, recorded.event)
                continue
            state = states.take(case, position)
            seen.add(case)
            if recorded.version != state.version + 1:
                raise RuleViolation(f"it is version {recorded.version}, but the case had {state.version} events before it")
            if agencies.admit(registry, recorded.event, state.defendants) != recorded.event:
                raise RuleViolation("it names an agency otherwise than the registry of its day resolves it")
            states.put(case, rules.decide(state, recorded, lambda: before(case, position), today, entering=False))
        except RuleViolation as error:
            raise TamperError(f"position {position}: {row[4]} of case {case} could not have been logged there "
                              f"({error}): the log was rewritten") from None
        except (ValueError, TypeError, KeyError, AttributeError):  # a payload no writer could have stored
            raise TamperError(f"position {position}: the payload is not a {row[4]} caselog could have logged: "
                              "the log was rewritten") from None
