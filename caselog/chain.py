"""The hash chain: canonical JSON, each event's link, the head, and checking a stretch of links.

Each event's link is the SHA-256 of its envelope, its payload's own hash and
the link before it, so altering, inserting, deleting or moving any row breaks
every link after it.  Hashing the payload's hash rather than the payload lets a
payload be redacted while the chain still verifies.

The payload's hash: under schema version 1, the SHA-256 of its canonical JSON
(``stored``).  Under version 2, the SHA-256 of the canonical JSON of its
fields' commitments, each the SHA-256 of a random salt of the field's own and
the value's canonical JSON (``committed``); the salts are kept beside the
events (``_caselog_salts``).  Redacting a field removes its value and salt and
keeps its commitment (``{"redacted": COMMITMENT}`` in place of the salt): the
other fields, the payload's hash and the chain still verify, and no one can
test a guess at the value without its salt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

import attrs

from caselog.errors import InputError, TamperError

GENESIS = "0" * 64  # the link before the first event
COLUMNS = ("position", "event_id", "case", "version", "type", "schema_version", "payload",
           "payload_sha256", "recorded_at", "recorded_by", "hash")
SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM events"
SALTS = "_caselog_salts"  # position -> the salts of a schema-version-2 payload (``committed``)
# The columns, then the row's salts (None under schema version 1).
SELECT_SALTED = SELECT.replace(" FROM events", f", s.salts FROM events LEFT JOIN {SALTS} s USING (position)")
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


SALT_BYTES = 16


def committed(payload: dict, salts: dict | None = None) -> tuple[str, str, bytes | str]:
    """A payload as the log stores it under schema version 2: its canonical JSON, its SHA-256 over the
    fields' commitments, and its salts as stored.  ``salts`` are the ones an export carries, as
    ``{field: salt hex}`` (a redacted field as ``{"redacted": commitment}``); new ones are drawn when None.

    Stored salts are the fields' salts end to end, in the order of the fields' names (16 bytes each,
    a third of their JSON, which made the file 30% larger); once a field is redacted, the JSON.
    """
    if salts is not None:
        digest = payload_hash(payload, salts)
        marked = any(isinstance(salt, dict) for salt in salts.values())
        return canonical(payload), digest, canonical(salts) if marked else b"".join(
            bytes.fromhex(salts[name]) for name in sorted(salts))
    fresh = _SALTS.take(SALT_BYTES * len(payload))  # the salts of many events are drawn at once
    return canonical(payload), _digest(payload, fresh), fresh


def _digest(payload: dict, salts: bytes) -> str:
    """``payload_hash`` from salts as stored end to end: what every new event and every verify pays, so
    spelled out (5 µs an event against 12 the general way; tests/test_store.py holds them equal)."""
    names = sorted(payload)
    if len(salts) != SALT_BYTES * len(names):
        raise ValueError("the salts do not fit the fields")
    q, new_hash = encode_basestring, hashlib.sha256
    # The canonical JSON of {field: commitment}, written as it is built (sorted names, no spaces);
    # a text's canonical JSON is its quoted form, the encoder's own function without the encoder.
    parts, at = [], 0
    for name in names:
        value = payload[name]
        text = q(value) if type(value) is str else canonical(value)
        parts.append(f'{q(name)}:"{new_hash(salts[at:at + SALT_BYTES] + text.encode("utf-8")).hexdigest()}"')
        at += SALT_BYTES
    return sha256("{" + ",".join(parts) + "}")


class _Random:
    """Random bytes from ``os.urandom`` 64 KiB at a time: one system call for some 700 events, not one
    each.  A forked process draws its own rather than repeat its parent's."""

    def __init__(self) -> None:
        self.pid, self.pool, self.at = 0, b"", 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.pool) or self.pid != os.getpid():
            self.pid, self.pool, self.at = os.getpid(), os.urandom(max(size, 65_536)), 0
        self.at += size
        return self.pool[self.at - size:self.at]


_SALTS = _Random()


def salts_of(payload: dict, stored_salts: bytes | str) -> dict:
    """Stored salts as ``{field: salt hex}``, a redacted field as its marker: how an export writes them."""
    if isinstance(stored_salts, str):
        return json.loads(stored_salts)
    names = sorted(payload)
    if len(stored_salts) != SALT_BYTES * len(names):
        raise ValueError("the salts do not fit the fields")
    hexed = stored_salts.hex()
    return {name: hexed[2 * SALT_BYTES * i:2 * SALT_BYTES * (i + 1)] for i, name in enumerate(names)}


def commitment(salt: str, value: object) -> str:
    """A field's commitment: the SHA-256 of its salt's bytes followed by the value's canonical JSON."""
    return hashlib.sha256(bytes.fromhex(salt) + canonical(value).encode("utf-8")).hexdigest()


def payload_hash(payload: dict, salts: dict) -> str:
    """The SHA-256 of a schema-version-2 payload's commitments, given ``{field: salt hex or marker}``;
    ValueError if the salts do not fit the fields."""
    commitments = {}
    for name, salt in salts.items():
        if isinstance(salt, dict):  # redacted: the value and its salt are gone, the commitment stays
            if name in payload or set(salt) != {"redacted"} or not isinstance(salt["redacted"], str):
                raise ValueError(f"the redacted field {name} is malformed")
            commitments[name] = salt["redacted"]
        elif isinstance(salt, str) and name in payload and len(salt) == 2 * SALT_BYTES:
            commitments[name] = commitment(salt, payload[name])
        else:
            raise ValueError(f"the field {name} has no value or a malformed salt")
    if len(commitments) - sum(isinstance(s, dict) for s in salts.values()) != len(payload):
        raise ValueError("a field has no salt")
    return sha256(canonical(commitments))


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


REDACTIONS = "type = 'payload_redacted'"  # spelled as the partial index over them is (database._migrate_v4)


def redactions(conn: sqlite3.Connection) -> dict[str, dict[str, str | None]]:
    """The logged redactions: target event_id -> {field: the target's payload hash as kept, for a target
    of schema version 1, or None}, the latest last."""
    found: dict[str, dict[str, str | None]] = {}
    for (payload,) in conn.execute(f"SELECT payload FROM events WHERE {REDACTIONS} ORDER BY position"):
        data = json.loads(payload)
        found.setdefault(data["target"], {})[data["field"]] = data.get("kept_sha256")
    return found


def _payload_holds(event_id: str, schema_version: int, payload: str, payload_sha256: str, salts: str | None,
                   redacted: dict[str, dict[str, str | None]]) -> bool:
    """Whether the stored payload is the one the chain committed to, less what was redacted by an event
    in the log."""
    if schema_version < 2:
        if sha256(payload) == payload_sha256:
            return True
        kept = redacted.get(event_id)
        return kept is not None and list(kept.values())[-1] == sha256(payload)
    try:
        fields = json.loads(payload)
        if isinstance(salts, bytes):
            return _digest(fields, salts) == payload_sha256
        given = json.loads(salts)
        if payload_hash(fields, given) != payload_sha256:
            return False
    except (ValueError, TypeError, AttributeError):
        return False
    # A field someone removed while keeping its commitment still hashes right: only a logged redaction may.
    return all(name in redacted.get(event_id, ()) for name, salt in given.items() if isinstance(salt, dict))


def check(conn: sqlite3.Connection, stretch: Stretch) -> Break | None:
    """Recompute the links of ``stretch``; the first that does not hold, or None."""
    expected, prev = stretch.start, stretch.prev
    anchor = stretch.anchor
    redacted = redactions(conn)
    rows = conn.execute(SELECT_SALTED + " WHERE position BETWEEN ? AND ? ORDER BY position", (stretch.start, stretch.end))
    for (position, event_id, case, version, type_, schema_version, payload, payload_sha256, recorded_at, recorded_by,
         found, salts) in rows:
        if position != expected:
            return Break(expected, f"position {expected}: missing from the log (the next row is {position}): rows were deleted")
        if not _payload_holds(event_id, schema_version, payload, payload_sha256, salts, redacted):
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
