"""Reading works wherever the file can be read; only writes fail, saying why (issue 15, part 5).

Tests run as root, whom file modes do not stop.  The end-to-end tests run the
CLI in a process without the capabilities that let root write where modes say
no (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), in a folder and on a file made
read-only: SQLite itself cannot write there.  The in-process tests make caselog
believe the log cannot be written, which opens it read-only in SQLite.
"""

from __future__ import annotations

import ctypes
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from caselog import database
from integrity_support import build_example_db, caselog_command, copy_db, invoke

CASE = "(2018)浙0130行初52号"
READS = [
    ("summary", "--year", "2021", "--format", "json"),
    ("summary", "--year", "2021", "--as-of", "2022-01-01", "--format", "json"),
    ("verify",),
    ("head",),
    ("show", CASE, "--json"),
    ("events", "--case", CASE, "--json"),
    ("export",),
]
WRITES = [
    ("hearing", CASE, "--held-on", "2021-01-01", "--attendance", "staff"),
    ("rebuild",),
]
_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 24, 1, 2


@pytest.fixture(scope="module")
def example_db(tmp_path_factory):
    return build_example_db(tmp_path_factory.mktemp("read-only") / "example.db")


@pytest.fixture(params=["current projections", "projections of another version"])
def log(request, example_db, tmp_path) -> Path:
    """A copy of the example in its own folder; its projections current or marked as another version's."""
    folder = tmp_path / "logs"
    folder.mkdir()
    path = copy_db(example_db, folder / "caselog.db")
    if request.param != "current projections":
        mark_stale(path)
    return path


def mark_stale(path: Path) -> None:
    """Projections as another version of caselog leaves them: to be rebuilt before they are read."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE _caselog_projection SET hash = 'another version' WHERE name = 'fingerprint'")
    conn.close()


@pytest.fixture(scope="module")
def expected(example_db) -> dict[tuple, str]:
    """What each read prints on the writable example (which no test changes: read once for the module)."""
    out = {}
    for args in READS:
        result = invoke(example_db, *args)
        assert result.exit_code == 0, result.output
        out[args] = result.stdout
    return out


def assert_refused(code: int, stdout: str, stderr: str, words: str) -> None:
    """One 'Error: ' line holding ``words``, exit 1, nothing on stdout."""
    shown = f"exit {code}\nstdout: {stdout!r}\nstderr: {stderr!r}"
    assert code == 1 and stdout == "" and "Traceback" not in stderr, shown
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and words in errors[0], shown


def _without_root_overrides() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def _can_drop_root_overrides() -> bool:
    try:
        return subprocess.run([sys.executable, "-c", ""], preexec_fn=_without_root_overrides).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


needs_read_only_files = pytest.mark.skipif(
    not sys.platform.startswith("linux") or (os.geteuid() == 0 and not _can_drop_root_overrides()),
    reason="root here keeps the capabilities that let it write to read-only files; nothing would be read-only")


def confined(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """``command`` in a process that file modes bind, even as root."""
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          preexec_fn=_without_root_overrides if os.geteuid() == 0 else None, **kwargs)


def run_confined(db: Path, *args: str) -> tuple[int, str, str]:
    """The installed CLI, confined."""
    result = confined([*caselog_command(), *args], env={**os.environ, "CASELOG_DB": str(db), "CASELOG_CLERK": "clerk-t"})
    return result.returncode, result.stdout, result.stderr


def run_here(db: Path, *args: str) -> tuple[int, str, str]:
    result = invoke(db, *args)
    return result.exit_code, result.stdout, result.stderr


def reads_work_and_writes_say_why(run: Callable[..., tuple[int, str, str]], db: Path, expected: dict[tuple, str],
                                  words: str) -> None:
    for args in READS:
        code, stdout, stderr = run(db, *args)
        assert code == 0, (args, stderr)
        assert stdout == expected[args], args
    for args in WRITES:
        assert_refused(*run(db, *args), words)


def make_read_only(path: Path) -> None:
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    path.parent.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


@pytest.fixture
def read_only_log(log):
    make_read_only(log)
    yield log
    log.parent.chmod(0o755)
    log.chmod(0o644)


@needs_read_only_files
def test_every_read_works_in_a_read_only_folder_and_every_write_says_why(read_only_log, expected):
    before = sorted(os.listdir(read_only_log.parent))
    assert before == ["caselog.db"]  # no -wal or -shm: SQLite must read the file as it is
    reads_work_and_writes_say_why(run_confined, read_only_log, expected, "the file or its folder is read-only")
    assert sorted(os.listdir(read_only_log.parent)) == before


@needs_read_only_files
def test_the_reviewers_dashboard_serves_a_read_only_log(read_only_log, expected):
    script = (
        "import asyncio, sys\n"
        "from caselog import opening\n"
        "from caselog.reviewer import serve\n"
        "opening.open_log(sys.argv[1], create=False).close()\n"
        "response = asyncio.run(serve.app(sys.argv[1]).client.get('/-/caselog/dashboard?year=2021'))\n"
        "print(response.status_code)\n"
        "print(response.text)\n"
    )
    result = confined([sys.executable, "-c", script, str(read_only_log)])
    assert result.returncode == 0, result.stderr
    status, _, html = result.stdout.partition("\n")
    rate = json.loads(expected[READS[0]])["appearance_rate"]
    assert status == "200" and f"{rate * 100:.1f}%" in html


@pytest.fixture
def cannot_write(monkeypatch):
    """caselog finds the log unwritable: it opens it read-only (SQLite's mode=ro)."""
    monkeypatch.setattr(database, "writable", lambda path: not path.exists())


def test_a_log_that_cannot_be_written_is_opened_read_only_for_every_read(log, expected, cannot_write):
    reads_work_and_writes_say_why(run_here, log, expected, "the file or its folder is read-only")


def test_serving_refuses_stale_projections_it_cannot_rebuild(example_db, tmp_path, cannot_write):
    """Datasette would show the log's own tables, made by another version: refused before it starts."""
    path = copy_db(example_db, tmp_path / "caselog.db")
    mark_stale(path)
    assert_refused(*run_here(path, "serve", "--port", "1"), "caselog rebuild")


@pytest.mark.parametrize("args", [("summary", "--year", "2021"), ("verify",)])
def test_dev_null_is_not_a_caselog_database(args):
    assert_refused(*run_here(Path("/dev/null"), *args), "/dev/null is not a caselog database")


@pytest.mark.parametrize("args", [("summary", "--year", "2021"),
                                  ("file", CASE, "--filed-on", "2018-03-01", "--court", "某法院", "--agency", "某局",
                                   "--cause", "行政处罚")])
def test_a_fifo_is_not_a_caselog_database_and_nothing_is_created_beside_it(tmp_path, args):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = subprocess.run([*caselog_command(), "--db", str(fifo), *args], capture_output=True, text=True, timeout=30)
    assert_refused(result.returncode, result.stdout, result.stderr, "is not a caselog database")
    assert os.listdir(tmp_path) == ["pipe"]
