"""Backups: ``caselog backup`` copies a live log consistently; restores and export/import round-trip.

A backup taken while another process keeps appending is the log as it stood
when the backup began: the copy verifies (chain and projections) and its
events are a prefix of the source's.  A restored copy answers like the source.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from caselog import backup as backups
from caselog import opening
from integrity_support import build_example_db, caselog_command, copy_db, count, export, invoke, run

NEW_CASE = "(2022)浙0302行初9999号"
WRITER = textwrap.dedent("""
    import pathlib, sys
    from cli import cli

    db, case, stop, started = sys.argv[1:5]
    for n in range(1, 5001):
        if pathlib.Path(stop).exists():
            break
        cli.main(["--db", db, "--clerk", "writer", "hearing", case, "--held-on", "2022-06-01",
                  "--attendance", "staff"], standalone_mode=False)
        if n == 1:
            pathlib.Path(started).touch()
""")


@pytest.fixture(scope="module")
def example_db(tmp_path_factory):
    """The example plus three shifted copies (1,596 events), and one open case."""
    db = build_example_db(tmp_path_factory.mktemp("backup") / "example.db", copies=3)
    filed = invoke(db, "file", NEW_CASE, "--filed-on", "2022-01-10", "--court", "某某区人民法院",
                   "--agency", "市公安局", "--cause", "行政处罚")
    assert filed.exit_code == 0, filed.output
    return db


@pytest.fixture
def db(example_db, tmp_path):
    return copy_db(example_db, tmp_path / "caselog.db")


def lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def one_line_error(result) -> str:
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == 1 and "Traceback" not in result.output, shown
    line = result.stderr.strip()
    assert line.startswith("Error: ") and line.count("\n") == 0, shown
    return line


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture
def writer(db, tmp_path):
    """Another process appending hearings to NEW_CASE until told to stop."""
    stop, started = tmp_path / "stop", tmp_path / "started"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(db), NEW_CASE, str(stop), str(started)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: started.exists() or process.poll() is not None)
    assert process.poll() is None, process.stderr.read().decode()
    yield process
    stop.touch()
    assert process.wait(60) == 0, process.stderr.read().decode()
    process.stderr.close()


def test_backup_while_another_process_appends_is_a_consistent_prefix(db, tmp_path, writer):
    conn = opening.open_log(db, create=False)
    steps = []

    def step(remaining: int, total: int) -> None:
        # Hold the backup between its first steps until the writer has committed again.
        steps.append(count(db))
        if len(steps) <= 5:
            wait_for(lambda: count(db) > steps[-1])

    head = backups.backup(conn, tmp_path / "copy.db", pages=8, progress=step)
    conn.close()
    assert len(steps) > 5
    cli_copy = run(db, "backup", str(tmp_path / "cli-copy.db"))
    assert cli_copy.returncode == 0, cli_copy.stderr.decode()
    printed = re.fullmatch(r"head (\d+):[0-9a-f]{64}\n", cli_copy.stdout.decode())
    assert printed, cli_copy.stdout
    wait_for(lambda: count(db) > int(printed[1]))  # so that the source runs past this copy too
    (tmp_path / "stop").touch()
    writer.wait(60)

    source = lines(export(db))
    for copy, printed in ((tmp_path / "copy.db", f"head {head}"), (tmp_path / "cli-copy.db", cli_copy.stdout.decode())):
        verified = run(copy, "verify")
        assert verified.returncode == 0, verified.stderr.decode()
        assert verified.stdout.decode().strip() == printed.strip(), "the printed head is not the copy's"
        copied = lines(export(copy))
        assert copied == source[:len(copied)], f"{copy.name} is not a prefix of the source"
        assert len(copied) < len(source), f"{copy.name}: the writer appended nothing after the snapshot"
    assert steps[0] < steps[-1] <= len(source), "no append landed while the backup ran"
    assert head.position < steps[-1]


def test_restored_backup_verifies_and_answers_summary(db, tmp_path):
    backed = invoke(db, "backup", str(tmp_path / "backup.db"))
    assert backed.exit_code == 0, backed.output
    restored = tmp_path / "restored" / "caselog.db"
    restored.parent.mkdir()
    shutil.copyfile(tmp_path / "backup.db", restored)
    verified = invoke(restored, "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout == backed.stdout
    for year in ("2021", "2022"):
        args = ("summary", "--year", year, "--format", "json", "--as-of", "2026-10-01")
        ours, theirs = invoke(restored, *args), invoke(db, *args)
        assert ours.exit_code == 0, ours.output
        assert json.loads(ours.stdout) == json.loads(theirs.stdout)
    assert export(restored) == export(db)
    appended = invoke(restored, "hearing", NEW_CASE, "--held-on", "2022-06-01", "--attendance", "staff")
    assert appended.exit_code == 0, appended.output
    assert invoke(restored, "verify").exit_code == 0


def test_export_piped_into_import_round_trips(db, tmp_path):
    """``caselog export | caselog import -`` into an empty log: the same events, ids and hashes."""
    corrected = invoke(db, "hearing", NEW_CASE, "--held-on", "2022-05-10", "--attendance", "deputy",
                       "--official", "王某", "--silent", "--json")
    assert corrected.exit_code == 0, corrected.output
    target = json.loads(corrected.stdout)["event_id"]
    assert invoke(db, "correct", target, "--set", "spoke=true", "--reason", "录入有误").exit_code == 0
    empty = tmp_path / "empty.db"
    env = {**os.environ, "CASELOG_CLERK": "someone-else"}
    exporter = subprocess.Popen([*caselog_command(), "--db", str(db), "export"], stdout=subprocess.PIPE, env=env)
    importer = subprocess.run([*caselog_command(), "--db", str(empty), "import", "-"], stdin=exporter.stdout,
                              capture_output=True, env=env, timeout=60)
    exporter.stdout.close()
    assert exporter.wait(60) == 0
    assert importer.returncode == 0, importer.stderr.decode()
    original = export(db)
    assert export(empty) == original
    assert count(empty) == len(lines(original))
    assert run(empty, "verify").returncode == 0


def test_backup_refuses_to_overwrite_without_force(db, tmp_path):
    target = tmp_path / "backup.db"
    target.write_bytes(b"yesterday's backup")
    line = one_line_error(invoke(db, "backup", str(target)))
    assert "exists" in line and "--force" in line
    assert target.read_bytes() == b"yesterday's backup"
    forced = invoke(db, "backup", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert export(target) == export(db)
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_backup_over_a_file_with_a_stale_wal_is_clean(db, tmp_path):
    """A crashed process left committed frames in PATH-wal; they must not leak into the new backup."""
    target = copy_db(db, tmp_path / "old-backup.db")
    crash = textwrap.dedent(f"""
        import os, signal, sqlite3
        conn = sqlite3.connect({str(target)!r}, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE junk (x)")
        conn.execute("INSERT INTO junk VALUES (1)")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", crash]).returncode == -signal.SIGKILL
    assert Path(f"{target}-wal").stat().st_size > 0
    forced = invoke(db, "backup", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    conn = sqlite3.connect(target)
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "junk" not in tables
    assert export(target) == export(db)
    assert invoke(target, "verify").exit_code == 0


@pytest.mark.parametrize("where", ["the log itself", "a directory", "a missing directory"])
def test_backup_refuses_impossible_targets(db, tmp_path, where):
    target = {"the log itself": db, "a directory": tmp_path, "a missing directory": tmp_path / "no" / "b.db"}[where]
    before = export(db)
    one_line_error(invoke(db, "backup", str(target), "--force"))
    assert export(db) == before
    assert invoke(db, "verify").exit_code == 0


def test_backup_of_a_tampered_log_is_refused_and_leaves_nothing(db, tmp_path):
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET recorded_by = 'someone-else' WHERE position = 42")
    conn.close()
    out = tmp_path / "out"
    out.mkdir()
    line = one_line_error(invoke(db, "backup", str(out / "backup.db")))
    assert "position 42" in line
    assert list(out.iterdir()) == []


def test_backup_of_a_missing_log_is_refused(tmp_path):
    line = one_line_error(invoke(tmp_path / "missing.db", "backup", str(tmp_path / "backup.db")))
    assert "missing.db" in line
    assert list(tmp_path.iterdir()) == []


def _hold_the_log_open(db: Path) -> sqlite3.Connection:
    """A reader like ``caselog serve``, so the last append stays in the log's WAL, not yet in the file."""
    holder = sqlite3.connect(db)
    holder.execute("SELECT count(*) FROM events").fetchone()
    appended = invoke(db, "hearing", NEW_CASE, "--held-on", "2022-06-01", "--attendance", "staff")
    assert appended.exit_code == 0, appended.output
    assert Path(f"{db}-wal").stat().st_size > 0
    return holder


@pytest.mark.parametrize("where", [
    "the log's WAL", "a link to the log", "a link to the log's WAL", "a hard link to the log",
    "the log's shared memory", "the log's journal (missing)",
])
def test_backup_never_overwrites_the_log_or_its_files(db, tmp_path, where):
    """Forced, onto the live log's WAL, it lost the events still in the WAL, and verify said ok."""
    holder = _hold_the_log_open(db)
    try:
        before = count(db)
        target = {
            "the log's WAL": Path(f"{db}-wal"), "the log's shared memory": Path(f"{db}-shm"),
            "the log's journal (missing)": Path(f"{db}-journal"),
        }.get(where, tmp_path / "backup.db")
        if where == "a link to the log":
            target.symlink_to(db)
        elif where == "a link to the log's WAL":
            target.symlink_to(f"{db}-wal")
        elif where == "a hard link to the log":
            os.link(db, target)
        line = one_line_error(invoke(db, "backup", str(target), "--force"))
        assert "the log or one of its files" in line
    finally:
        holder.close()
    assert count(db) == before
    assert invoke(db, "verify").exit_code == 0
    assert not Path(f"{db}-journal").exists()


@pytest.mark.parametrize("where", ["a FIFO", "a link to a FIFO", "a link to a directory"])
def test_backup_refuses_what_is_not_a_regular_file(db, tmp_path, where):
    """Run as root, a forced backup replaced /dev/null with a regular file (a FIFO stands in for it here)."""
    target = tmp_path / "target"
    if where == "a FIFO":
        os.mkfifo(target)
    elif where == "a link to a FIFO":
        os.mkfifo(tmp_path / "fifo")
        target.symlink_to(tmp_path / "fifo")
    elif where == "a link to a directory":
        (tmp_path / "folder").mkdir()
        target.symlink_to(tmp_path / "folder")
    mode = target.stat().st_mode
    one_line_error(invoke(db, "backup", str(target), "--force"))
    assert target.stat().st_mode == mode
    assert not any("partial" in p.name for p in tmp_path.iterdir())


def test_a_killed_backups_partial_file_is_gone_after_the_next_backup(db, tmp_path):
    """A backup killed mid-copy leaves its hidden partial file; the next backup to that target removes it."""
    target = tmp_path / "out" / "backup.db"
    target.parent.mkdir()
    killed = textwrap.dedent(f"""
        import os, signal
        from caselog import backup, opening
        conn = opening.open_log({str(db)!r}, create=False)
        backup.backup(conn, {str(target)!r}, pages=4, progress=lambda remaining, total: os.kill(os.getpid(), signal.SIGKILL))
    """)
    assert subprocess.run([sys.executable, "-c", killed]).returncode == -signal.SIGKILL
    left = list(target.parent.iterdir())
    assert left and all("partial" in p.name for p in left), left
    backed = invoke(db, "backup", str(target))
    assert backed.exit_code == 0, backed.output
    assert list(target.parent.iterdir()) == [target]
    assert export(target) == export(db)


def test_a_backup_running_to_the_same_target_is_left_alone(db, tmp_path):
    """A second backup to the same target neither writes into nor removes the first one's partial file."""
    target = tmp_path / "backup.db"
    partial = tmp_path / ".backup.db.partial"
    partial.write_bytes(b"the first backup's pages")
    with open(partial, "rb") as running:
        fcntl.flock(running, fcntl.LOCK_EX)
        line = one_line_error(invoke(db, "backup", str(target)))
    assert "another backup" in line
    assert partial.read_bytes() == b"the first backup's pages"
    assert not target.exists()


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_a_partial_file_linked_to_another_file_is_not_written_through(db, tmp_path, link):
    """The predictable partial name must not let a planted link truncate someone else's file."""
    victim = tmp_path / "precious.txt"
    victim.write_bytes(b"not a backup")
    partial = tmp_path / ".backup.db.partial"
    if link == "symbolic":
        partial.symlink_to(victim)
    else:
        os.link(victim, partial)
    line = one_line_error(invoke(db, "backup", str(tmp_path / "backup.db")))
    assert "partial" in line
    assert victim.read_bytes() == b"not a backup"
    assert not (tmp_path / "backup.db").exists()
