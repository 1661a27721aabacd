"""One vocabulary: the command line's choices and the generators' tables offer exactly the words of
caselog.events (and figures.LEVEL_SCOPES), so a word added there cannot be missing here; and every
word is read from its Chinese label and short forms (caselog.vocabulary), and shown with its label."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from caselog import events as ev
from caselog import figures, vocabulary
from caselog.synthetic import agencies, story
from cli import cli

#: The words each choice of the command line must offer, in the vocabulary's order (the help shows
#: it: attendances highest rank first).  summary's --level is a scope of the figures, not a level.
CLI_CHOICES = {
    ("file", "cause"): ev.CAUSES,
    ("hearing", "level"): ev.LEVELS,
    ("hearing", "attendance"): ev.ATTENDANCES,
    ("hearing", "excuse"): ev.EXCUSES,
    ("conclude", "disposition"): ev.DISPOSITIONS,
    ("appeal", "appellant"): ev.APPELLANTS,
    ("appeal-decision", "result"): ev.RESULTS,
    ("appeal-decision", "disposition"): ev.DISPOSITIONS,
    ("retrial-decision", "result"): ev.RESULTS,
    ("retrial-decision", "disposition"): ev.DISPOSITIONS,
    ("summary", "level"): figures.LEVEL_SCOPES,
    ("file", "roles"): ev.ROLES,
    ("add-defendant", "role"): ev.ROLES,
    ("report", "level"): figures.LEVEL_SCOPES,
    ("agency add", "agency_level"): ev.AGENCY_LEVELS,
    ("agency update", "agency_level"): ev.AGENCY_LEVELS,
}
#: Choices that are about presentation, the shell or who may do what, not the domain.
NOT_VOCABULARY = {"fmt", "lang", "shell", ("keys add", "role"), ("accounts add", "role")}


def _choices(group: click.Group, path: str = "") -> dict[tuple[str, str], tuple[str, ...]]:
    found = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_choices(command, f"{path}{name} "))
        for param in command.params:
            if isinstance(param.type, click.Choice) and not {param.name, (f"{path}{name}", param.name)} & NOT_VOCABULARY:
                found[(f"{path}{name}", param.name)] = tuple(param.type.choices)
    return found


def test_every_cli_choice_is_its_vocabulary():
    """A new choice must be listed above; a listed one that went away fails too."""
    assert _choices(cli) == CLI_CHOICES


def test_every_word_of_the_domain_is_a_clerks_word():
    """Each word choice of the command line reads the vocabulary of the field of its name."""
    words = {key: choices for key, choices in CLI_CHOICES.items() if key[0] not in ("summary", "report")}
    field = {"roles": "role"}  # a repeatable option is named in the plural
    assert {(command, name): vocabulary.WORDS[field.get(name, name)] for command, name in words} == words
    assert set(vocabulary.WORDS) == {field.get(name, name) for _, name in words}


@pytest.mark.parametrize("field", sorted(vocabulary.WORDS))
def test_every_word_reads_from_itself_its_chinese_label_and_its_short_forms(field):
    labels = vocabulary.labels(field)
    for word in vocabulary.WORDS[field]:
        assert vocabulary.word(field, word) == word
        if word in labels:
            assert vocabulary.word(field, labels[word]) == word, labels[word]
    for short, word in vocabulary.SHORT_FORMS[field].items():
        assert word in vocabulary.WORDS[field], short
        assert vocabulary.word(field, short) == word, short


@pytest.mark.parametrize("field", sorted(vocabulary.WORDS))
def test_no_short_form_shadows_a_word_or_a_label(field):
    """A short form that spelt another word or label would take that word's place."""
    words, zh = vocabulary.WORDS[field], vocabulary.labels(field)
    taken = set(words) | {zh[word] for word in words if word in zh}
    assert not taken & set(vocabulary.SHORT_FORMS[field])
    labels = [zh[word] for word in words if word in zh]
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("command, name", sorted(CLI_CHOICES))
def test_the_help_lists_every_word_with_its_chinese(command, name):
    help_text = " ".join(CliRunner().invoke(cli, [*command.split(), "--help"]).output.split())
    for word in CLI_CHOICES[(command, name)]:
        assert (vocabulary.label(word, name) if name != "level" or command not in ("summary", "report") else word) in help_text


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
