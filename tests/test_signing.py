"""Signed writes: who wrote each stretch of the log, and an attacker with the file but no key."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from caselog import chain, opening, signing
from caselog.chain import sha256
from integrity_support import chain_hash, copy_db

CASE = "(2022)浙0302行初{}号"


def run(db: Path, *args: str, key: Path | None = None, clerk: str | None = None, input: str | None = None,
        passphrase: str | None = None) -> Result:
    from cli import cli

    options = ["--db", str(db)] + (["--key", str(key)] if key else []) + (["--clerk", clerk] if clerk else [])
    return CliRunner().invoke(cli, [*options, *args], input=input,
                              env={"CASELOG_DB": None, "CASELOG_CLERK": None, "CASELOG_KEY": None,
                                   "CASELOG_KEY_PASSPHRASE": passphrase})


def ok(result: Result) -> Result:
    assert result.exit_code == 0 and result.exception is None, f"{result.stderr}{result.exception!r}"
    return result


def refused(result: Result, *words: str) -> str:
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("Error: "), result.stderr
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    return line


def file_case(n: int) -> list[str]:
    return ["file", CASE.format(n), "--filed-on", "2022-03-01", "--court", "某法院", "--agency", "市局",
            "--cause", "行政处罚"]


@pytest.fixture(scope="module")
def signed(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(log, administrator's key, clerk 李's key): two events logged before keys, then two by 李."""
    folder = tmp_path_factory.mktemp("signed")
    db, admin, li = folder / "caselog.db", folder / "admin.key", folder / "li.key"
    ok(run(db, *file_case(1), clerk="老王"))
    ok(run(db, *file_case(2), clerk="老王"))
    ok(run(db, "keys", "init", "--out", str(admin), clerk="张管理"))
    ok(run(db, "keys", "add", "李", "--out", str(li), key=admin))
    ok(run(db, *file_case(3), "--plaintiff", "欧阳娜娜", key=li))  # a salted payload, for the rewrites below
    ok(run(db, "hearing", CASE.format(3), "--held-on", "2022-05-10", "--attendance", "staff", key=li, clerk="李"))
    return db, admin, li


@pytest.fixture
def log(signed, tmp_path) -> tuple[Path, Path, Path]:
    db, admin, li = signed
    return copy_db(db, tmp_path / "caselog.db"), admin, li


def test_key_files_are_made_private_with_an_optional_passphrase(log, tmp_path):
    db, admin, _ = log
    assert stat.S_IMODE(os.stat(admin).st_mode) == 0o600
    protected = tmp_path / "wu.key"
    ok(run(db, "keys", "add", "吴", "--out", str(protected), "--passphrase", key=admin, input="芝麻开门\n芝麻开门\n"))
    assert stat.S_IMODE(os.stat(protected).st_mode) == 0o600 and signing.key_is_encrypted(protected)
    refused(run(db, *file_case(4), key=protected, passphrase="wrong"), "passphrase")
    ok(run(db, *file_case(4), key=protected, passphrase="芝麻开门"))
    ok(run(db, *file_case(5), key=protected, input="芝麻开门\n"))  # asked when CASELOG_KEY_PASSPHRASE is unset
    refused(run(db, "keys", "add", "郑", "--out", str(protected), key=admin), "never overwritten")


def test_every_write_is_signed_by_its_clerk_and_verify_says_so(log):
    db, _, _ = log
    result = ok(run(db, "verify"))
    assert "unsigned: positions 1-2: logged before the keys were initialised" in result.stderr
    assert "signed: every entry and checkpoint verifies" in result.stderr
    conn = opening.open_log(db, create=False)
    events = conn.execute("SELECT position, recorded_by FROM events ORDER BY position").fetchall()
    checkpoints = conn.execute("SELECT position, signer, detail FROM _caselog_trust WHERE kind = 'checkpoint'").fetchall()
    assert events == [(1, "老王"), (2, "老王"), (3, "李"), (4, "李")]
    assert checkpoints == [(3, "李", "append"), (4, "李", "append")]


def test_a_log_without_keys_keeps_working_and_reports_its_unsigned_stretch(tmp_path):
    db = tmp_path / "caselog.db"
    ok(run(db, *file_case(1), clerk="老王"))
    assert "unsigned: position 1: this log has no keys" in ok(run(db, "verify")).stderr
    refused(run(db, *file_case(2), key=tmp_path / "any.key"), "no keys yet")


def test_no_clerk_records_under_another_name_or_without_a_key(log):
    db, admin, li = log
    refused(run(db, *file_case(5), clerk="李"), "--key")
    refused(run(db, *file_case(5), key=li, clerk="张管理"), "李's, not 张管理's")
    refused(run(db, "keys", "add", "王", "--out", str(db.parent / "wang.key"), key=li), "administrator")
    ok(run(db, "keys", "revoke", "李", key=admin))
    refused(run(db, *file_case(5), key=li), "revoked")
    assert "李" in ok(run(db, "keys", "list", "--json")).stdout
    ok(run(db, "verify"))


def test_an_import_keeps_recorded_by_and_is_signed_by_the_importer(tmp_path):
    line = {"type": "case_filed", "case": CASE.format(9), "filed_on": "2021-01-05", "court": "某法院",
            "agency": "市局", "cause": "行政处罚", "recorded_by": "已退休的书记员", "recorded_at": "2021-01-06T00:00:00Z"}
    older = tmp_path / "old.jsonl"
    older.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    ok(run(fresh, "keys", "init", "--out", str(tmp_path / "a.key"), clerk="管理"))
    ok(run(fresh, "keys", "add", "李", "--out", str(tmp_path / "l.key"), key=tmp_path / "a.key"))
    refused(run(fresh, "import", str(older), clerk="李"), "--key")
    ok(run(fresh, "import", str(older), key=tmp_path / "l.key"))
    conn = opening.open_log(fresh, create=False)
    assert conn.execute("SELECT recorded_by FROM events").fetchall() == [("已退休的书记员",)]
    assert conn.execute("SELECT signer, detail FROM _caselog_trust WHERE kind = 'checkpoint'").fetchall() == [("李", "import")]
    ok(run(fresh, "verify"))


# --- an attacker who holds the file, knows SHA-256, but has no key -------------------------------


def _tamper(db: Path, edit) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    triggers = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    conn.execute("BEGIN")
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    edit(conn)
    for (sql,) in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()


def _relink(conn: sqlite3.Connection, start: int) -> None:
    """Recompute every payload hash (and its salts' digest of the payload) and link from ``start`` on, as
    the right hash functions would."""
    columns = (*chain.COLUMNS, "salts")
    prev = conn.execute("SELECT hash FROM events WHERE position = ?", (start - 1,)).fetchone()
    prev = prev[0] if prev else chain.GENESIS
    for values in conn.execute(chain.SELECT_SALTED + " WHERE position >= ? ORDER BY position", (start,)).fetchall():
        row = dict(zip(columns, values))
        if row["salts"] is None:
            row["payload_sha256"] = sha256(row["payload"])
        else:
            payload = json.loads(row["payload"])
            _, row["payload_sha256"], salts = chain.personal_salted(
                row["type"], payload, chain.personal_salts_of(row["type"], payload, row["salts"]))
            conn.execute("UPDATE _caselog_salts SET salts = ? WHERE position = ?", (salts, row["position"]))
        row["hash"] = chain_hash(row, prev)
        conn.execute("UPDATE events SET payload_sha256 = ?, hash = ? WHERE position = ?",
                     (row["payload_sha256"], row["hash"], row["position"]))
        prev = row["hash"]


def _rewrite_court(conn: sqlite3.Connection) -> None:
    conn.execute("""UPDATE events SET payload = json_set(payload, '$.court', '篡改法院') WHERE position = 3""")
    _relink(conn, 3)


def _rewrite_clerk(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE events SET recorded_by = '老王' WHERE position = 4")
    _relink(conn, 4)


def _drop_last_checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM _caselog_trust WHERE seq = (SELECT max(seq) FROM _caselog_trust)")


def _append_unsigned(conn: sqlite3.Connection) -> None:
    values = dict(zip(chain.COLUMNS, conn.execute(chain.SELECT + " WHERE position = 4").fetchone()))
    values.update(position=5, event_id="01a24256-0000-7000-8000-000000000005", version=3)
    values["hash"] = chain_hash(values, conn.execute("SELECT hash FROM events WHERE position = 4").fetchone()[0])
    conn.execute(f"INSERT INTO events VALUES ({', '.join('?' * len(values))})", list(values.values()))


def _forge_a_checkpoint(conn: sqlite3.Connection) -> None:
    """Rewrite, then sign the new head with a key of one's own, in 李's name."""
    _rewrite_court(conn)
    forged = signing.Ed25519PrivateKey.generate()
    conn.execute("DELETE FROM _caselog_trust WHERE kind = 'checkpoint'")
    signing._append(conn, forged, "李", "checkpoint", detail=signing.APPEND)


@pytest.mark.parametrize("attack, words", [
    (_rewrite_court, ("position 3", "rewritten")),
    (_rewrite_clerk, ("position 4", "rewritten")),
    (_drop_last_checkpoint, ("position 4", "unsigned")),
    (_append_unsigned, ("position 5", "unsigned")),
    (_forge_a_checkpoint, ("signature",)),
])
def test_an_attacker_without_a_key_is_caught_with_no_anchor(log, attack, words):
    db, _, _ = log
    _tamper(db, attack)
    ok(run(db, "rebuild"))
    refused(run(db, "verify", "--chain-only"), *words)


def test_a_checkpoint_anchors_the_log_to_its_keys(log, tmp_path):
    db, admin, li = log
    printed = ok(run(db, "checkpoint", key=li)).stdout
    assert printed.count("\n") == 1
    found = json.loads(printed)
    assert {k: found[k] for k in ("position", "signer", "detail")} == {"position": 4, "signer": "李", "detail": "published"}
    assert signing.latest_checkpoint(opening.open_log(db, create=False)) == found
    anchor = tmp_path / "checkpoint.json"
    anchor.write_text(printed, encoding="utf-8")
    ok(run(db, "verify", "--anchor", str(anchor)))

    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps({**found, "head": "0" * 64}), encoding="utf-8")
    refused(run(db, "verify", "--anchor", str(altered)), "altered")

    # Someone with the file rewrites history and replaces every key and signature with keys of
    # their own: the log is self-consistent again, and only the checkpoint sent away tells.
    def replace_everything(conn: sqlite3.Connection) -> None:
        _rewrite_court(conn)
        conn.execute("DELETE FROM _caselog_trust")
        own = signing.Ed25519PrivateKey.generate()
        conn.execute("UPDATE events SET recorded_by = '张管理' WHERE position > 2")
        _relink(conn, 3)
        signing._append(conn, own, "张管理", "key_added", name="张管理", role=signing.ADMIN, key=signing.public_hex(own))
        for detail in (signing.APPEND, signing.APPEND, signing.APPEND):
            signing._append(conn, own, "张管理", "checkpoint", detail=detail)

    _tamper(db, replace_everything)
    ok(run(db, "rebuild"))
    ok(run(db, "verify", "--chain-only"))
    refused(run(db, "verify", "--anchor", str(anchor)), "rewritten")
