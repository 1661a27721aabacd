"""The interchange format (docs/domain.md): JSON Lines in and out.

One object a line: ``type``, ``case``, the payload's fields, and optionally the
envelope.  ``export`` writes the whole envelope, so importing an export into an
empty log reproduces it: the same events, ids and hashes.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Callable, Iterable, Iterator

from caselog import chain
from caselog import events as ev
from caselog.errors import CaselogError, InputError
from caselog.writer import Proposed

ENVELOPE = ("event_id", "recorded_at", "recorded_by", "version", "position", "schema_version", "payload_sha256", "hash",
            "salts")


def proposed_from_json(obj: object, clerk: str, source: str | None = None) -> Proposed:
    """An interchange-format object as a Proposed event."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}")
    data = dict(obj)
    type_ = data.pop("type", None)
    case = data.pop("case", None)
    if type_ is None or case is None:
        raise InputError("every event needs a type and a case")
    envelope = {k: data.pop(k) for k in ENVELOPE if k in data}
    try:
        case = ev.stream(type_, case)
        schema_version = envelope.get("schema_version", ev.SCHEMA_VERSION)
        if not isinstance(schema_version, int) or not 1 <= schema_version <= ev.SCHEMA_VERSION:
            raise ValueError(f"unknown schema_version {schema_version!r}")
        event = ev.make(type_, data if schema_version == ev.SCHEMA_VERSION else ev.upcast(type_, schema_version, data))
        for key in ("version", "position"):
            if key in envelope and (not isinstance(envelope[key], int) or isinstance(envelope[key], bool)):
                raise ValueError(f"{key} must be a whole number")
        return Proposed(
            event, case,
            recorded_by=envelope.get("recorded_by", clerk),  # checked by the writer, like every clerk name
            event_id=_field("event_id", ev.event_id, envelope),
            recorded_at=_field("recorded_at", chain.timestamp, envelope),
            version=envelope.get("version"),
            position=envelope.get("position"),
            schema_version=schema_version,
            stored=_stored(event, schema_version, envelope.get("salts")),
            hash=_field("hash", _hex_digest, envelope),
            source=source,
        )
    except (ValueError, TypeError) as error:
        raise InputError(str(error)) from None


def _stored(event: ev.Event, schema_version: int, salts: object) -> tuple[str, str, bytes | str | None]:
    """The payload as the line's schema version stores it: under version 1 hashed whole, as a log made
    then stored it; under versions 2 and 3 with the salts the line gives (an export's), or new ones."""
    if schema_version == 1:
        if salts is not None:
            raise ValueError("salts are for schema_version 2 and 3 only")
        return (*chain.stored(ev.payload(event)), None)
    if salts is not None and not isinstance(salts, dict):
        raise ValueError("salts must be an object of field: salt, as an export writes them")
    try:
        if schema_version == 2:
            return chain.committed(ev.payload(event), salts)
        return chain.personal_salted(event.TYPE, ev.payload(event), salts)
    except ValueError as error:
        raise ValueError(f"salts: {error}") from None


def _hex_digest(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError("expected 64 lowercase hexadecimal digits (a SHA-256)")
    return value


def _field(name: str, convert: Callable[[object], str], envelope: dict) -> str | None:
    if name not in envelope:
        return None
    try:
        return convert(envelope[name])
    except (InputError, ValueError, TypeError) as error:
        raise InputError(f"{name}: {error}") from None


class _DuplicateKey(Exception):
    """A JSON object gives one key twice."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    # json.loads keeps a repeated key's last value: a line saying held_on twice would be logged
    # with whichever came last, silently.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return obj


# Made once: json.loads with a hook makes a decoder on every call (BENCHMARKS.md has what the hook costs).
_decode = json.JSONDecoder(object_pairs_hook=_unique_keys).decode


def read_jsonl(lines: Iterable[bytes], clerk: str) -> Iterator[Proposed]:
    """Parse JSON Lines into Proposed events that know their line; blank lines are skipped."""
    for number, raw in enumerate(lines, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"line {number}: not valid UTF-8") from None
        if number == 1:
            text = text.lstrip("\ufeff")
        if not text.strip():
            continue
        try:
            obj = _decode(text)
        except _DuplicateKey as error:
            raise InputError(f"line {number}: the key {ev.shown(error.args[0])} is given twice: give each key once") from None
        except json.JSONDecodeError as error:
            raise InputError(f"line {number}: not valid JSON ({error.msg} at column {error.colno})") from None
        except (ValueError, RecursionError) as error:  # absurd nesting, or an integer of thousands of digits
            raise InputError(f"line {number}: not JSON caselog can read ({type(error).__name__})") from None
        try:
            yield proposed_from_json(obj, clerk, f"line {number}")
        except CaselogError as error:
            raise type(error)(f"line {number}: {error}") from None


def export_row(row: tuple) -> dict:
    """A stored row (``chain.COLUMNS``, then its salts or None) in the interchange format: the payload's
    fields flat, with the whole envelope; a redacted field is in the salts only, as its marker."""
    data = dict(zip((*chain.COLUMNS, "salts"), row))
    payload = json.loads(data["payload"])
    out = {"type": data["type"], "case": data["case"], **payload}
    for key in ENVELOPE:
        if key != "salts":
            out[key] = data[key]
    if data["salts"] is not None:
        out["salts"] = (chain.salts_of(payload, data["salts"]) if data["schema_version"] == 2 else
                        chain.personal_salts_of(data["type"], payload, data["salts"]))
    return out


def export(conn: sqlite3.Connection) -> Iterator[dict]:
    for row in conn.execute(chain.SELECT_SALTED + " ORDER BY position"):
        yield export_row(row)
