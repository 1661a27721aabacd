"""Finding what a clerk names by part of it: an event by the first characters of its id, and
the case numbers and agencies the shell completes (read-only, a few indexed rows at a time)."""

from __future__ import annotations

import re
import sqlite3

from caselog import chain, writer
from caselog import events as ev
from caselog.errors import InputError

SHORTEST_ID = 8  # characters of an event id that name it: a prefix this long is unique in all but huge logs
COMPLETIONS = 50  # values a completion offers at most
_ID_PREFIX = re.compile(r"[0-9a-f-]+")
_PAST_ID = "g"  # sorts after every character of an event id ([0-9a-f-])


def event(conn: sqlite3.Connection, prefix: str) -> ev.Recorded:
    """The one logged event whose id begins with ``prefix`` (at least SHORTEST_ID characters)."""
    text = prefix.strip().lower()
    if len(text) < SHORTEST_ID or not _ID_PREFIX.fullmatch(text):
        raise InputError(f"{ev.shown(prefix)} is not an event id: give at least {SHORTEST_ID} of its "
                         "characters, e.g. 01a2420e-b9ee")
    # A range on the unique index: SQLite's LIKE is case-insensitive, so LIKE 'x%' would scan the log.
    rows = conn.execute(chain.SELECT + " WHERE event_id >= ? AND event_id < ? ORDER BY event_id LIMIT ?",
                        (text, text + _PAST_ID, ev.LISTED + 1)).fetchall()
    if not rows:
        raise InputError(f"unknown event: no event's id begins with {ev.shown(prefix)}")
    if len(rows) > 1:
        ids = ev.listed([row[1] for row in rows[:ev.LISTED]]) + (" and more" if len(rows) > ev.LISTED else "")
        raise InputError(f"{ev.shown(prefix)} begins more than one event's id: {ids}; give more of it")
    return writer.record(rows[0])


def cases(conn: sqlite3.Connection, prefix: str) -> list[str]:
    """Case numbers in the log that begin with ``prefix``."""
    return [row[0] for row in conn.execute(
        'SELECT "case" FROM cases WHERE "case" >= ? AND "case" < ? ORDER BY "case" LIMIT ?',
        (prefix, prefix + "\U0010ffff", COMPLETIONS))]


def agencies(conn: sqlite3.Connection, prefix: str) -> list[str]:
    """The agencies that begin with ``prefix``: every name the registry knows (names, aliases, former
    names), and the defendants of the log's cases."""
    return [row[0] for row in conn.execute(
        "SELECT name FROM agency_names WHERE name >= ?1 AND name < ?2 "
        "UNION SELECT agency FROM cases WHERE agency >= ?1 AND agency < ?2 ORDER BY 1 LIMIT ?3",
        (prefix, prefix + "\U0010ffff", COMPLETIONS))]
