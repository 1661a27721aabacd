"""Forgetting without breaking: `caselog redact` removes a personal name for good while the chain,
every other field and the signatures still verify (issue 20 part 4), in a log of schema version 3
(every new event) and in one of 2 (as the code before 3 wrote them)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from caselog import chain, parallel
from caselog import events as ev
from integrity_support import tampering
from test_signing import ok, refused, run

CASE = "(2022)浙0302行初{}号"
NAME = "欧阳娜娜"  # the plaintiff who asks to be forgotten
OTHER = "上官婉儿"  # another, whose case was logged while a reader kept the write-ahead log
OFFICIAL = "司马光明"
#: A log of schema version 2 with a redaction, as the code before version 3 exported it (commit 867decd).
V2_LOG = Path(__file__).resolve().parent / "fixtures" / "v2-log.jsonl"


def file_case(n: int, plaintiff: str = NAME) -> list[str]:
    return ["file", CASE.format(n), "--filed-on", "2022-03-01", "--court", "某法院", "--agency", "市局",
            "--cause", "行政处罚", "--plaintiff", plaintiff, "--json"]


def filed(db: Path, n: int, key: Path | None = None, plaintiff: str = NAME) -> str:
    return json.loads(ok(run(db, *file_case(n, plaintiff), key=key, clerk=None if key else "老王")).stdout)["event_id"]


def exported(db: Path) -> list[dict]:
    return [json.loads(line) for line in ok(run(db, "export")).stdout.splitlines()]


def holds(path: Path, text: str) -> bool:
    return path.exists() and text.encode("utf-8") in path.read_bytes()


@pytest.fixture(params=[3, 2], ids=["v3", "v2"])
def log(tmp_path, request) -> tuple[Path, str]:
    """A log of two cases, the first brought by NAME and heard before OFFICIAL, of the schema version
    the parameter says; its projections were rebuilt once, which frees pages holding NAME without
    zeroing them."""
    db = tmp_path / "caselog.db"
    if request.param == 3:
        target = filed(db, 1)
        ok(run(db, "hearing", CASE.format(1), "--held-on", "2022-04-01", "--attendance", "deputy", "--spoke",
               "--official", OFFICIAL))
        filed(db, 2, plaintiff="张三")
    else:
        imported(db, [filing(1, NAME), {"type": "hearing_held", "case": CASE.format(1), "held_on": "2022-04-01",
                                        "attendance": "deputy", "spoke": True, "official": OFFICIAL},
                      filing(2, "张三")], schema_version=2)
        target = exported(db)[0]["event_id"]
    ok(run(db, "rebuild"))
    return db, target


def filing(n: int, plaintiff: str) -> dict:
    return {"type": "case_filed", "case": CASE.format(n), "filed_on": "2022-03-01", "court": "某法院",
            "agency": "市局", "cause": "行政处罚", "plaintiff": plaintiff}


def imported(db: Path, lines: list[dict], **envelope: object) -> None:
    source = db.with_suffix(".jsonl")
    source.write_text("".join(json.dumps({**line, **envelope}, ensure_ascii=False) + "\n" for line in lines), "utf-8")
    ok(run(db, "import", str(source)))


def marks(salts: dict) -> dict:
    """An exported event's salts by field, a redacted field as its marker, of either schema version."""
    return salts.get("fields", salts)


def test_a_redacted_name_is_gone_from_the_file_its_wal_the_projections_exports_and_backups(log, tmp_path):
    db, target = log
    wal = Path(f"{db}-wal")
    assert holds(db, NAME) or holds(wal, NAME)
    reader = sqlite3.connect(db)  # keeps the -wal file, which the last connection to close would delete
    reader.execute("SELECT count(*) FROM events").fetchone()
    later = filed(db, 3, plaintiff=OTHER)
    assert holds(wal, OTHER)
    summary_before = json.loads(ok(run(db, "summary", "--year", "2022", "--format", "json")).stdout)
    salt = exported(db)[0]["salts"]["plaintiff"]
    prefix = target[:23]  # the ids of an import, made within a millisecond, share their first 13 characters
    result = ok(run(db, "redact", prefix, "--field", "plaintiff", "--reason", "当事人申请删除个人信息"))
    assert f"redacted the plaintiff of event {target}" in result.stderr and "schema version 1" not in result.stderr
    ok(run(db, "redact", later, "--field", "plaintiff", "--reason", "当事人申请删除个人信息"))
    assert wal.exists()
    for path in (db, wal):
        for name in (NAME, OTHER):
            assert not holds(path, name), f"{path.name} still holds {name}"
        # Nor its salt, without which no one can test a guess at the name against what is kept.
        assert not holds(path, salt) and bytes.fromhex(salt) not in path.read_bytes()
    reader.close()

    assert "ok: 6 events" in ok(run(db, "verify")).stderr
    assert sqlite3.connect(db).execute('SELECT plaintiff FROM cases WHERE "case" = ?', (CASE.format(1),)).fetchone() == (None,)
    detail = json.loads(ok(run(db, "show", CASE.format(1), "--json")).stdout)
    assert "plaintiff" not in detail["trail"][0]["payload"] and detail["state"]["plaintiff"] is None
    rows = exported(db)
    assert NAME not in json.dumps(rows, ensure_ascii=False)
    assert set(marks(rows[0]["salts"])["plaintiff"]) == {"redacted"}
    [redaction] = [row for row in rows if row.get("target") == target]
    assert {k: redaction[k] for k in ("type", "case", "field", "reason", "version")} == {
        "type": "payload_redacted", "case": CASE.format(1), "field": "plaintiff", "reason": "当事人申请删除个人信息",
        "version": 3}
    ok(run(db, "backup", str(tmp_path / "backup.db")))
    assert not holds(tmp_path / "backup.db", NAME)
    # Everything else is as it was: the official, the other plaintiff, and every figure.
    assert holds(db, OFFICIAL) and holds(db, "张三")
    summary_after = json.loads(ok(run(db, "summary", "--year", "2022", "--format", "json")).stdout)
    assert {**summary_after, "head": None} == {**summary_before, "head": None}


def test_copies_of_the_name_in_pages_freed_before_are_gone_too(tmp_path):
    """Refreshes and rebuilds free the projections' old rows without zeroing them: on a log of some
    size, copies of the name outlive its row unless the file is rewritten."""
    db, source = tmp_path / "caselog.db", tmp_path / "cases.jsonl"
    lines = [{"type": "case_filed", "case": CASE.format(n), "filed_on": "2022-03-01", "court": "某法院",
              "agency": "市局", "cause": "行政处罚", "plaintiff": NAME if n == 5 else f"原告{n}"} for n in range(1, 400)]
    lines += [{"type": "hearing_held", "case": CASE.format(n), "held_on": "2022-04-01", "attendance": "staff"}
              for n in range(1, 400)]
    source.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8")
    ok(run(db, "import", str(source)))
    ok(run(db, "rebuild"))
    for day in ("2022-05-02", "2022-05-03"):
        ok(run(db, "hearing", CASE.format(5), "--held-on", day, "--attendance", "staff"))
    ok(run(db, "rebuild"))
    [filing] = [row for row in exported(db) if row["case"] == CASE.format(5) and row["type"] == "case_filed"]
    ok(run(db, "redact", filing["event_id"], "--field", "plaintiff", "--reason", "申请删除"))
    assert not holds(db, NAME)


def test_the_case_goes_on_and_the_triggers_still_refuse_edits_after_a_redaction(log):
    db, target = log
    ok(run(db, "redact", target, "--field", "plaintiff", "--reason", "申请删除"))
    ok(run(db, "conclude", CASE.format(1), "--decided-on", "2022-06-01", "--disposition", "revoked"))
    conn = sqlite3.connect(db)
    for sql in ("UPDATE events SET payload = '{}' WHERE position = 1", "UPDATE _caselog_salts SET salts = '{}'",
                "DELETE FROM _caselog_salts"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    assert "ok: 5 events" in ok(run(db, "verify")).stderr


def test_an_export_with_a_redaction_imports_into_an_empty_log_with_the_same_hashes(log, tmp_path):
    db, target = log
    ok(run(db, "redact", target, "--field", "plaintiff", "--reason", "申请删除"))
    source = tmp_path / "export.jsonl"
    source.write_text(ok(run(db, "export")).stdout, "utf-8")
    copy = tmp_path / "copy.db"
    ok(run(copy, "import", str(source)))
    assert ok(run(copy, "export")).stdout == source.read_text("utf-8")
    assert "ok: 4 events" in ok(run(copy, "verify")).stderr


@pytest.mark.parametrize("log, misfit", [
    (2, lambda salts: salts.pop("court")),
    (3, lambda salts: salts.update(court="00" * 16)),  # only the personal fields have salts
    (3, lambda salts: salts.pop("plaintiff")),
    (3, lambda salts: salts.update(plaintiff="00" * 15)),
], indirect=["log"])
def test_an_import_line_whose_salts_do_not_fit_its_fields_is_refused(log, misfit, tmp_path):
    db, _ = log
    first = exported(db)[0]
    misfit(first["salts"])
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps(first, ensure_ascii=False) + "\n", "utf-8")
    refused(run(tmp_path / "copy.db", "import", str(source)), "line 1", "salts")


def rewrite(db: Path, position: int, payload: dict | None = None, salts: dict | bytes | None = None) -> None:
    with tampering(db) as conn:
        if payload is not None:
            conn.execute("UPDATE events SET payload = ? WHERE position = ?", (chain.canonical(payload), position))
        if salts is not None:
            conn.execute("UPDATE _caselog_salts SET salts = ? WHERE position = ?",
                         (salts if isinstance(salts, bytes) else chain.canonical(salts), position))


def stored(db: Path, position: int) -> tuple[dict, dict]:
    """Schema version 2: the event's payload and its salts by field."""
    payload, salts = sqlite3.connect(db).execute(
        "SELECT payload, salts FROM events JOIN _caselog_salts USING (position) WHERE position = ?", (position,)).fetchone()
    return json.loads(payload), chain.salts_of(json.loads(payload), salts)


def row(db: Path, position: int) -> dict:
    """The event's row as stored, its salts row's bytes or text under "salts"."""
    found = sqlite3.connect(db).execute(chain.SELECT_SALTED + " WHERE position = ?", (position,)).fetchone()
    return {**dict(zip((*chain.COLUMNS, "salts"), found)), "fields": json.loads(found[6])}


# Schema version 2: position 1's plaintiff is redacted, the hearing at 2 and the filing at 3 are not.

def forge_a_redaction(db: Path) -> None:
    """The official's value removed and its salt replaced by its commitment, with no redaction logged:
    the hashes still hold."""
    payload, salts = stored(db, 2)
    salts["official"] = {"redacted": chain.commitment(salts["official"], payload.pop("official"))}
    rewrite(db, 2, payload, salts)


def alter_another_field(db: Path) -> None:
    payload, _ = stored(db, 1)
    rewrite(db, 1, {**payload, "agency": "别的局"})


def put_back_another_value(db: Path) -> None:
    payload, salts = stored(db, 1)
    salts["plaintiff"] = "00" * 16
    rewrite(db, 1, {**payload, "plaintiff": "李四"}, salts)


def drop_a_salt(db: Path) -> None:
    payload, salts = stored(db, 1)
    del salts["court"]
    rewrite(db, 1, salts=salts)


# Schema version 3, the same log.

def forge_a_v3_redaction(db: Path) -> None:
    """The official's value removed and the salts row rewritten as `caselog redact` would, with no
    redaction logged: the hashes still hold."""
    hearing = row(db, 2)
    salts = chain.redacted_salts(hearing["type"], hearing["payload"], hearing["payload_sha256"], hearing["salts"],
                                 "official")
    del hearing["fields"]["official"]
    rewrite(db, 2, hearing["fields"], json.loads(salts))


def alter_a_field_of_the_redacted_event(db: Path) -> None:
    rewrite(db, 1, {**row(db, 1)["fields"], "agency": "别的局"})


def put_back_another_name_with_a_salt_of_ones_own(db: Path) -> None:
    redacted = row(db, 1)
    salts = json.loads(redacted["salts"])
    salts["fields"]["plaintiff"] = "00" * 16
    rewrite(db, 1, {**redacted["fields"], "plaintiff": "李四"}, salts)


def edit_the_kept_text_digest(db: Path) -> None:
    salts = json.loads(row(db, 1)["salts"])
    salts["text_sha256"] = "0" * 64
    rewrite(db, 1, salts=salts)


def edit_m(db: Path) -> None:
    salts = row(db, 2)["salts"]
    rewrite(db, 2, salts=salts[:-1] + bytes([salts[-1] ^ 1]))


def edit_a_salt(db: Path) -> None:
    salts = row(db, 3)["salts"]
    rewrite(db, 3, salts=bytes([salts[0] ^ 1]) + salts[1:])


def alter_a_field_of_an_unredacted_event(db: Path) -> None:
    rewrite(db, 2, {**row(db, 2)["fields"], "attendance": "staff"})


def remove_a_name_keeping_its_salt(db: Path) -> None:
    filing = row(db, 3)["fields"]
    del filing["plaintiff"]
    rewrite(db, 3, filing)


def move_a_byte_of_the_text_into_the_salts(db: Path) -> None:
    """SHA-256(S ‖ P) is the same if the payload's first byte moves to the end of the salts: only the row's
    size tells them apart."""
    hearing = row(db, 2)
    salts, text = hearing["salts"], hearing["payload"]
    with tampering(db) as conn:
        conn.execute("UPDATE events SET payload = ? WHERE position = 2", (text[1:],))
        conn.execute("UPDATE _caselog_salts SET salts = ? WHERE position = 2",
                     (salts[:-chain.DIGEST_BYTES] + text[:1].encode() + salts[-chain.DIGEST_BYTES:],))


@pytest.mark.parametrize("log, attack", [
    *((2, attack) for attack in (forge_a_redaction, alter_another_field, put_back_another_value, drop_a_salt)),
    *((3, attack) for attack in (forge_a_v3_redaction, alter_a_field_of_the_redacted_event,
                                 put_back_another_name_with_a_salt_of_ones_own, edit_the_kept_text_digest, edit_m,
                                 edit_a_salt, alter_a_field_of_an_unredacted_event, remove_a_name_keeping_its_salt,
                                 move_a_byte_of_the_text_into_the_salts)),
], indirect=["log"])
def test_verify_checks_every_field_a_redaction_left_and_every_redaction_is_logged(log, attack):
    db, target = log
    ok(run(db, "redact", target, "--field", "plaintiff", "--reason", "申请删除"))
    attack(db)
    line = refused(run(db, "verify", "--chain-only"), "position")
    assert "payload does not match its hash" in line


@pytest.mark.parametrize("log", [3], indirect=True)
def test_a_redacted_v3_row_keeps_only_commitments_and_the_texts_digest(log):
    """What a guess could be tested against is gone: the row holds the commitment and t, each a hash over
    the salt that was removed with the value."""
    db, target = log
    before = row(db, 1)
    salt = before["salts"][:chain.SALT_BYTES]
    ok(run(db, "redact", target, "--field", "plaintiff", "--reason", "申请删除"))
    after = row(db, 1)
    kept = json.loads(after["salts"])
    assert set(kept) == {"fields", "text_sha256"} and set(kept["fields"]) == {"plaintiff"}
    commitment = chain.commitment(salt.hex(), NAME)
    assert kept["fields"]["plaintiff"] == {"redacted": commitment}
    assert kept["text_sha256"] == hashlib.sha256(salt + before["payload"].encode()).hexdigest()
    assert NAME not in after["payload"] + after["salts"] and salt.hex() not in after["salts"]
    assert after["payload_sha256"] == before["payload_sha256"] and after["hash"] == before["hash"]
    assert isinstance(row(db, 2)["salts"], bytes)  # the official's event is as it was
    assert "ok: 4 events" in ok(run(db, "verify")).stderr


def test_a_log_of_schema_version_2_made_before_version_3_still_verifies_redacts_and_round_trips(tmp_path):
    db, source = tmp_path / "caselog.db", tmp_path / "export.jsonl"
    ok(run(db, "import", str(V2_LOG)))  # each line's hash, salts included, is checked as it is logged
    assert ok(run(db, "export")).stdout == V2_LOG.read_text("utf-8")
    assert "ok: 6 events" in ok(run(db, "verify")).stderr
    events = exported(db)
    assert {row["schema_version"] for row in events} == {2}
    for position, field in ((1, "plaintiff"), (2, "official")):
        ok(run(db, "redact", events[position - 1]["event_id"], "--field", field, "--reason", "申请删除"))
    filed(db, 4)
    assert "ok: 9 events" in ok(run(db, "verify")).stderr
    assert not holds(db, NAME) and not holds(db, OFFICIAL)
    rows = exported(db)
    assert [row["schema_version"] for row in rows] == [2] * 6 + [3] * 3  # the redactions are new events too
    assert set(marks(rows[1]["salts"])) == {"attendance", "held_on", "level", "official", "spoke"}
    source.write_text(ok(run(db, "export")).stdout, "utf-8")
    copy = tmp_path / "copy.db"
    ok(run(copy, "import", str(source)))
    assert ok(run(copy, "export")).stdout == source.read_text("utf-8")


@pytest.mark.parametrize("apart", [False, True], ids=["one process", "two processes"])
def test_an_event_stored_with_a_wrong_m_holds_the_chain_but_not_a_full_verify_nor_a_redaction(log, monkeypatch,
                                                                                             apart):
    """m, the digest of the payload with its names committed to, is hashed into the payload's hash as
    stored and read only once a field is redacted: a writer that got it wrong is caught before then."""
    db, _ = log
    if apart:  # the full verify checks the masks (here of one event that names someone) in a second process
        monkeypatch.setattr(parallel, "FROM_EVENTS", 1)
        monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    with monkeypatch.context() as wrong:
        wrong.setattr(chain, "_mask", lambda payload, commitments: bytes(chain.DIGEST_BYTES))
        target = filed(db, 3, plaintiff=OTHER)
    assert "ok: 4 events, chain intact" in ok(run(db, "verify", "--chain-only")).stderr
    refused(run(db, "verify"), "position 4", "(m)")
    refused(run(db, "redact", target, "--field", "plaintiff", "--reason", "申请删除"), "cannot be redacted", "stored wrong")
    assert holds(db, OTHER) or holds(Path(f"{db}-wal"), OTHER)


def test_each_event_type_has_one_personal_field_at_most():
    """The chain check tells a version-3 salts row's salts from the payload it hashes with them by the
    row's size (``chain.SALTS_ROW_SIZE``): a type with two personal fields, one of them left out, would
    need to learn which from the payload first."""
    assert all(len(names) == 1 for names in ev.PERSONAL.values())


def test_an_event_of_schema_version_1_is_redacted_as_a_whole_and_checked_against_the_redaction(tmp_path):
    db = tmp_path / "caselog.db"
    lines = [{"type": "case_filed", "case": CASE.format(1), "schema_version": 1, "filed_on": "2022-03-01",
              "court": "某法院", "agency": "市局", "cause": "行政处罚", "plaintiff": NAME}]
    source = tmp_path / "old.jsonl"
    source.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8")
    ok(run(db, "import", str(source)))
    [old] = exported(db)
    assert old["schema_version"] == 1 and "salts" not in old

    result = ok(run(db, "redact", old["event_id"], "--field", "plaintiff", "--reason", "申请删除"))
    assert "schema version 1" in result.stderr and "as a whole" in result.stderr
    assert not holds(db, NAME)
    assert "ok: 2 events" in ok(run(db, "verify")).stderr
    [kept, redaction] = exported(db)
    assert kept["payload_sha256"] == old["payload_sha256"] and "plaintiff" not in kept
    assert redaction["kept_sha256"] == chain.sha256(chain.canonical(
        {k: kept[k] for k in ("agency", "cause", "court", "filed_on")}))
    with tampering(db) as conn:  # the fields kept are checked against the redaction: an edit is caught
        conn.execute("UPDATE events SET payload = json_set(payload, '$.court', '别的法院') WHERE position = 1")
    refused(run(db, "verify", "--chain-only"), "position 1", "does not match")


def test_what_cannot_be_redacted_is_refused_in_one_line(log):
    db, target = log
    refused(run(db, "redact", target, "--field", "court", "--reason", "x"), "not a personal name", "plaintiff")
    refused(run(db, "redact", target, "--field", "plaintiff", "--reason", " "), "reason")
    refused(run(db, "redact", "01234567-89ab", "--field", "plaintiff", "--reason", "x"), "unknown event")
    third = json.loads(ok(run(db, *file_case(3))).stdout)["event_id"]
    ok(run(db, "correct", third, "--set", "plaintiff=欧阳某某", "--reason", "写错了"))
    refused(run(db, "redact", third, "--field", "plaintiff", "--reason", "x"), "corrected by event")
    ok(run(db, "redact", target, "--field", "plaintiff", "--reason", "申请删除"))
    refused(run(db, "redact", target, "--field", "plaintiff", "--reason", "x"), "already redacted")
    no_plaintiff = ["file", CASE.format(4), "--filed-on", "2022-03-01", "--court", "某法院", "--agency", "市局",
                    "--cause", "行政处罚", "--json"]
    fourth = json.loads(ok(run(db, *no_plaintiff)).stdout)["event_id"]
    refused(run(db, "redact", fourth, "--field", "plaintiff", "--reason", "x"), "holds no plaintiff")


def test_in_a_log_with_keys_only_an_administrator_redacts_and_verify_checks_the_signature(tmp_path):
    """A plaintiff and an official, each of a new event (schema version 3)."""
    db, admin, li = tmp_path / "caselog.db", tmp_path / "admin.key", tmp_path / "li.key"
    ok(run(db, "keys", "init", "--out", str(admin), clerk="张管理"))
    ok(run(db, "keys", "add", "李", "--out", str(li), key=admin))
    target = filed(db, 1, key=li)
    refused(run(db, "redact", target, "--field", "plaintiff", "--reason", "x"), "--key")
    refused(run(db, "redact", target, "--field", "plaintiff", "--reason", "x", key=li), "only an administrator")
    refused(run(db, "redact", target, "--field", "plaintiff", "--reason", "x", key=admin, clerk="李"), "张管理's, not 李's")
    assert holds(db, NAME) or holds(Path(f"{db}-wal"), NAME)
    ok(run(db, "redact", target, "--field", "plaintiff", "--reason", "申请删除", key=admin))
    assert exported(db)[-1]["recorded_by"] == "张管理"
    assert not holds(db, NAME)
    ok(run(db, "hearing", CASE.format(1), "--held-on", "2022-04-01", "--attendance", "deputy", "--spoke",
           "--official", OFFICIAL, key=li))
    hearing = exported(db)[-1]
    ok(run(db, "redact", hearing["event_id"], "--field", "official", "--reason", "申请删除", key=admin))
    assert not holds(db, OFFICIAL)
    [kept] = [row for row in exported(db) if row["event_id"] == hearing["event_id"]]
    assert {k: v for k, v in kept.items() if k != "salts"} == {
        k: v for k, v in hearing.items() if k not in ("official", "salts")}
    verified = ok(run(db, "verify"))
    assert "ok: 4 events" in verified.stderr
    assert "signed: every entry and checkpoint verifies (2 signers)" in verified.stderr


@pytest.mark.parametrize("detail, words", [
    ("append", ("position 2", "closed by a clerk's append")),
    ("redaction", ("李 is not an administrator",)),
])
def test_a_redaction_signed_by_a_clerk_is_caught(tmp_path, detail, words):
    """A clerk who logs a redaction through the library, with their own key, is named by verify."""
    from caselog import opening, signing, writer

    db, admin, li = tmp_path / "caselog.db", tmp_path / "admin.key", tmp_path / "li.key"
    ok(run(db, "keys", "init", "--out", str(admin), clerk="张管理"))
    ok(run(db, "keys", "add", "李", "--out", str(li), key=admin))
    target = filed(db, 1, key=li)
    conn = opening.open_log(db)
    event = ev.make("payload_redacted", {"target": target, "field": "plaintiff", "reason": "我想删"})
    writer.append(conn, [writer.Proposed(event, CASE.format(1), "李")], seal=signing.seal(signing.load_key(li, None), detail))
    conn.close()
    refused(run(db, "verify", "--chain-only"), *words)
