"""Forgetting without breaking: an administrator removes a personal name from a logged event for good.

A payload of schema version 3 (every new event) salts its personal fields and commits to the rest
through them (``chain.personal_salted``).  Redacting a personal field rewrites the event's row without
the value and its salts row as JSON keeping the field's commitment and the digest of the payload's
text as logged: the payload's hash, the chain, the other fields and the signatures all still verify,
and the value can no longer be recovered or guessed.  Before it does, it checks that the salts row's
digest of the payload (m) is the payload's: verify checks a redacted event through it, and the
chain check of an unredacted one does not read it.  A payload of schema version 2 committed to each
field separately: the field's salt is replaced by its commitment in the same way.  A payload of
schema version 1 was committed to as a whole: redacting any field of it leaves nothing of the
original commitment to check, so verify checks the payload as kept against the hash the redaction
event records instead.

The redaction is an event itself (``payload_redacted``), appended, chained and, in a log with keys,
signed by an administrator in the same transaction as the rewrite.  The two append-only triggers
that forbid the rewrite are set aside inside that transaction only, as the bulk import sets aside
``events_no_replace``: no other connection, and no crash, ever sees the log without them.
"""

from __future__ import annotations

import json
import sqlite3

import attrs
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caselog import chain, database, signing, writer
from caselog import events as ev
from caselog.errors import InputError

_TRIGGERS = ("events_no_update", "salts_no_update")


@attrs.frozen
class Redaction:
    """What ``redact`` did."""

    event_id: str  # of the payload_redacted event
    target: str
    field: str
    whole: bool  # the target is of schema version 1: its payload's original commitment can no longer be checked
    wal_cleared: bool  # the write-ahead log holds no page of the log any more (False: a reader held it)


def redact(conn: sqlite3.Connection, target: str, field: str, reason: str, clerk: str,
           admin: Ed25519PrivateKey | None = None) -> Redaction:
    """Remove ``field``'s value from event ``target`` for good and log why; ``admin``'s key is required
    in a log with keys, and its holder is the one recorded."""
    with database.Transaction(conn):
        signing.required(conn, admin is not None)
        if admin is not None:
            clerk = signing.administrator(conn, admin)
        row = conn.execute(chain.SELECT_SALTED + " WHERE event_id = ?", (target,)).fetchone()
        if row is None:
            raise InputError(f"no event {target} in the log")
        data = dict(zip((*chain.COLUMNS, "salts"), row))
        payload = json.loads(data["payload"])
        _check(conn, data, payload, field)
        value = payload.pop(field)
        text = chain.canonical(payload)
        whole = data["schema_version"] < 2
        salts: str | None = None  # the salts row as rewritten
        if data["schema_version"] == 2:
            given = chain.salts_of({**payload, field: value}, data["salts"])
            salts = chain.canonical({**given, field: {"redacted": chain.commitment(given[field], value)}})
        elif not whole:
            try:
                salts = chain.redacted_salts(data["type"], data["payload"], data["payload_sha256"], data["salts"], field)
            except ValueError as error:
                raise InputError(f"event {target} cannot be redacted: {error}") from None
        try:
            event = ev.make(ev.PayloadRedacted.TYPE, {"target": data["event_id"], "field": field, "reason": reason,
                                                     **({"kept_sha256": chain.sha256(text)} if whole else {})})
        except ValueError as error:
            raise InputError(str(error)) from None
        # The pages this transaction rewrites are written with the freed bytes zeroed, not holding the
        # value: they are clean from the commit on, before VACUUM (which a busy writer can hold off).
        conn.execute("PRAGMA secure_delete = ON")
        triggers = conn.execute(f"SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN {_TRIGGERS}").fetchall()
        for name in _TRIGGERS:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE events SET payload = ? WHERE position = ?", (text, data["position"]))
        if salts is not None:
            conn.execute(f"UPDATE {chain.SALTS} SET salts = ? WHERE position = ?", (salts, data["position"]))
        for (sql,) in triggers:
            conn.execute(sql)
        [recorded] = writer.append_within(conn, [writer.Proposed(event, data["case"], clerk)])
        if admin is not None:
            signing.seal(admin, signing.REDACTION)(conn)
    conn.execute("PRAGMA secure_delete = OFF")  # back to the log's setting (database._prepare)
    return Redaction(recorded.event_id, data["event_id"], field, whole, _clear(conn))


def _check(conn: sqlite3.Connection, data: dict, payload: dict, field: str) -> None:
    type_, target = data["type"], data["event_id"]
    personal = ev.PERSONAL.get(type_, ())
    if field not in personal:
        named = "; ".join(f"{name} of {kind}" for kind, names in ev.PERSONAL.items() for name in names)
        raise InputError(f"{field!r} of {type_} is not a personal name; only these can be redacted: {named}")
    if field not in payload:
        if field in chain.redactions(conn).get(target, {}):
            raise InputError(f"the {field} of event {target} is already redacted")
        raise InputError(f"event {target} holds no {field} to redact")
    correction = conn.execute(
        f"SELECT event_id FROM events WHERE {database.CORRECTIONS} AND json_extract(payload, '$.target') = ? "
        f"AND json_extract(payload, '$.changes.{field}') IS NOT NULL", (target,)).fetchone()
    if correction is not None:
        # Its changes hold the name too, and a correction's changes are one field: not redactable alone.
        raise InputError(f"the {field} of event {target} was corrected by event {correction[0]}, which holds a "
                         f"{field} too: caselog cannot redact a correction's changes")


def _clear(conn: sqlite3.Connection) -> bool:
    """Rewrite the file from its live rows, and empty the write-ahead log; whether the WAL is empty.

    Pages freed before (the projections are dropped and rebuilt without zeroing, see
    ``database._prepare``) may still hold the value; VACUUM writes every page anew.  The WAL
    holds the pages as they were when the event was logged until a checkpoint truncates it.
    """
    conn.execute("VACUUM")
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy
