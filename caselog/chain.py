"""The hash chain: canonical JSON, each event's link, the head, and checking a stretch of links.

Each event's link is the SHA-256 of its envelope, its payload's own hash and
the link before it, so altering, inserting, deleting or moving any row breaks
every link after it.  Hashing the payload's hash rather than the payload lets a
payload be redacted one day while the chain still verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
import attrs

from caselog.errors import InputError, TamperError

GENESIS = "0" * 64  # the link before the first event
COLUMNS = ("position", "event_id", "case", "version", "type", "schema_version", "payload",
           "payload_sha256", "recorded_at", "recorded_by", "hash")
SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM events"
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The encoder's C core, made once: JSONEncoder.encode makes it again on every call.  No check for
# reference cycles: a payload read from JSON cannot hold one.
_encode = (c_make_encoder(None, _CANONICAL.default, encode_basestring, None, ":", ",", True, False, True)
           if c_make_encoder is not None else _CANONICAL.iterencode)


def canonical(obj: object) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text kept as is."""
    return "".join(_encode(obj, 0))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored(payload: dict) -> tuple[str, str]:
    """A payload as the log stores it: its canonical JSON, and that text's SHA-256."""
    text = canonical(payload)
    return text, sha256(text)


def link(position: int, event_id: str, case: str, version: int, type_: str, schema_version: int,
         payload_sha256: str, recorded_at: str, recorded_by: str, prev_hash: str) -> str:
    """The row's link in the chain: its envelope, its payload's own hash, and the link before it."""
    # The canonical JSON of the envelope, spelled out: json.dumps(sort_keys=True) on every row was
    # most of verify's time.  Only the two texts people type can hold a character JSON escapes; the
    # ids, hashes, timestamp and type are checked forms that never do, and are quoted as they are.
    # tests/test_store.py holds this equal to the canonical JSON.
    q = encode_basestring
    return sha256(f'{{"case":{q(case)},"event_id":"{event_id}","payload_sha256":"{payload_sha256}",'
                  f'"position":{position:d},"prev_hash":"{prev_hash}","recorded_at":"{recorded_at}",'
                  f'"recorded_by":{q(recorded_by)},"schema_version":{schema_version:d},"type":"{type_}",'
                  f'"version":{version:d}}}')


def timestamp(value: object) -> str:
    """A UTC instant as ``YYYY-MM-DDTHH:MM:SSZ``, the form of ``recorded_at`` (no zone means UTC;
    a date means its end)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            if _TIMESTAMP.fullmatch(value):
                dt.datetime.fromisoformat(value[:-1])  # already in the canonical form: only check the calendar
                return value
            if len(value) == 10:
                moment = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(23, 59, 59))
            else:
                moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InputError(f"malformed timestamp {value!r}: expected an ISO date or time, e.g. 2023-01-31T12:00:00Z") from None
    else:
        raise InputError(f"malformed timestamp {value!r}: expected text such as 2023-01-31T12:00:00Z")
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> str:
    return timestamp(dt.datetime.now(dt.timezone.utc))


@attrs.frozen
class Head:
    """The last link of the chain: what a published figure can be traced to."""

    position: int
    hash: str
    recorded_at: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"


EMPTY = Head(0, GENESIS, "")


def head(conn: sqlite3.Connection) -> Head:
    row = conn.execute("SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1").fetchone()
    return Head(*row) if row else EMPTY


def head_at(conn: sqlite3.Connection, position: int | None) -> Head:
    """The chain's link at ``position`` (the head, when None)."""
    if position is None:
        return head(conn)
    row = conn.execute("SELECT position, hash, recorded_at FROM events WHERE position = ?", (position,)).fetchone()
    return Head(*row) if row else EMPTY


def as_of_position(conn: sqlite3.Connection, moment: str) -> int:
    """The last position recorded at or before ``moment``.

    recorded_at never decreases along position, so the as-of view is a prefix
    of the log and a binary search over the primary key finds its end.
    """
    low, high = 0, head(conn).position
    while low < high:
        middle = (low + high + 1) // 2
        (recorded_at,) = conn.execute("SELECT recorded_at FROM events WHERE position = ?", (middle,)).fetchone()
        if recorded_at <= moment:
            low = middle
        else:
            high = middle - 1
    return low


@attrs.frozen
class Stretch:
    """Positions ``start``..``end`` of the chain, whose link before ``start`` is ``prev``."""

    start: int
    end: int
    prev: str
    anchor: tuple[int, str] | None = None  # (position, link) that must be found there, if in the stretch


@attrs.frozen
class Break:
    """The first link of a stretch that does not hold, and what is wrong with it."""

    position: int
    message: str


def check(conn: sqlite3.Connection, stretch: Stretch) -> Break | None:
    """Recompute the links of ``stretch``; the first that does not hold, or None."""
    expected, prev = stretch.start, stretch.prev
    anchor = stretch.anchor
    rows = conn.execute(SELECT + " WHERE position BETWEEN ? AND ? ORDER BY position", (stretch.start, stretch.end))
    for position, event_id, case, version, type_, schema_version, payload, payload_sha256, recorded_at, recorded_by, found in rows:
        if position != expected:
            return Break(expected, f"position {expected}: missing from the log (the next row is {position}): rows were deleted")
        if sha256(payload) != payload_sha256:
            return Break(position, f"position {position}: the payload does not match its hash: it was altered")
        if link(position, event_id, case, version, type_, schema_version, payload_sha256, recorded_at,
                recorded_by, prev) != found:
            return Break(position, f"position {position}: the hash does not match the chain: this row or the one before was altered, inserted or moved")
        if anchor is not None and position == anchor[0] and found != anchor[1]:
            return Break(position, f"position {position}: the hash differs from the anchor: the history up to the anchor was rewritten")
        prev = found
        expected += 1
    if expected <= stretch.end:
        return Break(expected, f"position {expected}: missing from the log: rows were deleted")
    return None


def verdict(breaks: list[Break | None], last: Head, anchor: tuple[int, str] | None) -> Head:
    """The head, if no stretch broke and the anchor is within the log; else the first break, raised."""
    found = [b for b in breaks if b is not None]
    if found:
        raise TamperError(min(found, key=lambda b: b.position).message)
    if anchor is not None and anchor[0] > last.position:
        raise TamperError(f"position {anchor[0]}: the anchored event is missing: the log was truncated to {last.position} events")
    return last
