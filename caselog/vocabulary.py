"""Reading what clerks type: each word of the vocabulary (``caselog.events``) in English, by its
Chinese label or by a short form people use, with the nearest words when none matches; and an
entry's problems all at once, each with the field it is about.

The stored values stay the English words of docs/domain.md; this module only reads input.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Any

import attrs

from caselog import events as ev
from caselog.errors import InputError

#: The fields whose values are words of the vocabulary, and their words (a field's name is its kind).
WORDS: dict[str, tuple[str, ...]] = {
    "level": ev.LEVELS,
    "attendance": ev.ATTENDANCES,
    "excuse": ev.EXCUSES,
    "disposition": ev.DISPOSITIONS,
    "result": ev.RESULTS,
    "appellant": ev.APPELLANTS,
    "cause": ev.CAUSES,
    "role": ev.ROLES,
    "agency_level": ev.AGENCY_LEVELS,
}
#: Chinese labels kept apart from ``events.LABELS_ZH``, where the same English word means something else.
_LABELS = {"agency_level": ev.AGENCY_LEVELS_ZH}


def labels(field: str | None) -> dict[str, str]:
    """The Chinese labels of a field's words (of any field's, for None)."""
    return _LABELS.get(field, ev.LABELS_ZH)


#: What clerks write besides the English word and the Chinese label (``events.LABELS_ZH``).
SHORT_FORMS: dict[str, dict[str, str]] = {
    "level": {"第一审": "first", "第二审": "second", "上诉审": "second"},
    "attendance": {
        "正职": "principal", "主要负责人": "principal", "副职": "deputy",
        "其他负责人": "other_head", "分管负责人": "other_head", "其他分管": "other_head",
        "律师": "lawyer_only", "仅委托律师": "lawyer_only", "无人": "none", "未出庭": "none",
    },
    "excuse": {"意外": "accident", "因公": "official_duty", "公务原因": "official_duty", "其他": "other"},
    "disposition": {
        "撤销判决": "revoked", "撤销并责令重作": "revoked_redo", "责令重作": "revoked_redo",
        "责令履行": "ordered_to_perform", "履行职责": "ordered_to_perform", "给付": "ordered_to_pay",
        "驳回请求": "claims_dismissed", "判决驳回": "claims_dismissed",
        "撤回": "withdrawn", "撤回起诉": "withdrawn", "改变后撤诉": "withdrawn_after_change",
        "赔偿": "compensation", "终结诉讼": "terminated",
    },
    "result": {
        "维持原判": "upheld", "驳回上诉": "upheld", "发回": "remanded",
        "撤回": "withdrawn", "撤回上诉": "withdrawn", "撤回再审": "withdrawn",
    },
    "appellant": {"被告": "agency", "行政机关": "agency", "原被告": "both", "双方均上诉": "both"},
    "role": {"复议": "reconsideration", "复议维持": "reconsideration", "共同": "joint", "共同作出": "joint"},
    "agency_level": {"省政府": "province_gov", "市政府": "city_gov", "区县政府": "county_gov", "县政府": "county_gov",
                     "区政府": "county_gov", "区县部门": "county_dept", "区级部门": "county_dept", "乡镇": "township",
                     "街道": "township", "乡镇街道": "township"},
    "cause": {
        "处罚": "行政处罚", "强制措施": "行政强制措施", "强制执行": "行政强制执行", "许可": "行政许可",
        "征收": "行政征收或者征用", "征用": "行政征收或者征用", "行政征收": "行政征收或者征用",
        "行政征用": "行政征收或者征用", "登记": "行政登记", "信息公开": "政府信息公开",
        "不作为": "不履行职责", "行政不作为": "不履行职责", "不履行法定职责": "不履行职责",
        "公益诉讼": "行政行为公益诉讼", "协议": "行政协议", "补偿": "行政补偿", "赔偿": "行政赔偿",
    },
}

SUGGESTED = 3  # nearest words a refusal offers


def _key(text: str) -> str:
    # Full-width letters, case, spaces and hyphens are how the same word is typed differently.
    return "".join(unicodedata.normalize("NFKC", text).casefold().replace("-", "_").split())


def _spellings(field: str) -> dict[str, str]:
    """Every accepted spelling of the field's words (as ``_key`` makes it) -> the word."""
    words = WORDS[field]
    spellings = {_key(word): word for word in words}
    spellings.update({_key(label): word for word, label in labels(field).items() if word in words})
    spellings.update({_key(short): word for short, word in SHORT_FORMS[field].items()})
    return spellings


_SPELLINGS = {field: _spellings(field) for field in WORDS}


def label(word: str, field: str | None = None) -> str:
    """A word as a clerk reads it: ``deputy (副职负责人)``; causes are Chinese already."""
    zh = labels(field).get(word)
    return word if zh is None else f"{word} ({zh})"


def word(field: str, value: str) -> str:
    """The vocabulary's word for what a clerk typed in ``field``; ValueError, naming the nearest, if none."""
    spellings = _SPELLINGS[field]
    found = spellings.get(_key(value))
    if found is not None:
        return found
    near = difflib.get_close_matches(_key(value), spellings, n=len(spellings), cutoff=0.5)
    nearest = list(dict.fromkeys(spellings[spelling] for spelling in near))[:SUGGESTED]
    if nearest:
        raise ValueError(f"unknown value {ev.shown(value)} (did you mean {' or '.join(label(w, field) for w in nearest)}?)")
    raise ValueError(f"unknown value {ev.shown(value)}: expected one of {', '.join(label(w, field) for w in WORDS[field])}")


def completions(field: str, start: str) -> list[tuple[str, str | None]]:
    """The words a clerk may mean by the start of one, as (what to type, what it means)."""
    key = _key(start)
    meant = {word for spelling, word in _SPELLINGS[field].items() if spelling.startswith(key)}
    # Offer what the clerk is typing: the English word for Latin letters, else the Chinese.
    zh = labels(field)
    return [(word, zh.get(word)) if start.isascii() else (zh.get(word, word), word)
            for word in WORDS[field] if word in meant]


class EntryError(InputError):
    """An entry with one or more bad values; ``problems`` holds (field or None, why) for each."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        self.problems = problems
        super().__init__("; ".join(why if field is None else f"{field}: {why}" for field, why in problems))


def read(type_: str, payload: dict[str, Any]) -> ev.Event:
    """The event a clerk's entry makes, its words read as ``word`` does.

    Every field is checked, so that one refusal names every bad value (``EntryError``); whether
    the fields agree with each other (``spoke`` only for a head) is checked once each is good.
    """
    cls = ev.EVENT_TYPES[type_]
    values, good = dict(payload), {}
    problems: list[tuple[str | None, str]] = []
    for field in attrs.fields(cls):
        value = values.get(field.name)
        if value is None:
            continue
        try:
            if field.name in WORDS and isinstance(value, str):
                values[field.name] = value = word(field.name, value)
            good[field.name] = field.converter(value)
        except ValueError as error:
            problems.append((field.name, str(error).removeprefix(f"{field.name}: ")))
    if problems:
        agree = getattr(cls, "__attrs_post_init__", None)
        try:
            if agree is not None:
                agree(ev.trusted(type_, good))
        except ValueError as error:
            # Whether the good fields agree (a head's spoke) is news only if the message is not
            # about a bad field, which the stand-in event lacks.
            if not any(re.search(rf"\b{field}\b", str(error)) for field, _ in problems):
                problems.append((None, str(error)))
        raise EntryError(problems)
    try:
        return ev.make(type_, values)
    except ValueError as error:
        raise EntryError([(None, str(error))]) from None


#: How clerks answer yes or no (whether a head spoke, 是否发言).
TRUTH = {"true": True, "false": False, "yes": True, "no": False, "是": True, "否": False}


def truth(value: str) -> bool:
    """True or false as a clerk writes it: true/false, yes/no, 是/否."""
    found = TRUTH.get(_key(value))
    if found is None:
        raise ValueError(f"must be true or false (是 or 否), not {ev.shown(value)}")
    return found
