"""The hash chain: canonical JSON, each event's link, the head, and checking a stretch of links.

Each event's link is the SHA-256 of its envelope, its payload's own hash and
the link before it, so altering, inserting, deleting or moving any row breaks
every link after it.  Hashing the payload's hash rather than the payload lets a
payload be redacted while the chain still verifies.

The payload's hash, by the event's schema version:

1. The SHA-256 of its canonical JSON (``stored``).

2. The SHA-256 of the canonical JSON of its fields' commitments, each the
   SHA-256 of a random salt of the field's own and the value's canonical JSON
   (``committed``); the salts are kept beside the events (``_caselog_salts``),
   16 bytes a field end to end.  Redacting a field removes its value and salt
   and keeps its commitment (``{"redacted": COMMITMENT}`` in place of the
   salt, the row then JSON): the other fields, the payload's hash and the chain
   still verify, and no one can test a guess at the value without its salt.

3. (every new event, ``personal_salted``) Only the personal fields
   (``events.PERSONAL``: those ``caselog redact`` can remove) are salted.  P is
   the payload's canonical JSON and F the personal fields it holds, by name.
   With F empty the hash is SHA-256(P) and there is no salts row.  Otherwise
   each f of F has a random 16-byte salt s_f and a commitment c_f =
   SHA-256(s_f ‖ canonical JSON of its value), in hex; M is the canonical JSON
   of the payload with each f's value replaced by the text c_f; m = SHA-256(M)
   and t = SHA-256(S ‖ P), raw, where S is the salts end to end in F's order;
   the hash is SHA-256(m ‖ t), and the salts row is S ‖ m (16 bytes a personal
   field, then 32).

   Checking an unredacted event parses nothing: SHA-256(P), or
   SHA-256(m ‖ SHA-256(S ‖ P)) from the row's bytes, is the hash.  t binds
   every byte of P; the row's size, one salt for the type's one personal field
   (``SALTS_ROW_SIZE``), fixes where S ends, so no byte can move between S and
   P.  That path does not check that m is SHA-256(M): a wrong m holds the
   chain and matters only once a field is redacted, so the redaction checks it
   first, and a full verify checks every one (``check_masks``).

   Redacting f rewrites the payload without it and the salts row as the JSON
   ``{"fields": {g: salt hex for each personal field g kept, f: {"redacted":
   c_f}}, "text_sha256": t hex}``.  Verify rebuilds M from the payload as kept
   (a kept field's commitment from its salt, f's as kept) and checks that
   SHA-256(SHA-256(M) ‖ t) is the hash, and that a payload_redacted event in
   the log names f.  Neither the value nor s_f is left anywhere, so neither c_f
   nor t (which hashed the salt too) can be tested against a guess; every
   other field is still bound through M.
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

from caselog import events as ev
from caselog.errors import InputError, TamperError

GENESIS = "0" * 64  # the link before the first event
COLUMNS = ("position", "event_id", "case", "version", "type", "schema_version", "payload",
           "payload_sha256", "recorded_at", "recorded_by", "hash")
SELECT = "SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM events"
SALTS = "_caselog_salts"  # position -> the salts of a schema-version-2 or -3 payload (``committed``, ``personal_salted``)
# The columns, then the row's salts (None under schema version 1, and under 3 for a payload with no personal field).
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
    return _commitment(bytes.fromhex(salt), value)


def _commitment(salt: bytes, value: object) -> str:
    # A text's canonical JSON is its quoted form: the encoder's own function, without the encoder's call.
    text = encode_basestring(value) if type(value) is str else canonical(value)
    return hashlib.sha256(salt + text.encode("utf-8")).hexdigest()


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


DIGEST_BYTES = 32  # m and t, raw
#: The size of an unredacted schema-version-3 salts row, by event type: a salt for each personal field, then m.
SALTS_ROW_SIZE = {type_: SALT_BYTES * len(names) + DIGEST_BYTES for type_, names in ev.PERSONAL.items()}
_PERSONAL = {type_: tuple(sorted(names)) for type_, names in ev.PERSONAL.items()}  # made once: every new event asks
_SALT_HEX = re.compile(f"[0-9a-f]{{{2 * SALT_BYTES}}}")
_DIGEST_HEX = re.compile(f"[0-9a-f]{{{2 * DIGEST_BYTES}}}")


def personal_salted(type_: str, payload: dict, salts: dict | None = None) -> tuple[str, str, bytes | str | None]:
    """A payload as the log stores it under schema version 3 (the module's docstring): its canonical JSON,
    its hash, and its salts row (None when it holds no personal field).  ``salts`` are the ones an export
    carries: ``{field: salt hex}`` for its personal fields, or a redacted event's JSON row; new ones are
    drawn when None.  ValueError if given salts do not fit the payload."""
    text = canonical(payload)
    if salts is not None and "text_sha256" in salts:
        return text, _redacted_hash(type_, payload, salts), canonical(salts)
    names = _personal(type_, payload)
    if salts is None:
        joined = _SALTS.take(SALT_BYTES * len(names)) if names else b""
    elif sorted(salts) != names:
        raise ValueError(f"expected a salt for each personal field of the {type_} ({', '.join(names) or 'none'}), "
                         "and no other")
    else:
        joined = b"".join(_salt(salts[name]) for name in names)
    if not names:
        return text, sha256(text), None
    m = _mask(payload, _commitments(payload, names, joined))
    t = hashlib.sha256(joined + text.encode("utf-8")).digest()
    return text, hashlib.sha256(m + t).hexdigest(), joined + m


def _personal(type_: str, payload: dict) -> list[str]:
    """F: the personal fields the payload holds, by name."""
    return [name for name in _PERSONAL.get(type_, ()) if name in payload]


def _salt(given: object) -> bytes:
    if not isinstance(given, str) or not _SALT_HEX.fullmatch(given):
        raise ValueError(f"a salt is {2 * SALT_BYTES} lowercase hexadecimal digits")
    return bytes.fromhex(given)


def _mask(payload: dict, commitments: dict[str, str]) -> bytes:
    """m: the SHA-256 of M, the payload's canonical JSON with each personal value as its commitment."""
    return hashlib.sha256(canonical({**payload, **commitments}).encode("utf-8")).digest()


def _unredacted_salts(type_: str, payload: dict, row: bytes) -> tuple[list[str], bytes, bytes]:
    """An unredacted schema-version-3 row as F, S and m; ValueError if its size does not fit F."""
    names = _personal(type_, payload)
    if not names or len(row) != SALT_BYTES * len(names) + DIGEST_BYTES:
        raise ValueError("the salts do not fit the personal fields")
    return names, row[:-DIGEST_BYTES], row[-DIGEST_BYTES:]


def _commitments(payload: dict, names: list[str], joined: bytes) -> dict[str, str]:
    return {name: _commitment(joined[SALT_BYTES * i:SALT_BYTES * (i + 1)], payload[name]) for i, name in enumerate(names)}


def _redacted_hash(type_: str, payload: dict, kept: dict) -> str:
    """The hash of a redacted schema-version-3 payload from its JSON salts row (``{"fields": ...,
    "text_sha256": ...}``); ValueError if the row is malformed or does not fit the payload."""
    fields, text_sha256 = kept.get("fields"), kept.get("text_sha256")
    if set(kept) != {"fields", "text_sha256"} or not isinstance(fields, dict) or not isinstance(text_sha256, str) \
            or not _DIGEST_HEX.fullmatch(text_sha256):
        raise ValueError('a redacted event\'s salts are {"fields": {...}, "text_sha256": SHA-256}')
    personal = ev.PERSONAL.get(type_, ())
    commitments = {}
    for name, salt in fields.items():
        if name not in personal:
            raise ValueError(f"{name} is not a personal field of the {type_}")
        if isinstance(salt, dict):  # redacted: the value and its salt are gone, the commitment stays
            if name in payload or set(salt) != {"redacted"} or not isinstance(salt["redacted"], str) \
                    or not _DIGEST_HEX.fullmatch(salt["redacted"]):
                raise ValueError(f"the redacted field {name} is malformed")
            commitments[name] = salt["redacted"]
        elif name in payload:
            commitments[name] = _commitment(_salt(salt), payload[name])
        else:
            raise ValueError(f"the field {name} has neither a value nor its commitment")
    if all(isinstance(salt, str) for salt in fields.values()):
        raise ValueError("no field is redacted: an unredacted event's salts are {field: salt}")
    if any(name not in fields for name in _personal(type_, payload)):
        raise ValueError("a personal field has no salt")
    return hashlib.sha256(_mask(payload, commitments) + bytes.fromhex(text_sha256)).hexdigest()


def personal_salts_of(type_: str, payload: dict, row: bytes | str) -> dict:
    """A schema-version-3 salts row as an export writes it: ``{field: salt hex}``, or a redacted event's JSON."""
    if isinstance(row, str):
        return json.loads(row)
    names, joined, _ = _unredacted_salts(type_, payload, row)
    return {name: joined[SALT_BYTES * i:SALT_BYTES * (i + 1)].hex() for i, name in enumerate(names)}


def redacted_salts(type_: str, text: str, payload_sha256: str, row: bytes | str, field: str) -> str:
    """Schema version 3: the JSON salts row that keeps the hash of the payload ``text`` once ``field`` is
    removed from it.  ValueError if the row as stored does not hold: its m not the payload's (it was
    stored wrong), or the payload not its hash."""
    payload = json.loads(text)
    if isinstance(row, str):
        kept = json.loads(row)
        if _redacted_hash(type_, payload, kept) != payload_sha256:
            raise ValueError("its payload does not match its hash: run caselog verify")
        fields, text_sha256 = kept["fields"], kept["text_sha256"]
    else:
        names, joined, m = _unredacted_salts(type_, payload, row)
        if _mask(payload, _commitments(payload, names, joined)) != m:
            raise ValueError("its salts row holds a wrong digest of its payload (m): it was stored wrong, and "
                             "would not verify once redacted")
        t = hashlib.sha256(joined + text.encode("utf-8")).digest()
        if hashlib.sha256(m + t).hexdigest() != payload_sha256:
            raise ValueError("its payload does not match its hash: run caselog verify")
        fields, text_sha256 = personal_salts_of(type_, payload, row), t.hex()
    fields[field] = {"redacted": commitment(fields[field], payload[field])}
    return canonical({"fields": fields, "text_sha256": text_sha256})


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


def _payload_holds(event_id: str, type_: str, schema_version: int, payload: str, payload_sha256: str,
                   salts: bytes | str | None, redacted: dict[str, dict[str, str | None]]) -> bool:
    """Whether the stored payload is the one the chain committed to, less what was redacted by an event
    in the log: the cases ``check`` leaves, every one but an unredacted event of schema version 3."""
    if schema_version < 2:
        if sha256(payload) == payload_sha256:
            return True
        kept = redacted.get(event_id)
        return kept is not None and list(kept.values())[-1] == sha256(payload)
    try:
        fields = json.loads(payload)
        if schema_version == 2 and isinstance(salts, bytes):
            return _digest(fields, salts) == payload_sha256
        if not isinstance(salts, str):  # an unredacted version-3 row that ``check`` found the wrong size
            return False
        given = json.loads(salts)
        if schema_version == 2:
            digest, marks = payload_hash(fields, given), given
        elif schema_version == 3:
            digest, marks = _redacted_hash(type_, fields, given), given["fields"]
        else:
            return False
        if digest != payload_sha256:
            return False
    except (ValueError, TypeError, AttributeError):
        return False
    # A field someone removed while keeping its commitment still hashes right: only a logged redaction may.
    return all(name in redacted.get(event_id, ()) for name, salt in marks.items() if isinstance(salt, dict))


def check(conn: sqlite3.Connection, stretch: Stretch) -> Break | None:
    """Recompute the links of ``stretch``; the first that does not hold, or None."""
    expected, prev = stretch.start, stretch.prev
    anchor = stretch.anchor
    redacted = redactions(conn)
    new_hash, row_size = hashlib.sha256, SALTS_ROW_SIZE.get
    rows = conn.execute(SELECT_SALTED + " WHERE position BETWEEN ? AND ? ORDER BY position", (stretch.start, stretch.end))
    for (position, event_id, case, version, type_, schema_version, payload, payload_sha256, recorded_at, recorded_by,
         found, salts) in rows:
        if position != expected:
            return Break(expected, f"position {expected}: missing from the log (the next row is {position}): rows were deleted")
        # An unredacted event of schema version 3, nearly every new one, is checked here without a call
        # or a parse: this loop runs once an event, and its cost is most of verify --chain-only's.
        if schema_version == 3 and salts is None and type(payload) is str:
            holds = new_hash(payload.encode()).hexdigest() == payload_sha256
        elif schema_version == 3 and type(salts) is bytes and type(payload) is str and len(salts) == row_size(type_):
            holds = new_hash(salts[-DIGEST_BYTES:] + new_hash(salts[:-DIGEST_BYTES] + payload.encode()).digest()
                             ).hexdigest() == payload_sha256
        else:
            holds = _payload_holds(event_id, type_, schema_version, payload, payload_sha256, salts, redacted)
        if not holds:
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


def check_masks(conn: sqlite3.Connection) -> Break | None:
    """The first unredacted event of schema version 3 whose salts row's m is not SHA-256(M) of its payload,
    or None.  The chain holds such a row (m is hashed as stored), but a redaction of it could not verify."""
    for position, type_, payload, salts in conn.execute(
            f"SELECT position, type, payload, s.salts FROM events JOIN {SALTS} s USING (position) "
            "WHERE schema_version = 3 AND typeof(s.salts) = 'blob' ORDER BY position"):
        try:
            fields = json.loads(payload)
            names, joined, m = _unredacted_salts(type_, fields, salts)
            holds = _mask(fields, _commitments(fields, names, joined)) == m
        except (ValueError, TypeError, AttributeError):
            holds = False
        if not holds:
            return Break(position, f"position {position}: its salts do not hold the digest of its payload with its "
                                   "personal values committed to (m): it was stored wrong or rewritten")
    return None


def verdict(breaks: list[Break | None], last: Head, anchor: tuple[int, str] | None) -> Head:
    """The head, if no stretch broke and the anchor is within the log; else the first break, raised."""
    found = [b for b in breaks if b is not None]
    if found:
        raise TamperError(min(found, key=lambda b: b.position).message)
    if anchor is not None and anchor[0] > last.position:
        raise TamperError(f"position {anchor[0]}: the anchored event is missing: the log was truncated to {last.position} events")
    return last
