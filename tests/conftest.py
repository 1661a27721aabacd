"""Shared helpers: drive the click CLI in-process on tmp_path databases.

``CaseLog`` wraps one database: ``do`` runs a clerk command that must succeed,
``refuses`` runs one that must be refused and checks the refusal contract
(exit status, one ``Error:`` line naming the problem, nothing written).
Commands are written as one string, e.g.
``"h = hearing {C} --held-on 2022-05-10 --attendance staff"``: ``h =`` names the
recorded event so later commands can say ``{h}`` for its event id; the other
``{NAME}`` placeholders are the constants given to ``CaseLog(names=...)``.
``--expect-version`` (the case's current version) and ``--json`` are added
unless the command gives them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import sqlite3
from pathlib import Path
from typing import Iterable

import pytest
from click.testing import CliRunner, Result

CLERK = "clerk-t"
TODAY = dt.date.today()
TOMORROW = TODAY + dt.timedelta(days=1)
#: Commands that append an event; all but correct/retract name the case first.
CLERK_COMMANDS = frozenset(
    {"file", "add-defendant", "hearing", "conclude", "appeal", "appeal-decision", "retrial-decision", "correct", "retract"}
)


def half_width(case: str) -> str:
    return case.strip().replace("（", "(").replace("）", ")")


def check_refusal(result: Result, keywords: Iterable[str] = (), code: int | tuple[int, ...] = 1) -> str:
    """Assert the refusal contract and return the lower-cased error line.

    Each keyword is a group of alternatives separated by ``|``; at least one
    alternative of every group must occur in the error line.
    """
    codes = (code,) if isinstance(code, int) else tuple(code)
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}\nexception: {result.exception!r}"
    assert "Traceback" not in result.output + result.stdout + result.stderr, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert result.exit_code in codes, shown
    assert result.stdout == "", shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert errors, shown
    if result.exit_code == 1:
        assert lines == errors and len(errors) == 1, "a refusal is one 'Error: ' line on stderr\n" + shown
    message = errors[-1].lower()
    for group in keywords:
        assert any(word.lower() in message for word in group.split("|")), f"none of {group!r} in {message!r}"
    return message


def check_line_number(message: str, number: int) -> None:
    assert re.search(rf"\bline {number}\b", message), f"'line {number}' not in {message!r}"


class CaseLog:
    """One caselog database driven through the CLI."""

    def __init__(self, path: Path, names: dict[str, str] | None = None):
        self.path = Path(path)
        self.names: dict[str, str] = dict(names or {})
        self.ids: dict[str, str] = {}  # label -> event_id
        self.case_of: dict[str, str] = {}  # event_id -> case
        self.versions: dict[str, int] = {}  # case -> events logged

    def invoke(self, *args: str, input: str | bytes | None = None, clerk: str = CLERK) -> Result:
        from cli import cli

        return CliRunner().invoke(
            cli,
            ["--db", str(self.path), "--clerk", clerk, *args],
            input=input,
            env={"CASELOG_DB": None, "CASELOG_CLERK": None},
        )

    def args(self, command: str) -> tuple[str | None, list[str]]:
        """The label and argument list of a command string (see the module docstring)."""
        tokens = shlex.split(command.format_map({**self.names, **self.ids}))
        label = None
        if len(tokens) > 1 and tokens[1] == "=":
            label, tokens = tokens[0], tokens[2:]
        if tokens and tokens[0] in CLERK_COMMANDS:
            if "--expect-version" not in tokens:
                tokens += ["--expect-version", str(self.version_for(tokens))]
            if "--json" not in tokens:
                tokens.append("--json")
        return label, tokens

    def version_for(self, tokens: list[str]) -> int:
        if len(tokens) < 2:
            return 0
        if tokens[0] in ("correct", "retract"):
            case = self.case_of.get(tokens[1].lower())
            return self.versions.get(case, 0) if case else 0
        return self.versions.get(half_width(tokens[1]), 0)

    def do(self, command: str, clerk: str = CLERK) -> dict:
        """Run a clerk command that must be accepted; return its --json object."""
        label, tokens = self.args(command)
        result = self.invoke(*tokens, clerk=clerk)
        assert result.exit_code == 0 and result.exception is None, (
            f"{tokens} was refused: exit {result.exit_code}\n{result.stderr}{result.exception!r}"
        )
        data = json.loads(result.stdout)
        self.recorded(data)
        if label:
            self.ids[label] = data["event_id"]
        return data

    def recorded(self, data: dict) -> None:
        self.versions[data["case"]] = self.versions.get(data["case"], 0) + 1
        self.case_of[data["event_id"]] = data["case"]

    def refuses(self, command: str, *keywords: str, code: int | tuple[int, ...] = 1) -> str:
        """Run a command that must be refused with nothing written; return the error line."""
        before = self.snapshot()
        _, tokens = self.args(command)
        message = check_refusal(self.invoke(*tokens), keywords, code)
        assert self.snapshot() in (before, b"" if before is None else before), "a refused command changed the log"
        return message

    def snapshot(self) -> bytes | None:
        """The export, or None while no database file exists (export may refuse then)."""
        return self.export() if self.path.exists() else None

    def export(self) -> bytes:
        result = self.invoke("export")
        assert result.exit_code == 0 and result.exception is None, f"export failed: {result.stderr}{result.exception!r}"
        return result.stdout_bytes

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.export().decode("utf-8").splitlines() if line.strip()]

    def sync(self) -> None:
        """Recount versions and event cases from the export (after an import)."""
        self.versions, self.case_of = {}, {}
        for event in self.events():
            self.recorded(event)

    def copy_to(self, path: Path) -> "CaseLog":
        """The same log in a new database file (a consistent SQLite snapshot)."""
        clone = CaseLog(path, self.names)
        clone.ids, clone.case_of, clone.versions = dict(self.ids), dict(self.case_of), dict(self.versions)
        if self.path.exists():
            source, target = sqlite3.connect(self.path), sqlite3.connect(path)
            source.backup(target)
            source.close()
            target.close()
        return clone


@pytest.fixture(scope="session", autouse=True)
def _spawned_processes_skip_pytests_script():
    """A process caselog spawns (``multiprocessing``'s spawn: a helper, a second core) starts as a
    fresh interpreter that first runs the parent's ``__main__`` again: under the ``pytest`` script
    that is pytest's own start-up, some 0.1 s of imports for every one of the suite's hundreds of
    helpers, and nothing that caselog's code sees.  They skip it, as under ``python -m pytest``,
    where multiprocessing leaves a ``__main__`` module alone; what they run is unchanged."""
    from multiprocessing import spawn

    prepared = spawn.get_preparation_data

    def without_main(name):
        data = prepared(name)
        data.pop("init_main_from_path", None)
        return data

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spawn, "get_preparation_data", without_main)
        yield


@pytest.fixture(scope="session")
def _built_histories(tmp_path_factory):
    return tmp_path_factory.mktemp("histories"), {}


@pytest.fixture
def history(tmp_path, _built_histories):
    """``history(steps, names)``: a CaseLog in tmp_path holding the steps' events.

    Each distinct history is built through the CLI once per session and copied,
    which keeps large parametrized tables fast.
    """
    folder, built = _built_histories

    def make(steps: Iterable[str], names: dict[str, str] | None = None) -> CaseLog:
        steps = tuple(steps)
        key = (steps, tuple(sorted((names or {}).items())))
        source = built.get(key)
        if source is None:
            source = CaseLog(folder / f"history{len(built)}.db", names)
            for step in steps:
                source.do(step)
            built[key] = source
        return source.copy_to(tmp_path / "caselog.db")

    return make


# --- reviewers' logs, shared by the plugin's tests ---------------------------------------------

EXAMPLE_LOG = Path(__file__).resolve().parent / "fixtures" / "small-city.jsonl"


@pytest.fixture(scope="session")
def example_db(tmp_path_factory) -> Path:
    """The shared small-city example, imported into a file whose name is not caselog.db."""
    from caselog import interchange, opening, writer

    path = tmp_path_factory.mktemp("example") / "reviews.db"
    conn = opening.open_log(path)
    with open(EXAMPLE_LOG, "rb") as lines:
        writer.append(conn, interchange.read_jsonl(lines, "test"))
    conn.close()
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo city, built through `caselog demo` (more reversals and corrections than the example)."""
    from cli import cli

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = CliRunner().invoke(cli, ["demo", "--db", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(params=["example_db", "demo_db"])
def any_db(request) -> Path:
    return request.getfixturevalue(request.param)
