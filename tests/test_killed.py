"""Killed work leaves nothing behind: helpers die with their parent, scratch folders go at the latest
at the next start, and a full temporary folder is named as such."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caselog import synthetic
from integrity_support import copy_db, invoke

# Runs caselog's CLI with every long job on two processes, whatever the log's size.
TWO_PROCESSES = """
import sys
from caselog import parallel
parallel.READ_APART_FROM = 0
parallel.FROM_EVENTS = 0
parallel.usable_cpus = lambda: 2
from cli import cli
cli.main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("killed") / "national.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        synthetic.write_jsonl(synthetic.national(40_000, seed=3), fh)
    return path


@pytest.fixture(scope="module")
def national_db(national, tmp_path_factory) -> Path:
    """The national file imported once; a test that needs a log of it works on its own copy."""
    db = tmp_path_factory.mktemp("killed-log") / "national.db"
    assert invoke(db, "import", str(national)).exit_code == 0
    return db


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    scratch = tmp_path / "tmp"
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen([sys.executable, "-c", TWO_PROCESSES, *args], env=env, cwd=Path(__file__).parent.parent,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, scratch


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def _wait_for_helpers(process: subprocess.Popen, scratch: Path) -> set[int]:
    """The helpers of ``process`` once it has both a helper and a scratch folder."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        helpers = _children(process.pid)
        if helpers and list(scratch.glob(f"caselog-{process.pid}-*")):
            return helpers
        time.sleep(0.02)
    raise AssertionError("the job never started a helper")


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie has stopped; only its parent's reaping is missing


def _all_gone(pids: set[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(map(_gone, pids)):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads processes from /proc")
def test_a_killed_import_leaves_no_helper_and_its_scratch_goes_at_the_next_start(national, tmp_path):
    db = tmp_path / "caselog.db"
    process, scratch = _start(tmp_path, "--db", str(db), "import", str(national))
    helpers = _wait_for_helpers(process, scratch)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _all_gone(helpers), "a helper outlived the import it was working for"
    assert list(scratch.glob("caselog-*")), "nothing to clean up: the kill came too late to test anything"

    env = {**os.environ, "TMPDIR": str(scratch)}
    subprocess.run([sys.executable, "-c", TWO_PROCESSES, "--db", str(db), "head"], env=env,
                   check=True, capture_output=True, cwd=Path(__file__).parent.parent)
    assert list(scratch.glob("caselog-*")) == []
    assert invoke(db, "export").stdout_bytes == b""  # the import left the log as it was: empty


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads processes from /proc")
def test_a_rebuild_stopped_by_sigterm_cleans_up_at_once(national_db, tmp_path):
    db = copy_db(national_db, tmp_path / "caselog.db")
    process, scratch = _start(tmp_path, "--db", str(db), "rebuild")
    helpers = _wait_for_helpers(process, scratch)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert _all_gone(helpers, within=1.0)
    assert list(scratch.glob("caselog-*")) == []
    verified = invoke(db, "verify")
    assert verified.exit_code == 0, verified.output


@pytest.fixture
def small_tmpdir(tmp_path):
    """A temporary folder of 256 KiB: a tmpfs mounted for the test, where the machine lets us."""
    folder = tmp_path / "small"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_full_temporary_folder_is_named_as_such(national_db, tmp_path, small_tmpdir, monkeypatch):
    db = copy_db(national_db, tmp_path / "caselog.db")
    monkeypatch.setenv("TMPDIR", str(small_tmpdir))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    result = invoke(db, "verify")
    assert result.exit_code == 1
    assert "TMPDIR" in result.stderr and "is full" in result.stderr and "log" not in result.stderr.split("full")[0]
    assert list(small_tmpdir.glob("caselog-*")) == []
