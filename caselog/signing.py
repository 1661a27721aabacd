"""Who wrote each stretch of the log: Ed25519 keys, signed checkpoints, and checking them.

The trust log is the table ``_caselog_trust``, beside ``events`` and like it
append-only.  Each entry names the events' head (position and link) when it
was made and is signed by its signer's key; each entry also carries the hash
of the entry before it, so the entries form a chain of their own.  Entries:

- ``key_added``: a clerk's (or an administrator's) public key.  The first
  entry is the administrator's, signed by itself (``keys init``); every later
  key entry must be signed by an administrator.
- ``key_revoked``: a key no longer signs, from that entry on.
- ``checkpoint``: the signer vouches for the head.  Every append and import
  ends with one (``detail`` says which), and ``caselog checkpoint`` makes one
  for the committee.  After an append, every event since the previous entry
  must be recorded by the signer.
  A ``redaction`` checkpoint closes a ``payload_redacted`` event (``caselog.redaction``) and must be
  an administrator's; an append's checkpoint may close none.

Someone who edits the file and recomputes every link cannot re-sign: the
first checkpoint after the edit no longer matches the chain.  Events logged
before ``keys init`` are reported as an unsigned stretch, not refused.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Callable

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from caselog import chain, database
from caselog import events as ev
from caselog.errors import InputError, TamperError

TABLE = "_caselog_trust"
FIELDS = ("seq", "kind", "name", "role", "key", "position", "head", "at", "signer", "detail", "prev", "signature")
ADMIN, CLERK = "admin", "clerk"
# What a checkpoint closes: the events of one append, of one import, or none (made for the committee).
APPEND, IMPORT, PUBLISHED, REDACTION = "append", "import", "published", "redaction"
_DOMAIN = b"caselog-trust-v1\n"  # a signature over a trust entry can never be taken for another message


# --- key files ------------------------------------------------------------------------


def new_key_file(path: str | Path, passphrase: str | None) -> Ed25519PrivateKey:
    """A new private key, written to ``path`` (which must not exist) readable by its owner only."""
    private = Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(passphrase.encode("utf-8")) if passphrase
                  else serialization.NoEncryption())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    # Created 0600 in the one call: a chmod afterwards would leave a moment when others could read it.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path} already exists: a key file is never overwritten") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return private


def key_is_encrypted(path: str | Path) -> bool:
    return b"ENCRYPTED" in Path(path).read_bytes()[:64]


def load_key(path: str | Path, passphrase: str | None) -> Ed25519PrivateKey:
    try:
        private = serialization.load_pem_private_key(Path(path).read_bytes(),
                                                     passphrase.encode("utf-8") if passphrase else None)
    except (ValueError, TypeError):
        raise InputError(f"{path}: not a caselog key, or the wrong passphrase") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 key")
    return private


def public_hex(private: Ed25519PrivateKey) -> str:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def fingerprint(key: str) -> str:
    """A short name for a public key, to read out or compare by eye."""
    return chain.sha256(key)[:16]


# --- the trust log ---------------------------------------------------------------------


def _message(entry: dict) -> bytes:
    return _DOMAIN + chain.canonical({k: entry[k] for k in FIELDS if k != "signature"}).encode("utf-8")


def _entry_hash(entry: dict) -> str:
    return chain.sha256(chain.canonical({k: entry[k] for k in FIELDS}))


def entries(conn: sqlite3.Connection, where: str = "", params: tuple = ()) -> list[dict]:
    sql = f"SELECT {', '.join(FIELDS)} FROM {TABLE} {where} ORDER BY seq"
    return [dict(zip(FIELDS, row)) for row in conn.execute(sql, params)]


def has_keys(conn: sqlite3.Connection) -> bool:
    return conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 1").fetchone() is not None


@attrs.define
class _Key:
    name: str
    role: str
    key: str
    added_at: str
    revoked_at: str | None = None


def _keyring(conn: sqlite3.Connection) -> dict[str, _Key]:
    """Every key the log holds, by its holder's name, as the key entries leave it."""
    ring: dict[str, _Key] = {}
    for entry in entries(conn, "WHERE kind IN ('key_added', 'key_revoked')"):
        _fold_key(ring, entry)
    return ring


def _fold_key(ring: dict[str, _Key], entry: dict) -> None:
    if entry["kind"] == "key_added":
        ring[entry["name"]] = _Key(entry["name"], entry["role"], entry["key"], entry["at"])
    elif entry["kind"] == "key_revoked" and entry["name"] in ring:
        ring[entry["name"]].revoked_at = entry["at"]


def keys(conn: sqlite3.Connection) -> list[dict]:
    """The log's keys, for ``caselog keys list``."""
    return [{"name": k.name, "role": k.role, "fingerprint": fingerprint(k.key), "added_at": k.added_at,
             "revoked_at": k.revoked_at or ""} for k in _keyring(conn).values()]


def _holder(conn: sqlite3.Connection, private: Ed25519PrivateKey, role: str | None = None) -> str:
    """The name under which the log holds ``private``'s public key, still in force."""
    key = public_hex(private)
    found = next((k for k in _keyring(conn).values() if k.key == key), None)
    if found is None:
        raise InputError(f"the key {fingerprint(key)} is not one of this log's keys (see `caselog keys list`)")
    if found.revoked_at is not None:
        raise InputError(f"the key of {found.name} was revoked at {found.revoked_at}")
    if role is not None and found.role != role:
        raise InputError(f"only an administrator may do this, and {found.name} is a {found.role}")
    return found.name


def administrator(conn: sqlite3.Connection, private: Ed25519PrivateKey) -> str:
    """The name of the administrator ``private`` belongs to; refused if it is a clerk's or not the log's."""
    return _holder(conn, private, ADMIN)


def signer_name(conn: sqlite3.Connection, private: Ed25519PrivateKey, claimed: str | None) -> str:
    """The clerk ``private`` belongs to; refused if the clerk named on the command line is another."""
    name = _holder(conn, private)
    if claimed is not None and claimed != name:
        raise InputError(f"the key given is {name}'s, not {claimed}'s: a clerk records under their own name only")
    return name


def _append(conn: sqlite3.Connection, private: Ed25519PrivateKey, signer: str, kind: str, *, name: str = "",
            role: str = "", key: str = "", detail: str = "") -> dict:
    """Sign and insert one entry; the caller holds the write transaction."""
    last = conn.execute(f"SELECT {', '.join(FIELDS)} FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    head = chain.head(conn)
    entry = {"seq": last[0] + 1 if last else 1, "kind": kind, "name": name, "role": role, "key": key,
             "position": head.position, "head": head.hash, "at": max(chain.now(), head.recorded_at), "signer": signer,
             "detail": detail, "prev": _entry_hash(dict(zip(FIELDS, last))) if last else chain.GENESIS}
    entry["signature"] = private.sign(_message(entry)).hex()
    conn.execute(f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(FIELDS))})", [entry[k] for k in FIELDS])
    return entry


def init(conn: sqlite3.Connection, name: str, make: Callable[[], Ed25519PrivateKey]) -> dict:
    """Name the log's administrator: the first entry, signed by the key ``make`` makes once the
    log is found to have no keys."""
    name = _name(name)
    with database.Transaction(conn):
        if has_keys(conn):
            raise InputError("this log's keys are already initialised; an administrator adds more with `caselog keys add`")
        private = make()
        return _append(conn, private, name, "key_added", name=name, role=ADMIN, key=public_hex(private))


def add(conn: sqlite3.Connection, admin: Ed25519PrivateKey, name: str, make: Callable[[], Ed25519PrivateKey],
        role: str = CLERK) -> dict:
    """An administrator adds ``name``'s key, made by ``make`` once the addition is found allowed."""
    name = _name(name)
    with database.Transaction(conn):
        signer = _holder(conn, admin, ADMIN)
        held = _keyring(conn).get(name)
        if held is not None and held.revoked_at is None:
            raise InputError(f"{name} already holds a key in force: revoke it first")
        return _append(conn, admin, signer, "key_added", name=name, role=role, key=public_hex(make()))


def revoke(conn: sqlite3.Connection, admin: Ed25519PrivateKey, name: str) -> dict:
    with database.Transaction(conn):
        signer = _holder(conn, admin, ADMIN)
        held = _keyring(conn).get(name)
        if held is None or held.revoked_at is not None:
            raise InputError(f"{name} holds no key in force")
        return _append(conn, admin, signer, "key_revoked", name=name, key=held.key)


def _name(name: str) -> str:
    try:
        return ev.checked_text(name)
    except (ValueError, TypeError) as error:
        raise InputError(f"the clerk's name: {error}") from None


Seal = Callable[[sqlite3.Connection], dict]


def seal(private: Ed25519PrivateKey, detail: str) -> Seal:
    """What ends a write: a checkpoint by ``private``'s holder, inside the write's transaction."""
    return lambda conn: _append(conn, private, _holder(conn, private), "checkpoint", detail=detail)


def checkpoint(conn: sqlite3.Connection, private: Ed25519PrivateKey) -> dict:
    """A signed head for the committee, logged as a checkpoint; as ``latest_checkpoint`` shows it."""
    with database.Transaction(conn):
        entry = seal(private, PUBLISHED)(conn)
    return {**entry, "signer_key": public_hex(private)}


def latest_checkpoint(conn: sqlite3.Connection) -> dict | None:
    """The last signed checkpoint, with its signer's public key: what a report can carry."""
    found = entries(conn, "WHERE seq = (SELECT max(seq) FROM _caselog_trust WHERE kind = 'checkpoint')")
    if not found:
        return None
    entry = found[0]
    held = _keyring(conn).get(entry["signer"])
    return {**entry, "signer_key": held.key if held else ""}


def required(conn: sqlite3.Connection, sealed: bool) -> None:
    """Refuse an unsigned write to a log whose writes are signed."""
    if not sealed and has_keys(conn):
        raise InputError("this log's writes are signed: give your key with --key FILE (or CASELOG_KEY)")


# --- checking ----------------------------------------------------------------------------


def _stretch(start: int, end: int) -> str:
    return f"position {end}" if start == end else f"positions {start}-{end}"


def verify(conn: sqlite3.Connection, head: chain.Head) -> list[str]:
    """Check every entry's signature and chain, and that each signed head is still the chain's;
    raise TamperError naming the first stretch that is unsigned, wrongly signed or rewritten.
    Returns lines for the reader: the unsigned stretch of an older log, who signed the rest."""
    ring: dict[str, _Key] = {}
    covered, prev, signers, unsigned_before, expected = 0, chain.GENESIS, set(), 0, 1
    for entry in entries(conn):
        seq, kind, signer, position = entry["seq"], entry["kind"], entry["signer"], entry["position"]
        stretch = _stretch(covered + 1, position) if position > covered else _stretch(position, position)
        where = f"{stretch} (trust entry {seq}, {kind} by {signer} at {entry['at']})"
        if entry["prev"] != prev or seq != expected:
            raise TamperError(f"{where}: does not follow the entry before it: signed entries were removed, inserted or reordered")
        if prev == chain.GENESIS:
            if kind != "key_added" or entry["role"] != ADMIN or entry["name"] != signer:
                raise TamperError(f"{where}: the first entry must name the administrator, signed by that key")
            key = entry["key"]
            unsigned_before = position
        else:
            held = ring.get(signer)
            if held is None:
                raise TamperError(f"{where}: {signer} holds no key in this log: the stretch is wrongly signed")
            if held.revoked_at is not None:
                raise TamperError(f"{where}: {signer}'s key was revoked at {held.revoked_at}: the stretch is wrongly signed")
            if (kind != "checkpoint" or entry["detail"] == REDACTION) and held.role != ADMIN:
                raise TamperError(f"{where}: {signer} is not an administrator: the stretch is wrongly signed")
            key = held.key
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(key)).verify(bytes.fromhex(entry["signature"]), _message(entry))
        except (InvalidSignature, ValueError):
            raise TamperError(f"{where}: the signature does not match: the entry was forged or altered") from None
        found = conn.execute("SELECT hash FROM events WHERE position = ?", (position,)).fetchone()
        if (found[0] if found else chain.GENESIS if position == 0 else None) != entry["head"]:
            raise TamperError(f"{where}: the chain no longer holds the head signed then: the log was rewritten")
        if position < covered:
            raise TamperError(f"{where}: signs a head before the one signed earlier: signed entries were reordered")
        if position > covered and prev != chain.GENESIS:
            if kind != "checkpoint":
                raise TamperError(f"{_stretch(covered + 1, position)}: unsigned: no checkpoint closes these events")
            if entry["detail"] == APPEND:
                redaction = conn.execute(f"SELECT position FROM events WHERE {chain.REDACTIONS} AND position > ? "
                                         "AND position <= ? LIMIT 1", (covered, position)).fetchone()
                if redaction is not None:
                    raise TamperError(f"position {redaction[0]}: a redaction closed by a clerk's append, not signed "
                                      "by an administrator as `caselog redact` signs it")
                other = conn.execute("SELECT position, recorded_by FROM events WHERE position > ? AND position <= ? "
                                     "AND recorded_by != ? ORDER BY position LIMIT 1", (covered, position, signer)).fetchone()
                if other is not None:
                    raise TamperError(f"position {other[0]}: recorded by {other[1]} but signed by {signer}: "
                                      "one clerk wrote under another's name")
        covered = max(covered, position)
        signers.add(signer)
        _fold_key(ring, entry)
        prev, expected = _entry_hash(entry), seq + 1
    if prev == chain.GENESIS:
        return [f"unsigned: {_stretch(1, head.position)}: this log has no keys (see `caselog keys init`)"] if head.position else []
    if covered < head.position:
        raise TamperError(f"{_stretch(covered + 1, head.position)}: unsigned: written without a key, or their checkpoint was removed")
    notes = []
    if unsigned_before:
        notes.append(f"unsigned: {_stretch(1, unsigned_before)}: logged before the keys were initialised")
    notes.append(f"signed: every entry and checkpoint verifies ({len(signers)} signer{'s' * (len(signers) != 1)})")
    return notes


def parse_checkpoint(text: str) -> dict:
    """A checkpoint as ``caselog checkpoint`` printed it, whose signature matches its contents."""
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if not isinstance(found, dict) or not set(FIELDS) | {"signer_key"} <= set(found):
        raise InputError("not a checkpoint printed by `caselog checkpoint` (one JSON object)")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(found["signer_key"])).verify(
            bytes.fromhex(found["signature"]), _message(found))
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        raise InputError("the checkpoint's signature does not match its contents: it was altered") from None
    return found


def check_checkpoint(conn: sqlite3.Connection, found: dict) -> None:
    """The log holds the very entry the checkpoint is, signed by the key the checkpoint names."""
    mine = entries(conn, "WHERE seq = ?", (found["seq"],))
    if not mine:
        raise TamperError(f"position {found['position']}: the log holds no trust entry {found['seq']}: it was truncated")
    if mine[0]["signature"] != found["signature"] or _keyring(conn).get(found["signer"], _Key("", "", "", "")).key != found["signer_key"]:
        raise TamperError(f"position {found['position']}: the log's trust entry {found['seq']} is not the checkpoint "
                          f"{found['signer']} signed at {found['at']}: the log or its keys were rewritten")
