"""Helpers for the integrity tests (crash, concurrency, tamper, fuzz, backup).

Realistic data comes from ``tests/fixtures/small-city.jsonl`` (a copy of shared/examples) (399
events); ``shifted`` makes copies of it for new cases so bigger valid files can
be built without inventing new histories.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

from click.testing import CliRunner, Result

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "small-city.jsonl"
#: Later than every recorded_at in the example and earlier than any test run.
SHIFT_START = dt.datetime(2026, 9, 1)
_SERIAL = re.compile(r"(行赔初|行初|行赔终|行终)(字第)?(\d+)号")
_NAMESPACE = uuid.UUID("6f1c3a52-0d43-4c59-9a57-9d2f8e0b7c11")


def example_events() -> list[dict]:
    return [json.loads(line) for line in EXAMPLE.read_text("utf-8").splitlines() if line.strip()]


def shifted(events: list[dict], copy: int, start: dt.datetime = SHIFT_START) -> list[dict]:
    """The same histories for new cases: serials + copy * 10000, fresh event ids.

    ``recorded_at`` restarts at ``start`` (one second per event, copies one
    day apart), so a shifted copy can follow the example in one log.
    """

    def number(text: str) -> str:
        return _SERIAL.sub(lambda m: f"{m[1]}{m[2] or ''}{int(m[3]) + copy * 10000}号", text)

    def new_id(old: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{copy}:{old}"))

    out = []
    for i, event in enumerate(events):
        event = dict(event)
        event["case"] = number(event["case"])
        if "appeal_case" in event:
            event["appeal_case"] = number(event["appeal_case"])
        event["event_id"] = new_id(event["event_id"])
        if "target" in event:
            event["target"] = new_id(event["target"])
        moment = start + dt.timedelta(days=copy, seconds=i)
        event["recorded_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(event)
    return out


def jsonl(events: list[dict]) -> str:
    """JSON Lines of ``events``, each given its salts, as an export gives them: an import of the file logs
    the same bytes every time (a line without salts gets random ones)."""
    return "".join(json.dumps(salted(e), ensure_ascii=False) + "\n" for e in events)


def salted(event: dict) -> dict:
    """``event`` with salts derived from its id for each field its schema version salts (2: every field,
    3: the personal ones), unless it has some, has no id, or has no such field."""
    from caselog import events as ev
    from caselog import interchange

    version = event.get("schema_version", ev.SCHEMA_VERSION)
    if "salts" in event or "event_id" not in event or version not in (2, 3):
        return event
    try:
        fields = ev.payload(ev.make(event["type"], {k: v for k, v in event.items()
                                                    if k not in interchange.ENVELOPE and k not in ("type", "case")}))
    except (ValueError, TypeError):  # a line made to be refused: refused for what it was made to show
        return event
    if version == 3:
        fields = {name: value for name, value in fields.items() if name in ev.PERSONAL.get(event["type"], ())}
    if not fields:
        return event
    return {**event, "salts": {name: uuid.uuid5(_NAMESPACE, f"{event['event_id']}:{name}").hex for name in fields}}


def invoke(db: Path | str, *args: str, input: str | bytes | None = None, clerk: str = "clerk-t") -> Result:
    """Run the CLI in-process on ``db``."""
    from cli import cli

    return CliRunner().invoke(cli, ["--db", str(db), "--clerk", clerk, *args], input=input,
                              env={"CASELOG_DB": None, "CASELOG_CLERK": None})


def caselog_command() -> list[str]:
    """The installed ``caselog`` script next to this interpreter (or the module)."""
    script = Path(sys.executable).with_name("caselog")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def run(db: Path | str, *args: str, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the CLI as a separate process on ``db``."""
    env = {**os.environ, "CASELOG_DB": str(db), "CASELOG_CLERK": "clerk-t"}
    return subprocess.run([*caselog_command(), *args], input=input, capture_output=True, env=env, timeout=timeout)


def export(db: Path | str) -> bytes:
    """``caselog export`` of ``db``, run in-process (as test_crash reads a killed import's log): the
    bytes to compare logs by; a test about a separate process's view uses ``run``."""
    result = invoke(db, "export")
    assert result.exit_code == 0 and result.exception is None, f"{result.stderr}{result.exception!r}"
    return result.stdout_bytes


def count(db: Path | str) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def integrity(db: Path | str) -> str:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


@contextlib.contextmanager
def tampering(db: Path | str) -> Iterator[sqlite3.Connection]:
    """Someone holding the file: a plain sqlite3 connection with the append-only triggers of events
    and their salts dropped, restored afterwards."""
    conn = sqlite3.connect(db, isolation_level=None)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name IN ('events', '_caselog_salts')").fetchall()
    assert {name for name, _ in triggers} >= {"events_no_update", "events_no_delete", "salts_no_update"}
    conn.execute("BEGIN")
    for name, _ in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    yield conn
    for _, sql in triggers:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()


def copy_db(source: Path, target: Path) -> Path:
    """A consistent copy of an SQLite file (WAL included)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def build_example_db(path: Path, copies: int = 0, schema_version: int | None = None) -> Path:
    """A database holding the example, then ``copies`` shifted copies of it; with ``schema_version``,
    every event is stored under that version (1: as caselog stored them before redaction)."""
    events = example_events()
    data = events + [e for k in range(1, copies + 1) for e in shifted(events, k)]
    if schema_version is not None:
        data = [{**e, "schema_version": schema_version} for e in data]
    source = path.with_suffix(".jsonl")
    source.write_text(jsonl(data), "utf-8")
    result = invoke(path, "import", str(source))  # in-process: the log, not the command, is what the tests need
    assert result.exit_code == 0 and result.exception is None, f"{result.stderr}{result.exception!r}"
    return path


def on_two_cores(monkeypatch) -> list[str]:
    """Every full refresh of any length takes the two-process path from now on (imports read
    their file apart too); returns the scratch files of rows another process refreshed and this
    one absorbed."""
    from caselog import parallel, projections

    monkeypatch.setattr(parallel, "READ_APART_FROM", 0)
    monkeypatch.setattr(parallel, "FROM_EVENTS", 0)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    absorbed: list[str] = []
    absorb = projections.absorb

    def spied(conn, path):
        absorbed.append(path)
        return absorb(conn, path)

    monkeypatch.setattr(projections, "absorb", spied)
    return absorbed


def snapshot(db: Path | str) -> dict[str, list[tuple]]:
    """Every projection table's rows, sorted."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return rows_of_projections(conn)


def rows_of_projections(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Every projection table's rows, sorted."""
    from caselog import projections

    return {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in projections.TABLES}


def chain_hash(row: dict, prev_hash: str) -> str:
    """The link a row of the events table (as a dict) should carry: how a forger recomputes the chain."""
    from caselog import chain

    return chain.link(row["position"], row["event_id"], row["case"], row["version"], row["type"], row["schema_version"],
                      row["payload_sha256"], row["recorded_at"], row["recorded_by"], prev_hash)
