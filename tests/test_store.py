"""The store: append-only in SQLite itself, a chain that means what it says, versions that guard appends."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builders import LogBuilder
from caselog import events as ev
from caselog import chain, database, interchange, opening, parallel, writer
from integrity_support import chain_hash
from caselog.errors import CaselogError, ConflictError, InputError

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "small-city.jsonl"


@pytest.fixture
def log(tmp_path) -> LogBuilder:
    builder = LogBuilder(tmp_path / "t.db")
    case = builder.file(2022)
    builder.hearing(case, "2022-03-01", "deputy", spoke=False)
    return builder


def test_events_table_has_the_documented_columns(log):
    columns = [row[1] for row in log.conn.execute("PRAGMA table_info(events)")]
    assert columns == ["position", "event_id", "case", "version", "type", "schema_version", "payload",
                       "payload_sha256", "recorded_at", "recorded_by", "hash"]
    unique = {tuple(r[2] for r in log.conn.execute(f"PRAGMA index_info('{i[1]}')"))
              for i in log.conn.execute("PRAGMA index_list(events)") if i[2]}
    assert {("event_id",), ("case", "version")} <= unique


@pytest.mark.parametrize("sql", [
    "UPDATE events SET recorded_by = 'mallory' WHERE position = 1",
    "UPDATE events SET payload = '{}'",
    "DELETE FROM events WHERE position = 2",
    "DELETE FROM events",
])
def test_sqlite_itself_refuses_update_and_delete(log, sql):
    """A plain sqlite3 connection, bypassing caselog, cannot rewrite the log."""
    path = log.conn.execute("PRAGMA database_list").fetchone()[2]
    plain = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        plain.execute(sql)
    plain.rollback()
    assert plain.execute("SELECT count(*) FROM events").fetchone()[0] == 2


@pytest.fixture(params=[1, 2, 3])
def versioned_log(tmp_path, request) -> LogBuilder:
    """A log written under schema version 1 (before redaction), 2 (every field salted) or 3 (the personal
    fields salted): a filing and a hearing that name a person, and a hearing that names none."""
    builder = LogBuilder(tmp_path / "t.db", schema_version=request.param)
    case = builder.file(2022)
    builder.add("case_filed", "(2022)浙0302行初99号", filed_on="2022-01-10", court="某某区人民法院", agency="市公安局",
                cause="行政处罚", plaintiff='张"三\\')  # a quote and a backslash: canonical JSON escapes them
    builder.hearing(case, "2022-03-01", "deputy", spoke=False)
    builder.hearing(case, "2022-04-01", "staff", official="李四")
    return builder


def payload_digest(row: dict, payload: dict, stored_salts: bytes | None) -> str:
    """Version 1: SHA-256 of the canonical payload.  Version 2: SHA-256 of the canonical object of each
    field's SHA-256 over its salt's bytes and its canonical value, the salts stored end to end in the
    order of the fields' names.  Version 3: spelled out below, as docs/security.md and chain.py say it."""
    if row["schema_version"] == 1:
        assert "salts" not in row and stored_salts is None
        return chain.sha256(chain.canonical(payload))
    if row["schema_version"] == 2:
        assert set(row["salts"]) == set(payload) and all(len(salt) == 32 for salt in row["salts"].values())
        assert stored_salts == b"".join(bytes.fromhex(row["salts"][name]) for name in sorted(payload))
        return chain.sha256(chain.canonical({
            name: hashlib.sha256(bytes.fromhex(row["salts"][name]) + chain.canonical(value).encode()).hexdigest()
            for name, value in payload.items()}))
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    personal = sorted(name for name in ev.PERSONAL.get(row["type"], ()) if name in payload)
    if not personal:
        assert "salts" not in row and stored_salts is None
        return hashlib.sha256(text).hexdigest()
    assert sorted(row["salts"]) == personal
    salts = b"".join(bytes.fromhex(row["salts"][name]) for name in personal)
    masked = {**payload, **{name: hashlib.sha256(bytes.fromhex(row["salts"][name]) + json.dumps(
        payload[name], ensure_ascii=False).encode()).hexdigest() for name in personal}}
    m = hashlib.sha256(json.dumps(masked, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).digest()
    assert stored_salts == salts + m
    return hashlib.sha256(m + hashlib.sha256(salts + text).digest()).hexdigest()


def test_each_hash_is_sha256_of_the_canonical_envelope_linked_to_the_previous(versioned_log):
    log = versioned_log
    prev = chain.GENESIS
    rows = list(interchange.export(log.conn))
    assert {row["schema_version"] for row in rows} == {log.schema_version}
    for row in rows:
        payload = {k: v for k, v in row.items() if k not in interchange.ENVELOPE and k not in ("type", "case")}
        (stored_salts,) = log.conn.execute("SELECT salts FROM _caselog_salts WHERE position = ?",
                                           (row["position"],)).fetchone() or (None,)
        assert row["payload_sha256"] == payload_digest(row, payload, stored_salts)
        envelope = {k: row[k] for k in ("position", "event_id", "case", "version", "type", "schema_version",
                                         "payload_sha256", "recorded_at", "recorded_by")}
        assert row["hash"] == chain.sha256(chain.canonical({**envelope, "prev_hash": prev}))
        prev = row["hash"]
    assert str(chain.head(log.conn)) == f"4:{prev}"
    assert chain.check_masks(log.conn) is None


def test_payloads_are_json_text_that_sqlite_can_read(log):
    held_on = log.conn.execute(
        "SELECT json_extract(payload, '$.held_on') FROM events WHERE type = 'hearing_held'").fetchone()[0]
    assert held_on == "2022-03-01"


def test_an_append_naming_a_stale_version_is_refused_and_writes_nothing(log):
    case = log.conn.execute('SELECT "case" FROM events LIMIT 1').fetchone()[0]
    stale = writer.Proposed(ev.make("hearing_held", {"held_on": "2022-04-01", "attendance": "none"}), case, "b",
                           expect_version=1)
    with pytest.raises(ConflictError, match="another clerk wrote first"):
        writer.append(log.conn, [stale])
    assert chain.head(log.conn).position == 2
    fresh = writer.Proposed(stale.event, case, "b", expect_version=2)
    assert writer.append(log.conn, [fresh])[0].version == 3


def test_export_then_import_into_an_empty_log_reproduces_it(tmp_path):
    source = opening.open_log(tmp_path / "a.db")
    with open(EXAMPLE, "rb") as fh:
        writer.append(source, interchange.read_jsonl(fh, "x"))
    exported = [json.dumps(row, ensure_ascii=False).encode() for row in interchange.export(source)]
    copy = opening.open_log(tmp_path / "b.db")
    writer.append(copy, interchange.read_jsonl(exported, "y"))
    assert list(interchange.export(copy)) == list(interchange.export(source))


def test_wal_and_full_synchronous_are_chosen_on_purpose(log):
    assert log.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_new_log_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path, monkeypatch):
    assert opening.open_log(tmp_path / "new.db").execute("PRAGMA page_size").fetchone()[0] == 16_384
    old = tmp_path / "old.db"
    monkeypatch.setattr(database, "PAGE_SIZE", 4096)
    opening.open_log(old).close()
    monkeypatch.undo()
    reopened = opening.open_log(old)
    assert reopened.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert reopened.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA


def test_a_database_that_is_not_caselogs_is_refused(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(InputError, match="not caselog's"):
        opening.open_log(other)


def test_an_event_recorded_in_the_future_is_refused(log):
    """A log claiming a future moment would lock every clerk out until then (recorded_at never decreases)."""
    case = log.conn.execute('SELECT "case" FROM events LIMIT 1').fetchone()[0]
    item = writer.Proposed(ev.make("hearing_held", {"held_on": "2022-04-01", "attendance": "none"}), case, "b",
                          recorded_at="2999-01-01T00:00:00Z")
    with pytest.raises(InputError, match="in the future"):
        writer.append(log.conn, [item])
    assert chain.head(log.conn).position == 2


def test_an_as_of_view_of_a_log_in_memory_is_refused_plainly():
    """The as-of view rebuilds from the log's file in a scratch database; a log in memory has no file."""
    from caselog import summary

    conn = opening.open_log(":memory:")
    with pytest.raises(InputError, match="in memory"):
        summary.summary(conn, year=2022, as_of="2022-12-31")


def _no_replace_trigger(db: Path) -> str | None:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_no_replace'").fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def test_an_import_sets_the_replace_trigger_aside_only_inside_its_own_transaction(tmp_path):
    """Seen from any other connection, during and after an import, accepted or refused, the trigger is there."""
    opening.open_log(tmp_path / "new.db").close()
    created = _no_replace_trigger(tmp_path / "new.db")
    assert created and "RAISE(ABORT" in created
    db = tmp_path / "caselog.db"
    conn = opening.open_log(db)
    seen = []

    def items(lines):
        for n, item in enumerate(interchange.read_jsonl(lines, "x"), 1):
            if n == 100:
                seen.append(_no_replace_trigger(db))
            yield item

    with open(EXAMPLE, "rb") as fh:
        writer.import_events(conn, items(fh))
    assert seen == [created]
    assert _no_replace_trigger(db) == created

    conn.close()

    other = tmp_path / "refused.db"
    conn = opening.open_log(other)
    bad = [*EXAMPLE.read_bytes().splitlines()[:50], b'{"type": "case_filed"}']
    with pytest.raises(CaselogError, match="line 51"):
        writer.import_events(conn, interchange.read_jsonl(bad, "x"))
    conn.close()
    assert _no_replace_trigger(other) == created


def test_a_schema_1_log_gains_the_corrections_index_when_opened(tmp_path):
    db = tmp_path / "caselog.db"
    conn = opening.open_log(db)
    with open(EXAMPLE, "rb") as fh:
        writer.import_events(conn, interchange.read_jsonl(fh, "x"))
    exported = list(interchange.export(conn))
    conn.close()
    with sqlite3.connect(db) as raw:  # as the first schema left it
        raw.execute("DROP INDEX idx_events_corrections")
        raw.execute("DELETE FROM _sqlite_migrations WHERE name = 'corrections_index'")
        raw.execute("PRAGMA user_version = 1")

    conn = opening.open_log(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA == 4
    assert list(interchange.export(conn)) == exported
    # The refresh reads the corrections through the index: the query spells its condition the same way.
    plan = " ".join(row[3] for row in conn.execute(
        f"EXPLAIN QUERY PLAN SELECT e.type, e.payload FROM main.events e WHERE e.{database.CORRECTIONS} "
        "ORDER BY e.position"))
    assert "idx_events_corrections" in plan
    conn.close()


def test_new_event_ids_are_version_7_uuids_of_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    event_id = uuid.UUID(ev.new_event_id())
    after = time.time_ns() // 1_000_000
    assert (event_id.version, event_id.variant) == (7, uuid.RFC_4122)
    assert before <= event_id.int >> 80 <= after
    assert ev.event_id(str(event_id)) == str(event_id)  # what an import line may carry


def test_new_event_ids_sort_in_the_order_they_were_made_within_a_millisecond_and_past_its_counter(monkeypatch):
    monkeypatch.setattr(ev, "_clock", [0, 0])
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000 * 1_000_000)
    made = [ev.new_event_id() for _ in range(5_000)]  # more than the 4,096 a millisecond's counter holds
    assert made == sorted(made) and len(set(made)) == len(made)
    assert {uuid.UUID(i).int >> 80 for i in made} == {1_700_000_000_000, 1_700_000_000_001}
    monkeypatch.setattr(time, "time_ns", lambda: 1_600_000_000_000 * 1_000_000)  # the clock stepped back
    assert ev.new_event_id() > made[-1]


def test_an_event_appended_without_an_id_gets_a_time_ordered_one(log):
    ids = [row["event_id"] for row in interchange.export(log.conn)]
    assert [uuid.UUID(i).version for i in ids] == [7, 7]
    assert ids == sorted(ids)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_JSON)
def test_canonical_json_is_json_dumps_with_sorted_keys_and_no_spaces(value):
    assert chain.canonical(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12).filter(
    lambda name: name.strip() == name))
def test_a_link_is_the_canonical_envelope_whatever_the_clerk_types(clerk):
    """The clerk's name is the one envelope text a person types: quotes, backslashes, Chinese."""
    row = {"position": 7, "event_id": "016f63c7-de41-75c7-94c6-3545498ce17b", "case": "(2022)浙0302行初12号",
           "version": 2, "type": "hearing_held", "schema_version": 1, "payload_sha256": "a" * 64,
           "recorded_at": "2022-03-01T08:00:00Z", "recorded_by": clerk}
    assert chain_hash(row, "b" * 64) == chain.sha256(chain.canonical({**row, "prev_hash": "b" * 64}))


def _journal_during_import(db: Path) -> tuple[str, str]:
    """(the journal mode the import ran in, the one it left), importing the example file."""
    conn = opening.open_log(db)
    seen = []

    def items(lines):
        for n, item in enumerate(interchange.read_jsonl(lines, "x"), 1):
            if n == 100:
                seen.append(conn.execute("PRAGMA journal_mode").fetchone()[0])
            yield item

    with open(EXAMPLE, "rb") as fh:
        writer.import_events(conn, items(fh))
    return seen[0], conn.execute("PRAGMA journal_mode").fetchone()[0]


def test_an_import_into_an_empty_log_writes_without_the_write_ahead_log_and_returns_to_it(tmp_path):
    db = tmp_path / "caselog.db"
    assert _journal_during_import(db) == ("delete", "wal")
    assert not (tmp_path / "caselog.db-journal").exists()
    assert parallel.verify_chain(opening.open_log(db)).position == 399


def test_a_refused_first_import_leaves_the_log_empty_and_in_wal_mode(tmp_path):
    conn = opening.open_log(tmp_path / "caselog.db")
    lines = EXAMPLE.read_bytes().splitlines(keepends=True)
    with pytest.raises(CaselogError, match="line 300"):
        writer.import_events(conn, interchange.read_jsonl(lines[:299] + [b'{"type": "case_filed"}\n'], "x"))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert chain.head(conn).position == 0


def test_an_import_into_a_log_that_holds_events_keeps_to_wal(tmp_path):
    db = tmp_path / "caselog.db"
    filing = ev.make("case_filed", {"filed_on": "2016-12-01", "court": "某某区人民法院", "agency": "市公安局",
                                    "cause": "行政处罚"})
    writer.append(opening.open_log(db), [writer.Proposed(filing, "(2016)浙0302行初1号", "x", recorded_at="2017-01-01")])
    assert _journal_during_import(db) == ("wal", "wal")


def test_an_import_into_an_empty_log_that_another_connection_has_open_keeps_to_wal(tmp_path):
    db = tmp_path / "caselog.db"
    other = opening.open_log(db)
    other.execute("SELECT count(*) FROM events").fetchone()
    assert _journal_during_import(db) == ("wal", "wal")


def test_a_log_held_locked_past_the_busy_timeout_is_a_clear_conflict(tmp_path, monkeypatch):
    """As while a long first import writes with a rollback journal: other commands wait, then give up plainly."""
    db = tmp_path / "caselog.db"
    opening.open_log(db).execute("PRAGMA journal_mode = DELETE").fetchone()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 100)
    with pytest.raises(ConflictError, match="locked by another command"):
        opening.open_log(db)
    holder.execute("ROLLBACK")
    assert opening.open_log(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_log_left_in_rollback_journal_mode_returns_to_wal_when_opened(tmp_path):
    db = tmp_path / "caselog.db"
    opening.open_log(db).execute("PRAGMA journal_mode = DELETE").fetchone()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert opening.open_log(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
