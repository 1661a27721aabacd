"""The README cannot drift: its walkthrough runs, its command help is generated, every command is documented."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HASH = re.compile(r"\b[0-9a-f]{64}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def walkthrough() -> list[tuple[str, str]]:
    """(command, expected output) pairs from the README's console blocks."""
    steps: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(), re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            steps.append((command, output))
    return steps


def test_the_walkthrough_runs_as_written(tmp_path, monkeypatch):
    """Every command prints what the README shows, up to ids, hashes and times."""
    monkeypatch.setenv("CASELOG_DB", str(tmp_path / "walk.db"))
    monkeypatch.setenv("CASELOG_CLERK", "clerk-wang")
    runner = CliRunner()
    ids: dict[str, str] = {}  # the README's ids -> this run's
    steps = walkthrough()
    assert len(steps) >= 8
    for command, expected in steps:
        for theirs, ours in ids.items():
            command = command.replace(theirs, ours)
        args = shlex.split(command)
        assert args[0] == "caselog"
        result = runner.invoke(cli, args[1:], prog_name="caselog")
        assert "Traceback" not in result.output
        ids.update(zip(UUID.findall(expected), UUID.findall(result.output)))
        assert mask(result.output) == mask(expected), command


def mask(text: str) -> str:
    return TIME.sub("<time>", HASH.sub("<hash>", UUID.sub("<id>", text))).rstrip()


def test_every_command_and_option_is_documented():
    text = README.read_text()
    for name, command in cli.commands.items():
        assert f"### caselog {name}\n" in text, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in text, f"{name} {opt}"


def test_the_generated_parts_of_the_readme_are_current():
    cogapp = pytest.importorskip("cogapp")
    assert cogapp.Cog().main(["cog", "--check", str(README)]) == 0, "run: cog -r README.md"
