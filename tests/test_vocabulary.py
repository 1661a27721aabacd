"""One vocabulary: the command line's choices and the generators' tables offer exactly the words of
caselog.events (and figures.LEVEL_SCOPES), so a word added there cannot be missing here."""

from __future__ import annotations

import click
import pytest

from caselog import events as ev
from caselog import figures
from caselog.synthetic import agencies, story
from cli import cli

#: The words each choice of the command line must offer, in the vocabulary's order (the help shows
#: it: attendances highest rank first).  summary's --level is a scope of the figures, not a level.
CLI_CHOICES = {
    ("hearing", "level"): ev.LEVELS,
    ("hearing", "attendance"): ev.ATTENDANCES,
    ("hearing", "excuse"): ev.EXCUSES,
    ("appeal", "appellant"): ev.APPELLANTS,
    ("appeal-decision", "result"): ev.RESULTS,
    ("retrial-decision", "result"): ev.RESULTS,
    ("summary", "level"): figures.LEVEL_SCOPES,
    ("report", "level"): figures.LEVEL_SCOPES,
}
#: Choices that are about presentation, not the domain.
NOT_VOCABULARY = {"fmt", "lang"}


def _choices(group: click.Group, path: str = "") -> dict[tuple[str, str], tuple[str, ...]]:
    found = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_choices(command, f"{path}{name} "))
        for param in command.params:
            if isinstance(param.type, click.Choice) and param.name not in NOT_VOCABULARY:
                found[(f"{path}{name}", param.name)] = tuple(param.type.choices)
    return found


def test_every_cli_choice_is_its_vocabulary():
    """A new choice must be listed above; a listed one that went away fails too."""
    assert _choices(cli) == CLI_CHOICES


@pytest.mark.parametrize("table, words", [
    (story.LOSS_WEIGHTS, ev.LOSSES),
    (story.NON_LOSS_WEIGHTS, ev.NON_LOSSES),
    (story.EXCUSE_WEIGHTS, ev.EXCUSES),
    (story.RESULT_WEIGHTS[True], ev.RESULTS),
    (story.RESULT_WEIGHTS[False], ev.RESULTS),
    (story.RETRIAL_WEIGHTS, ev.RESULTS),
], ids=["losses", "non-losses", "excuses", "results after a loss", "results after a win", "retrial results"])
def test_every_generator_weight_table_covers_its_vocabulary(table, words):
    assert sorted(table.words) == sorted(words)


def test_every_disposition_has_a_plausible_wrong_entry_among_the_dispositions():
    assert sorted(story.DISPOSITION_FIXES) == sorted(ev.DISPOSITIONS)
    assert set(story.DISPOSITION_FIXES.values()) <= set(ev.DISPOSITIONS)


def test_the_generators_other_words_are_the_vocabularys():
    assert set(story.REVERSED_INTO_LOSS) <= ev.LOSS_SET
    assert set(story.APPEALED) <= set(ev.DISPOSITIONS)
    for kind in agencies.KINDS:
        assert len(kind.attend_from) == len(kind.attend_to) == len(ev.ATTENDANCES), kind.name
        assert {cause for cause, _ in kind.causes} <= set(ev.CAUSES), kind.name
