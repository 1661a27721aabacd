"""Cells and names that cannot be turned against the people who open caselog's outputs.

A spreadsheet runs a CSV or XLSX cell that begins with ``=``, ``+``, ``-`` or
``@`` as a formula (and a leading tab or carriage return hides one), so a
clerk who typed ``=HYPERLINK(...)`` as a plaintiff's name could make every
reviewer's spreadsheet call out.  ``neutralise`` puts an apostrophe in front,
which spreadsheets show as text.  Markdown gives ``|``, brackets and line
breaks a meaning, so ``markdown_text`` escapes them in names.
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain number ("-3", "-0.25", "1e-5") is data, not a formula: a leading minus stays.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Every ASCII character Markdown (CommonMark and GitHub's tables) may read as syntax in running text.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~:&])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def neutralise(cell: object) -> object:
    """A CSV or XLSX cell a spreadsheet shows as text: text that could start a formula gets a
    leading apostrophe; numbers and other values are returned as they are."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def neutralised(row: dict) -> dict:
    """A CSV row with every cell ``neutralise``d."""
    return {key: neutralise(value) for key, value in row.items()}


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown inline text: one line, no table cell, link or emphasis of its own."""
    return _MARKDOWN.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))
