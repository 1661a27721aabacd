"""docs/domain.md, the domain contract, names everything the code defines: an event type, field,
vocabulary word or summary key added without a word in the contract fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from caselog import events as ev
from caselog import figures

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = (ROOT / "docs" / "domain.md").read_text("utf-8")
# What the contract says of the code as it is, before the section on what is being implemented.
CURRENT = DOMAIN.split("## Being implemented")[0]

VOCABULARY = {
    "levels": ev.LEVELS, "attendances": ev.ATTENDANCES, "excuses": ev.EXCUSES, "dispositions": ev.DISPOSITIONS,
    "results": ev.RESULTS, "appellants": ev.APPELLANTS, "level scopes": figures.LEVEL_SCOPES,
}


@pytest.mark.parametrize("type_", sorted(ev.EVENT_TYPES))
def test_every_event_type_and_field_is_described(type_):
    assert f"**`{type_}`**" in CURRENT
    section = CURRENT.split(f"**`{type_}`**")[1].split("\n**`")[0]
    same = re.search(r"The same fields as\s+`(\w+)`", section)
    if same:  # described by reference to a type with the same fields
        assert ev.FIELDS[type_] == ev.FIELDS[same.group(1)]
        return
    for field in ev.FIELDS[type_]:
        assert f"`{field}`" in section, (type_, field)


@pytest.mark.parametrize("name", sorted(VOCABULARY))
def test_every_word_of_the_vocabulary_is_listed(name):
    missing = [word for word in VOCABULARY[name] if f"`{word}`" not in CURRENT]
    assert not missing


def test_every_cause_is_listed():
    assert [cause for cause in ev.CAUSES if cause not in CURRENT] == []


def test_every_figure_is_defined_and_every_summary_key_listed():
    """Each key heads a row of a table under "The figures", and is named under "The JSON summary"."""
    figures_section, json_section = CURRENT.split("## The figures")[1].split("## The JSON summary")
    for key in figures.KEYS:
        assert re.search(rf"^\| [^|]*`{key}`[^|]*\|", figures_section, re.M), f"no definition row for {key}"
        assert f"`{key}`" in json_section, key


def test_the_readme_points_to_the_contract_in_the_repository():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "](docs/domain.md)" in readme
    assert "shared folder" not in readme
