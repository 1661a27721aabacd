"""Tampering with the file is caught: ``caselog verify`` exits 1 naming the first bad position.

Each test takes the example log (399 events), plays someone holding the file
with a plain sqlite3 connection (dropping the append-only triggers, changing
rows, putting the triggers back) and runs ``caselog verify``.  Changes that
leave a self-consistent chain (a truncated tail, a recomputed chain) are caught
only against an anchor: the ``caselog head`` output kept before the change.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid

import pytest

from caselog import parallel
from caselog.chain import sha256
from integrity_support import build_example_db, chain_hash, copy_db, invoke, tampering

COLUMNS = ("position", "event_id", "case", "version", "type", "schema_version", "payload",
           "payload_sha256", "recorded_at", "recorded_by", "hash")


@pytest.fixture(autouse=True, params=["one process", "two processes"])
def processes(request, monkeypatch):
    """Every kind of tampering is caught whether the chain is checked (and the projections rebuilt) whole or in two halves at once."""
    if request.param == "two processes":
        monkeypatch.setattr(parallel, "FROM_EVENTS", 2)
        monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    return request.param


@pytest.fixture(scope="module")
def example_db(tmp_path_factory):
    # Schema version 1: a payload hashed whole, the form these forgeries recompute (test_redaction.py
    # tampers with the salted fields of versions 2 and 3).
    return build_example_db(tmp_path_factory.mktemp("tamper") / "example.db", schema_version=1)


@pytest.fixture(scope="module")
def current_example_db(tmp_path_factory):
    """The example as every new event is stored (schema version 3): a payload that names no one hashed
    whole, as under 1, and one that names someone through its salts row."""
    return build_example_db(tmp_path_factory.mktemp("tamper") / "current.db")


@pytest.fixture
def db(example_db, tmp_path):
    return copy_db(example_db, tmp_path / "caselog.db")


def row(conn, position: int) -> dict:
    return dict(zip(COLUMNS, conn.execute(f"SELECT {', '.join(map(quote, COLUMNS))} FROM events WHERE position = ?",
                                          (position,)).fetchone()))


def quote(name: str) -> str:
    return f'"{name}"'


def insert(conn, data: dict) -> None:
    conn.execute(f"INSERT INTO events ({', '.join(map(quote, COLUMNS))}) VALUES ({', '.join('?' * len(COLUMNS))})",
                 [data[c] for c in COLUMNS])


def set_field(conn, position: int, **changes) -> None:
    assigns = ", ".join(f"{quote(k)} = ?" for k in changes)
    conn.execute(f"UPDATE events SET {assigns} WHERE position = ?", (*changes.values(), position))


def first_of_type(conn, type_: str, after: int) -> int:
    return conn.execute("SELECT min(position) FROM events WHERE type = ? AND position > ?", (type_, after)).fetchone()[0]


def head_of(db) -> str:
    result = invoke(db, "head")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def refused(result, position: int) -> str:
    """``verify`` failed with one 'Error: ' line naming ``position``; returns the line."""
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert "Traceback" not in result.output, shown
    assert result.exit_code == 1, shown
    line = result.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("Error: "), shown
    assert re.search(rf"\bposition {position}\b", line), f"position {position} not named: {line}"
    return line


# --- edits that break the chain at the edited row ------------------------------


def edit_payload(conn) -> int:
    position = first_of_type(conn, "hearing_held", 120)
    payload = json.loads(row(conn, position)["payload"])
    payload["attendance"] = "principal"
    payload["spoke"] = True
    set_field(conn, position, payload=json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    return position


def break_payload_json(conn) -> int:
    """A payload that is no longer JSON: a rebuild would fail on it; the broken chain is what is reported."""
    position = first_of_type(conn, "case_filed", 130)
    set_field(conn, position, payload='{"filed_on": "2019-')
    return position


def edit_payload_and_its_hash(conn) -> int:
    position = first_of_type(conn, "case_concluded", 150)
    payload = json.loads(row(conn, position)["payload"])
    payload["disposition"] = "claims_dismissed" if payload["disposition"] != "claims_dismissed" else "revoked"
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    set_field(conn, position, payload=text, payload_sha256=sha256(text))
    return position


def envelope(field: str, value):
    def edit(conn) -> int:
        position = 211
        old = row(conn, position)[field]
        new = value(old) if callable(value) else value
        assert new != old
        set_field(conn, position, **{field: new})
        return position

    edit.__name__ = f"edit_{field}"
    return edit


def delete_row(conn) -> int:
    conn.execute("DELETE FROM events WHERE position = 250")
    return 250


def move_rows_after(conn, position: int, by: int) -> None:
    # Two steps, so the primary key never collides while rows move; their salts, if any, move with them.
    for table in ("events", "_caselog_salts"):
        conn.execute(f"UPDATE {table} SET position = -position WHERE position > ?", (position,))
        conn.execute(f"UPDATE {table} SET position = -position + ? WHERE position < 0", (by,))


def insert_row(conn) -> int:
    """A forged hearing slipped in after position 180, its own link computed correctly.

    The forged row chains onto 180, so the first row that fails is the one
    after it (182, formerly 181), whose link still points at 180.
    """
    after = 180
    move_rows_after(conn, after, 1)
    model = row(conn, first_of_type(conn, "hearing_held", 0))
    case = model["case"]
    forged = {
        **model,
        "position": after + 1,
        "event_id": str(uuid.uuid4()),
        "version": conn.execute('SELECT max(version) FROM events WHERE "case" = ?', (case,)).fetchone()[0] + 1,
        "recorded_at": row(conn, after)["recorded_at"],
        "recorded_by": "forger",
    }
    forged["hash"] = chain_hash(forged, row(conn, after)["hash"])
    insert(conn, forged)
    conn.execute("INSERT INTO _caselog_salts SELECT ?, salts FROM _caselog_salts WHERE position = ?",
                 (after + 1, model["position"]))
    return after + 2


def insert_row_with_stale_hash(conn) -> int:
    """A copy of row 60 slipped in after it, keeping the copied hash."""
    move_rows_after(conn, 60, 1)
    copied = {**row(conn, 60), "position": 61, "event_id": str(uuid.uuid4()), "version": 999}
    insert(conn, copied)
    return 61


def swap_rows(conn) -> int:
    a, b = 140, 147
    conn.execute("UPDATE events SET position = -1 WHERE position = ?", (a,))
    conn.execute("UPDATE events SET position = ? WHERE position = ?", (a, b))
    conn.execute("UPDATE events SET position = ? WHERE position = -1", (b,))
    return a


def swap_payloads(conn) -> int:
    """Two hearings' payloads and payload hashes exchanged, envelopes left in place."""
    a = first_of_type(conn, "hearing_held", 300)
    b = first_of_type(conn, "hearing_held", a)
    ra, rb = row(conn, a), row(conn, b)
    set_field(conn, a, payload=rb["payload"], payload_sha256=rb["payload_sha256"])
    set_field(conn, b, payload=ra["payload"], payload_sha256=ra["payload_sha256"])
    return a


TAMPERS = [
    edit_payload,
    break_payload_json,
    edit_payload_and_its_hash,
    envelope("recorded_by", "someone-else"),
    envelope("recorded_at", lambda old: old.replace("T00", "T01")),
    envelope("case", "(2020)浙0202行初9999号"),
    envelope("version", lambda old: old + 100),
    envelope("event_id", lambda old: str(uuid.uuid4())),
    envelope("type", lambda old: "case_concluded" if old != "case_concluded" else "hearing_held"),
    envelope("schema_version", 2),
    delete_row,
    insert_row,
    insert_row_with_stale_hash,
    swap_rows,
    swap_payloads,
]


def test_the_log_every_tampering_starts_from_verifies(db):
    result = invoke(db, "verify")
    assert result.exit_code == 0 and "chain intact" in result.stderr, result.output


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t.__name__ for t in TAMPERS])
def test_verify_names_the_first_tampered_position(db, tamper):
    with tampering(db) as conn:
        position = tamper(conn)
    refused(invoke(db, "verify"), position)
    refused(invoke(db, "verify", "--chain-only"), position)


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t.__name__ for t in TAMPERS])
def test_the_chain_check_of_the_current_schema_version_names_the_first_tampered_position(current_example_db, tmp_path,
                                                                                          tamper):
    db = copy_db(current_example_db, tmp_path / "caselog.db")
    with tampering(db) as conn:
        position = tamper(conn)
    refused(invoke(db, "verify", "--chain-only"), position)


def test_edited_projection_is_caught(db):
    with tampering(db) as conn:
        changed = conn.execute("UPDATE cases SET court = '篡改法院' WHERE \"case\" = (SELECT min(\"case\") FROM cases)")
        assert changed.rowcount == 1
    result = invoke(db, "verify")
    assert result.exit_code == 1 and "projections" in result.stderr, result.output
    assert invoke(db, "verify", "--chain-only").exit_code == 0


# --- changes only an anchor can catch ------------------------------------------


def test_anchor_passes_on_an_untampered_log(db):
    anchor = head_of(db)
    assert anchor.startswith("399:")
    result = invoke(db, "verify", "--anchor", anchor)
    assert result.exit_code == 0, result.output
    assert f"head {anchor}" in result.stdout


def test_truncated_tail_fails_against_the_anchor(db):
    anchor = head_of(db)
    with tampering(db) as conn:
        conn.execute("DELETE FROM events WHERE position > 390")
    line = refused(invoke(db, "verify", "--anchor", anchor), 399)
    assert "390" in line and "truncat" in line.lower()


def recompute_chain(conn, start: int) -> None:
    """What someone holding the file would do: relink every row from ``start`` on."""
    prev = row(conn, start - 1)["hash"] if start > 1 else "0" * 64
    last = conn.execute("SELECT max(position) FROM events").fetchone()[0]
    for position in range(start, last + 1):
        data = row(conn, position)
        data["payload_sha256"] = sha256(data["payload"])
        data["hash"] = chain_hash(data, prev)
        set_field(conn, position, payload_sha256=data["payload_sha256"], hash=data["hash"])
        prev = data["hash"]


def rewrite_history(db) -> int:
    """Change the court of a filing, relink the chain and rebuild the projections."""
    with tampering(db) as conn:
        position = first_of_type(conn, "case_filed", 100)
        payload = json.loads(row(conn, position)["payload"])
        payload["court"] = "篡改法院"
        set_field(conn, position, payload=json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
        recompute_chain(conn, position)
    rebuilt = invoke(db, "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    return position


def test_recomputed_chain_fails_against_the_anchor(db):
    anchor = head_of(db)
    rewrite_history(db)
    result = invoke(db, "verify")
    assert result.exit_code == 0, f"the forgery is not self-consistent, so this test proves nothing: {result.output}"
    assert head_of(db) != anchor
    line = refused(invoke(db, "verify", "--anchor", anchor), 399)
    assert "anchor" in line


def test_recomputed_chain_fails_against_an_older_anchor(db):
    """A head printed when the log had 200 events still exposes a rewrite before 200."""
    with sqlite3.connect(db) as conn:
        older = f"200:{row(conn, 200)['hash']}"
    assert invoke(db, "verify", "--anchor", older).exit_code == 0
    position = rewrite_history(db)
    assert position < 200
    refused(invoke(db, "verify", "--anchor", older), 200)


# --- the triggers ---------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "UPDATE events SET recorded_by = 'someone-else' WHERE position = 5",
    "UPDATE events SET payload = '{}' WHERE position = 5",
    "UPDATE events SET position = 1000 WHERE position = 399",
    "DELETE FROM events WHERE position = 5",
    "DELETE FROM events WHERE position > 390",
    "DELETE FROM events",
])
def test_triggers_refuse_update_and_delete(db, sql):
    before = invoke(db, "export").stdout_bytes
    conn = sqlite3.connect(db, isolation_level=None)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(sql)
    conn.close()
    assert invoke(db, "export").stdout_bytes == before
    assert invoke(db, "verify").exit_code == 0


def test_insert_or_replace_cannot_overwrite_a_row(db):
    """REPLACE deletes the old row without firing DELETE triggers (unless recursive_triggers is on).

    ``sqlite-utils insert --replace`` and similar tools issue exactly this.
    """
    before = invoke(db, "export").stdout_bytes
    conn = sqlite3.connect(db, isolation_level=None)
    with conn:
        data = row(conn, 5)
    data["recorded_by"] = "someone-else"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute(f"INSERT OR REPLACE INTO events VALUES ({', '.join('?' * len(COLUMNS))})",
                     [data[c] for c in COLUMNS])
    conn.close()
    assert invoke(db, "export").stdout_bytes == before


# --- a relinked chain holding a history the writer would have refused ------------


def relinked(db, change) -> int:
    """Apply ``change`` (which returns the position it changed), relink the chain from there and
    rebuild the projections: a forgery whose chain and projections both hold."""
    with tampering(db) as conn:
        position = change(conn)
        recompute_chain(conn, position)
    rebuilt = invoke(db, "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert invoke(db, "verify", "--chain-only").exit_code == 0
    return position


def hearing_before_filing(conn) -> int:
    position = first_of_type(conn, "hearing_held", 100)
    case = row(conn, position)["case"]
    (filed,) = conn.execute("SELECT payload FROM events WHERE \"case\" = ? AND type = 'case_filed'", (case,)).fetchone()
    payload = json.loads(row(conn, position)["payload"])
    payload["held_on"] = f"{int(json.loads(filed)['filed_on'][:4]) - 1}-01-01"
    set_field(conn, position, payload=json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    return position


def recorded_before_the_event_before(conn) -> int:
    position = 200
    set_field(conn, position, recorded_at="2001-01-01T00:00:00Z")
    return position


@pytest.mark.parametrize("change, words", [(hearing_before_filing, "before the case was filed"),
                                           (recorded_before_the_event_before, "recorded_at")])
def test_verify_replays_the_history_a_relinked_chain_holds(db, change, words):
    """No anchor needed: the writer could never have logged this history."""
    position = relinked(db, change)
    line = refused(invoke(db, "verify"), position)
    assert words in line
