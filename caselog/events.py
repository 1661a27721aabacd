"""The vocabulary: every event a clerk can log, as small frozen value classes.

Each class carries a stable ``TYPE`` name (the string stored in the database,
never a Python path).  Payloads are checked on construction, so an instance is
always a well-formed fact; whether it fits the case's history is for the rules.

This module imports nothing else from caselog.  Its validators raise
``ValueError``/``TypeError``; the store turns those into ``InputError``.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import os
import re
import sys
import time
import unicodedata
from typing import Any, Callable, ClassVar, Iterable

import attrs

#: The fields that date an event in the world; no event type has more than one.
DATE_FIELDS = ("filed_on", "held_on", "decided_on", "added_on")
#: No new event may be dated earlier: such a date is a slip (0001-01-01), and each year it
#: reaches back adds a year to every listing by year.  Events logged before this was refused
#: still count (``rules.decide`` checks only what is entered).
EARLIEST_DATE = "1990-01-01"

#: Bumped when a payload's shape or how it is committed to changes; old rows are upcast on read.
#: 2: the same fields as 1, each committed to with a salt of its own (``chain.committed``), so that
#: one of them can be redacted.  3: the same fields again, only the personal ones (``PERSONAL``) salted
#: (``chain.personal_salted``): as redactable, at half the cost of 2 to check and store.
SCHEMA_VERSION = 3

LEVELS = ("first", "second", "retrial")

#: Attendance, highest rank first (DOMAIN.md).
ATTENDANCES = ("principal", "deputy", "other_head", "staff", "lawyer_only", "none")
HEADS = frozenset(ATTENDANCES[:3])
ATTENDANCE_RANK = {name: len(ATTENDANCES) - i for i, name in enumerate(ATTENDANCES)}

EXCUSES = ("force_majeure", "accident", "official_duty", "other")

LOSSES = (
    "revoked",
    "partly_revoked",
    "revoked_redo",
    "ordered_to_perform",
    "ordered_to_pay",
    "confirmed_illegal",
    "confirmed_void",
    "varied",
    "agreement_liability",
    "compensation",
)
NON_LOSSES = (
    "claims_dismissed",
    "suit_dismissed",
    "withdrawn",
    "withdrawn_after_change",
    "mediated",
    "terminated",
)
DISPOSITIONS = LOSSES + NON_LOSSES
LOSS_SET = frozenset(LOSSES)
#: Merits judgments (实体判决): the losses plus a dismissal of the claims.
MERITS_SET = LOSS_SET | {"claims_dismissed"}

RESULTS = ("upheld", "reversed", "remanded", "withdrawn")
#: A co-defendant's role: the 复议机关 that upheld the act (复议维持), or an agency that made the act
#: together with the first defendant (行政诉讼法 art. 26).
ROLES = ("reconsideration", "joint")
APPELLANTS = ("plaintiff", "agency", "both")
#: 被告级别: the defendant's place in the hierarchy, highest first (docs/domain.md, "The agency registry").
AGENCY_LEVELS = ("province_gov", "province_dept", "city_gov", "city_dept", "county_gov", "county_dept",
                 "township", "other")
#: Their Chinese labels, apart from LABELS_ZH: ``other`` there is an excuse's (其他正当理由).
AGENCY_LEVELS_ZH = {
    "province_gov": "省级政府", "province_dept": "省级部门", "city_gov": "市级政府", "city_dept": "市级部门",
    "county_gov": "县级政府", "county_dept": "县级部门", "township": "乡镇(街道)", "other": "其他",
}
#: The stream of the registry's events: a fixed key no case number can equal (they begin with "(").
REGISTRY = "机构名录"

#: 案由, 法发〔2020〕44号.
CAUSES = (
    "行政处罚", "行政强制措施", "行政强制执行", "行政许可", "行政征收或者征用",
    "行政登记", "行政确认", "行政给付", "行政允诺", "行政征缴", "行政奖励",
    "行政收费", "政府信息公开", "行政批复", "行政处理", "行政复议", "行政裁决",
    "行政协议", "行政补偿", "行政赔偿", "不履行职责", "行政行为公益诉讼",
)

# Chinese labels, for people; the English names above are what is stored.
LABELS_ZH = {
    "first": "一审", "second": "二审", "retrial": "再审",
    "principal": "正职负责人", "deputy": "副职负责人", "other_head": "其他分管负责人",
    "staff": "工作人员", "lawyer_only": "仅律师", "none": "无人出庭",
    "force_majeure": "不可抗力", "accident": "意外事件", "official_duty": "公务",
    "other": "其他正当理由",
    "revoked": "撤销", "partly_revoked": "部分撤销", "revoked_redo": "撤销并重作",
    "ordered_to_perform": "履行法定职责", "ordered_to_pay": "履行给付义务",
    "confirmed_illegal": "确认违法", "confirmed_void": "确认无效", "varied": "变更",
    "agreement_liability": "行政协议履行或补偿", "compensation": "行政赔偿",
    "claims_dismissed": "驳回诉讼请求", "suit_dismissed": "驳回起诉", "withdrawn": "撤诉",
    "withdrawn_after_change": "被告改变行政行为后撤诉", "mediated": "调解", "terminated": "终结",
    "upheld": "维持", "reversed": "改判", "remanded": "发回重审",
    "plaintiff": "原告", "agency": "被告机关", "both": "双方",
    "reconsideration": "复议机关", "joint": "共同被告",
}

_FIRST_TYPES = ("行初", "行赔初")
_APPEAL_TYPES = ("行终", "行赔终")
# [0-9], never \d: \d also matches other scripts' digits (२०२२), which would file one case twice.
_NEW_FORM = re.compile(r"\(([0-9]{4})\)([\u4e00-\u9fff][0-9]+)(行赔初|行初|行赔终|行终)([1-9][0-9]*)号")
_OLD_FORM = re.compile(r"\(([0-9]{4})\)([\u4e00-\u9fff]{1,8}[0-9]*)(行赔初|行初|行赔终|行终)字第([1-9][0-9]*)号")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# How clerks write dates besides ISO: 2022/5/10, 2022.5.10, 2022-5-10 (one separator throughout), 2022年5月10日.
_WRITTEN_DATE = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})|([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Control characters (C0, C1), and the invisible ones that reorder or hide text on screen: bidirectional
# controls (U+202E shows "abc" as "cba") and zero-width characters make two names that look alike differ.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # what bytes that are not UTF-8 decode to
# What an input method in full-width mode types for digits and the punctuation of case numbers and dates;
# 〔〕 and 【】 are how case numbers are printed in documents.  Other scripts' digits are left as they are,
# to be refused.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９（）〔〕【】－／．", "0123456789()()()-/.")
MAX_TEXT = 200


def case_number(value: Any, kinds: tuple[str, ...] = _FIRST_TYPES) -> str:
    """Normalise a case number (案号) and check its form.

    Full-width digits and parentheses, 〔〕 and 【】 become ``0-9`` and ``()``, and spaces are
    dropped, so that one case is never filed under two spellings; other scripts' digits are
    refused.  Both the current form ``(2022)浙0302行初123号`` and the pre-2016 form
    ``(2014)浙行初字第12号`` are accepted; ``kinds`` names the type codes allowed.
    """
    if not isinstance(value, str):
        raise TypeError(f"case number must be text, not {type(value).__name__}")
    match = _NEW_FORM.fullmatch(value) or _OLD_FORM.fullmatch(value)  # as stored: most numbers an import reads
    if match is None:
        text = "".join(value.translate(_HALF_WIDTH).split())
        match = _NEW_FORM.fullmatch(text) or _OLD_FORM.fullmatch(text)
    if match is None or match.group(3) not in kinds:
        example = "(2022)浙0302行初123号" if kinds == _FIRST_TYPES else "(2022)浙03行终45号"
        raise ValueError(
            f"malformed case number {shown(value)}: expected the form {example} "
            f"(type code {' or '.join(kinds)}, digits 0-9) or the older (2014)浙行初字第12号"
        )
    return match.group(0)


def case_year(number: str) -> int:
    """The year a case was received, as written in its number."""
    return int(number[1:5])


def iso_date(value: Any) -> str:
    """A business date as ``YYYY-MM-DD``, checked to exist on the calendar.

    Also read as clerks write them: ``2022/5/10``, ``2022.5.10``, ``2022-5-10``, ``2022年5月10日``
    (full-width digits too); each is stored in the ISO form.
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"malformed date {shown(value)}: expected YYYY-MM-DD, e.g. 2022-05-10")
    if _DATE.fullmatch(value):
        iso = value
    else:
        written = _WRITTEN_DATE.fullmatch("".join(value.translate(_HALF_WIDTH).split()))
        if written is None:
            raise ValueError(f"malformed date {shown(value)}: expected YYYY-MM-DD, e.g. 2022-05-10 "
                             "(2022/5/10, 2022.5.10 and 2022年5月10日 are read too)")
        year, _, month, day, *chinese = written.groups()
        if year is None:
            year, month, day = chinese
        iso = f"{year}-{int(month):02d}-{int(day):02d}"
    try:
        dt.date.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"impossible date {shown(value)}") from None
    return sys.intern(iso)


def event_id(value: Any) -> str:
    """An event id: a UUID in its canonical 8-4-4-4-12 hexadecimal form."""
    if not isinstance(value, str) or not _UUID.fullmatch(value.lower()):
        raise ValueError(f"malformed event id {shown(value)}: expected a UUID")
    return value.lower()


_clock = [0, 0]  # the last new_event_id's millisecond and counter


def new_event_id() -> str:
    """A fresh event id: a version-7 UUID (RFC 9562), whose first 48 bits are the Unix time in ms.

    Ids made later sort later, so the log's unique index on event_id grows at its end instead
    of at a random page for every event: that made a million-event import's inserts twice as
    fast.  The 12 bits after the version count up within a millisecond (method 1 of the RFC),
    so ids made by one process also sort in the order they were made.
    """
    ms = time.time_ns() // 1_000_000
    last, counter = _clock
    if ms > last:
        counter = int.from_bytes(os.urandom(1)) << 3  # a random start that leaves room to count
    else:
        ms, counter = last, counter + 1
        if counter > 0xFFF:
            ms, counter = ms + 1, 0
    _clock[:] = ms, counter
    return uuid_text(ms << 80 | 7 << 76 | counter << 64 | 2 << 62 | int.from_bytes(os.urandom(8)) >> 2)


def uuid_text(value: int) -> str:
    """A 128-bit number in the 8-4-4-4-12 form: ``str(uuid.UUID(int=value))``, faster."""
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def text(value: Any) -> str:
    """A short line of text: no control, bidirectional or zero-width characters, at most MAX_TEXT characters."""
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if (found := _CONTROL.search(value)) is not None:
        raise ValueError(f"must not contain control, bidirectional or zero-width characters (U+{ord(found[0]):04X})")
    if _SURROGATE.search(value):
        raise ValueError("is not valid UTF-8 text")
    if len(value) > MAX_TEXT:
        raise ValueError(f"is longer than {MAX_TEXT} characters")
    return sys.intern(value)


SHOWN = 60  # characters of a refused value that a message repeats
LISTED = 5  # names a message lists before "and N more"


def shown(value: Any) -> str:
    """A refused value as a message repeats it: quoted, and cut short, since it may be megabytes."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}… ({len(str(value)):,} characters)"


def listed(names: list[str]) -> str:
    """Names for a one-line message: the first few, then how many more."""
    first = ", ".join(name if name.isprintable() and len(name) <= SHOWN else shown(name) for name in names[:LISTED])
    return first if len(names) <= LISTED else f"{first} and {len(names) - LISTED:,} more"


def _remembered(convert: Callable[[Any], str]) -> Callable[[Any], str]:
    """The same check, done once per distinct text: dates, courts and agencies repeat across a batch."""
    cached = functools.lru_cache(maxsize=8192)(convert)
    return lambda value: cached(value) if type(value) is str else convert(value)


def agency_name(value: Any) -> str:
    """An agency's name as it is compared and stored: Unicode NFKC (full-width letters and digits
    become half-width) and no whitespace at all, so ``市 公安局`` is ``市公安局``."""
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return text("".join(unicodedata.normalize("NFKC", value).split()) or value)


checked_date = _remembered(iso_date)
checked_text = _remembered(text)
checked_agency = _remembered(agency_name)


def stream(type_: str, value: Any) -> str:
    """The stream key of an event of ``type_``: REGISTRY for the registry's events, else a case number."""
    if type_ in REGISTRY_TYPES or value == REGISTRY:
        if type_ not in REGISTRY_TYPES:
            raise ValueError(f"{REGISTRY} holds only the agency registry's events ({', '.join(REGISTRY_TYPES)}), "
                             f"not {type_}")
        if value != REGISTRY:
            raise ValueError(f"{type_} belongs to the stream {REGISTRY}, not to a case ({shown(value)})")
        return REGISTRY
    return case_number(value)


def _optional(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _one_of(name: str, choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"unknown {name} {shown(value)}: expected one of {', '.join(choices)}")
        return choices[choices.index(value)]  # the shared constant, not this line's copy

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"spoke must be true or false, not {shown(value)}")
    return value


def _flag(name: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be true or false, not {shown(value)}")
        return value

    return check


def _co_defendants(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise ValueError("co_defendants must be a non-empty list of {agency, role}")
    out: list[dict[str, str]] = []
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"agency", "role"}:
            raise ValueError(f"each co-defendant is an object with exactly agency and role, not {shown(entry)}")
        out.append({"agency": checked_agency(entry["agency"]), "role": _one_of("role", ROLES)(entry["role"])})
    names = [d["agency"] for d in out]
    if len(set(names)) != len(names):
        raise ValueError(f"{next(n for n in names if names.count(n) > 1)} is named twice: each defendant once")
    return out


def _dispositions(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise ValueError("dispositions must be a non-empty object of defendant: disposition")
    check = _one_of("disposition", DISPOSITIONS)
    out: dict[str, str] = {}
    for agency, disposition in value.items():
        name = checked_agency(agency)
        if name in out:
            raise ValueError(f"{name} is named twice: each defendant once")
        out[name] = check(disposition)
    return out


def _aliases(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError("aliases must be a non-empty list of names")
    names = [checked_agency(name) for name in value]
    if len(set(names)) != len(names):
        raise ValueError(f"{next(n for n in names if names.count(n) > 1)} is given twice")
    return names


def _region(value: Any) -> str:
    name = agency_name(value)  # compared as agency names are: 鹿城 区 is 鹿城区
    if name == UNREGISTERED:
        raise ValueError(f"{name!r} is the figures' group of unregistered agencies, not a region")
    return name


#: The group of the figures by level and by region that holds the agencies the registry lacks.
UNREGISTERED = "unregistered"


def _name_errors(cls: type, fields: list[attrs.Attribute]) -> list[attrs.Attribute]:
    """Wrap each converter so that its error names the field it was checking."""

    def named(name: str, convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def check(value: Any) -> Any:
            try:
                return convert(value)
            except (ValueError, TypeError) as error:
                raise ValueError(f"{name}: {error}") from None

        return check

    return [f.evolve(converter=named(f.name, f.converter)) for f in fields]


def _field(convert: Callable[[Any], Any], doc: str, optional: bool = False, **kw: Any) -> Any:
    if optional:
        return attrs.field(default=None, converter=_optional(convert), metadata={"doc": doc}, **kw)
    return attrs.field(converter=convert, metadata={"doc": doc}, **kw)


@attrs.frozen(field_transformer=_name_errors)
class CaseFiled:
    """A first-instance case was received by the court (立案)."""

    TYPE: ClassVar[str] = "case_filed"
    filed_on: str = _field(checked_date, "the date the court received the case")
    court: str = _field(checked_text, "the court of first instance")
    agency: str = _field(checked_agency, "the (first) defendant agency (被告)")
    cause: str = _field(_one_of("cause", CAUSES), "案由, one of the 22 causes of 法发〔2020〕44号")
    plaintiff: str | None = _field(checked_text, "the plaintiff (原告)", optional=True)
    field: str | None = _field(checked_text, "the agency's management field, e.g. 公安", optional=True)
    co_defendants: list | None = _field(_co_defendants, "the other defendants: [{agency, role}], role reconsideration "
                                        "(复议机关) or joint (共同作出行政行为)", optional=True)

    def __attrs_post_init__(self) -> None:
        if self.co_defendants and self.agency in {d["agency"] for d in self.co_defendants}:
            raise ValueError(f"co_defendants: {self.agency} is the first defendant already: each defendant once")


@attrs.frozen(field_transformer=_name_errors)
class DefendantAdded:
    """The court added a co-defendant the plaintiff left out (2018 解释 art. 134)."""

    TYPE: ClassVar[str] = "defendant_added"
    added_on: str = _field(checked_date, "the date the court added the defendant")
    agency: str = _field(checked_agency, "the added defendant agency")
    role: str = _field(_one_of("role", ROLES), "reconsideration (复议机关) or joint (共同被告)")


@attrs.frozen(field_transformer=_name_errors)
class HearingHeld:
    """A hearing took place; who attended for the agency and whether a head spoke."""

    TYPE: ClassVar[str] = "hearing_held"
    held_on: str = _field(checked_date, "the hearing date")
    attendance: str = _field(_one_of("attendance", ATTENDANCES), "the highest-ranked person attending for the agency")
    level: str = _field(_one_of("level", LEVELS), "first instance, appeal (second) or retrial", default="first")
    official: str | None = _field(checked_text, "the name of the official who attended", optional=True)
    title: str | None = _field(checked_text, "the official's post (职务)", optional=True)
    spoke: bool | None = _field(_boolean, "whether the head spoke on resolving the dispute", optional=True)
    excuse: str | None = _field(_one_of("excuse", EXCUSES), "the reason the head was absent", optional=True)
    agency: str | None = _field(checked_agency, "the defendant whose attendance this records (required when the "
                                "case has several)", optional=True)
    left_early: bool | None = _field(_flag("left_early"), "the head left before the end without leave (中途退庭)",
                                     optional=True)
    refused_to_explain: bool | None = _field(_flag("refused_to_explain"), "the head refused to explain when the "
                                             "court asked (拒绝解释说明)", optional=True)
    excuse_rejected: bool | None = _field(_flag("excuse_rejected"), "the court found the excuse not valid (不成立)",
                                          optional=True)

    def __attrs_post_init__(self) -> None:
        if self.attendance in HEADS and self.spoke is None:
            raise ValueError(f"spoke is required when a head ({self.attendance}) attended")
        if self.attendance not in HEADS and self.spoke is not None:
            raise ValueError(f"spoke is only for a head; attendance {self.attendance!r} is not a head")
        for flag in ("left_early", "refused_to_explain"):
            if getattr(self, flag) is not None and self.attendance not in HEADS:
                raise ValueError(f"{flag} is only for a head; attendance {self.attendance!r} is not a head")
        if self.excuse_rejected is not None and self.excuse is None:
            raise ValueError("excuse_rejected is only for a hearing that gives an excuse")


@attrs.frozen(field_transformer=_name_errors)
class CaseConcluded:
    """The first-instance court decided the case (or decided it again after a remand)."""

    TYPE: ClassVar[str] = "case_concluded"
    decided_on: str = _field(checked_date, "the date of the judgment or ruling")
    disposition: str = _field(_one_of("disposition", DISPOSITIONS), "how the case ended (裁判结果)")
    dispositions: dict | None = _field(_dispositions, "defendant: disposition, for each defendant whose outcome "
                                       "differs from disposition", optional=True)


@attrs.frozen(field_transformer=_name_errors)
class AppealFiled:
    """A party appealed the first-instance conclusion (上诉)."""

    TYPE: ClassVar[str] = "appeal_filed"
    filed_on: str = _field(checked_date, "the date the appeal was filed")
    appeal_case: str = _field(lambda v: case_number(v, _APPEAL_TYPES), "the second-instance case number (行终)")
    appellant: str = _field(_one_of("appellant", APPELLANTS), "who appealed")


def _decision_check(self: Any) -> None:
    if self.result == "reversed" and self.disposition is None:
        raise ValueError("a reversed decision needs the new disposition")
    if self.result != "reversed" and self.disposition is not None:
        raise ValueError(f"a disposition is given only when the result is reversed, not {self.result}")
    if self.result != "reversed" and self.dispositions is not None:
        raise ValueError(f"dispositions are given only when the result is reversed, not {self.result}")


@attrs.frozen(field_transformer=_name_errors)
class AppealDecided:
    """The appeal court decided the pending appeal."""

    TYPE: ClassVar[str] = "appeal_decided"
    decided_on: str = _field(checked_date, "the date of the decision")
    result: str = _field(_one_of("result", RESULTS), "upheld, reversed, remanded or withdrawn")
    disposition: str | None = _field(_one_of("disposition", DISPOSITIONS), "the new outcome when reversed", optional=True)
    dispositions: dict | None = _field(_dispositions, "defendant: new disposition, for each defendant whose new "
                                       "outcome differs from disposition (only when reversed)", optional=True)

    __attrs_post_init__ = _decision_check


@attrs.frozen(field_transformer=_name_errors)
class RetrialDecided:
    """A retrial (再审) decided the case."""

    TYPE: ClassVar[str] = "retrial_decided"
    decided_on: str = _field(checked_date, "the date of the decision")
    result: str = _field(_one_of("result", RESULTS), "upheld, reversed, remanded or withdrawn")
    disposition: str | None = _field(_one_of("disposition", DISPOSITIONS), "the new outcome when reversed", optional=True)
    dispositions: dict | None = _field(_dispositions, "defendant: new disposition, for each defendant whose new "
                                       "outcome differs from disposition (only when reversed)", optional=True)

    __attrs_post_init__ = _decision_check


def _changes(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise ValueError("changes must be a non-empty object of field: new value")
    # A new date is stored in the ISO form, as the event's own would be.  (Only dates: stored
    # corrections already hold them in that form, so an export still imports to the same hashes.)
    return {k: iso_date(v) if k in DATE_FIELDS and isinstance(v, str) else v for k, v in value.items()}


@attrs.frozen(field_transformer=_name_errors)
class EventCorrected:
    """A logged event was wrong; these field values replace the old ones."""

    TYPE: ClassVar[str] = "event_corrected"
    target: str = _field(event_id, "the event_id of the corrected event (same case)")
    changes: dict = _field(_changes, "field: new value; null removes an optional field")
    reason: str = _field(checked_text, "why the correction was needed")


@attrs.frozen(field_transformer=_name_errors)
class EventRetracted:
    """A logged event should never have been logged; it no longer counts."""

    TYPE: ClassVar[str] = "event_retracted"
    target: str = _field(event_id, "the event_id of the retracted event (same case)")
    reason: str = _field(checked_text, "why the event is retracted")


@attrs.frozen(field_transformer=_name_errors)
class AgencyRegistered:
    """An agency joined the registry (机构名录) under its name, with its level and region."""

    TYPE: ClassVar[str] = "agency_registered"
    agency: str = _field(checked_agency, "the agency's name, not yet a name or alias of any registered agency")
    agency_level: str = _field(_one_of("agency_level", AGENCY_LEVELS), "被告级别, one of the eight levels")
    region: str = _field(_region, "区县: the district or county it belongs to (市本级 for the city's own)")
    aliases: list | None = _field(_aliases, "other names it is known by, each resolved to it", optional=True)

    def __attrs_post_init__(self) -> None:
        if self.aliases and self.agency in self.aliases:
            raise ValueError(f"aliases: {self.agency} is the agency's own name")


@attrs.frozen(field_transformer=_name_errors)
class AgencyAliased:
    """A registered agency is also known by another name."""

    TYPE: ClassVar[str] = "agency_aliased"
    agency: str = _field(checked_agency, "the agency, by any of its names")
    alias: str = _field(checked_agency, "the new name, not yet known to the registry")


@attrs.frozen(field_transformer=_name_errors)
class AgencyRenamed:
    """An agency took a new name (机构改革); its former name and its history stay with it."""

    TYPE: ClassVar[str] = "agency_renamed"
    agency: str = _field(checked_agency, "the agency, by any of its names")
    new_name: str = _field(checked_agency, "its name from now on: new to the registry, or one of its aliases")
    renamed_on: str = _field(checked_date, "the date the new name took effect")


@attrs.frozen(field_transformer=_name_errors)
class AgencyUpdated:
    """A registered agency's level or region changed (or was wrong)."""

    TYPE: ClassVar[str] = "agency_updated"
    agency: str = _field(checked_agency, "the agency, by any of its names")
    agency_level: str | None = _field(_one_of("agency_level", AGENCY_LEVELS), "its new level", optional=True)
    region: str | None = _field(_region, "its new region", optional=True)

    def __attrs_post_init__(self) -> None:
        if self.agency_level is None and self.region is None:
            raise ValueError("agency_updated needs a new agency_level or region")


@attrs.frozen(field_transformer=_name_errors)
class PayloadRedacted:
    """An administrator removed a personal value from a logged event for good (``caselog redact``); the
    event still counts, without that field."""

    TYPE: ClassVar[str] = "payload_redacted"
    target: str = _field(event_id, "the event_id of the event redacted (same case)")
    field: str = _field(checked_text, "the field whose value was removed")
    reason: str = _field(checked_text, "why, e.g. the plaintiff's request under the personal-information law")
    kept_sha256: str | None = _field(checked_text, "for a target of schema version 1, committed to as a whole: the "
                                     "SHA-256 of its payload as kept, which verify checks instead", optional=True)


Event = (CaseFiled | DefendantAdded | HearingHeld | CaseConcluded | AppealFiled | AppealDecided | RetrialDecided
         | EventCorrected | EventRetracted | PayloadRedacted | AgencyRegistered | AgencyAliased | AgencyRenamed
         | AgencyUpdated)

EVENT_TYPES: dict[str, type] = {
    cls.TYPE: cls
    for cls in (CaseFiled, DefendantAdded, HearingHeld, CaseConcluded, AppealFiled, AppealDecided, RetrialDecided,
                EventCorrected, EventRetracted, PayloadRedacted, AgencyRegistered, AgencyAliased, AgencyRenamed,
                AgencyUpdated)
}
META_TYPES = frozenset({EventCorrected.TYPE, EventRetracted.TYPE})
#: The registry's events: their stream is REGISTRY, and caselog.agencies, not the case rules, decides them.
REGISTRY_TYPES = (AgencyRegistered.TYPE, AgencyAliased.TYPE, AgencyRenamed.TYPE, AgencyUpdated.TYPE)
#: The fields of the case events that name agencies: the registry's guard reads them (caselog.agencies).
AGENCY_FIELDS = ("agency", "co_defendants", "dispositions")
#: The fields that hold a natural person's name, which ``caselog redact`` can remove; no rule or figure reads them.
#: At most one a type: the chain check tells a schema-version-3 row's salts from its payload by the size of
#: its salts (``chain.SALTS_ROW_SIZE``), which one field a type fixes.
PERSONAL = {CaseFiled.TYPE: ("plaintiff",), HearingHeld.TYPE: ("official",)}
FIELDS: dict[str, tuple[str, ...]] = {name: tuple(a.name for a in attrs.fields(cls)) for name, cls in EVENT_TYPES.items()}
_FIELD_SETS = {name: frozenset(fields) for name, fields in FIELDS.items()}
_REQUIRED = {name: tuple(a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING) for name, cls in EVENT_TYPES.items()}

#: (type, from_version) -> function upgrading a stored payload to from_version + 1.  The projections'
#: SQL reads stored payloads directly: a version that renames a field it reads must teach it the old name.
UPCASTERS: dict[tuple[str, int], Callable[[dict], dict]] = {
    # Versions 2 and 3 changed how fields are committed to, not the fields.
    (name, version): dict for name in EVENT_TYPES for version in (1, 2)
}


def upcast(type_: str, schema_version: int, payload: dict) -> dict:
    """Bring a payload stored under an older schema version up to the current one."""
    while schema_version < SCHEMA_VERSION:
        upgrade = UPCASTERS.get((type_, schema_version)) if isinstance(type_, str) else None
        if upgrade is None:
            raise ValueError(f"no way to read a {type_!r} payload of schema version {schema_version}")
        payload = upgrade(payload)
        schema_version += 1
    return payload


def make(type_: str, payload: dict) -> Event:
    """Build the event of ``type_`` from a payload dict; unknown fields are refused."""
    cls = EVENT_TYPES.get(type_) if isinstance(type_, str) else None
    if cls is None:
        raise ValueError(f"unknown event type {type_!r}: expected one of {', '.join(EVENT_TYPES)}")
    if not _FIELD_SETS[type_].issuperset(payload):
        unknown = [name for name in payload if name not in _FIELD_SETS[type_]]
        raise ValueError(f"unknown field{'s' if len(unknown) > 1 else ''} {listed(unknown)} for {type_}")
    missing = [name for name in _REQUIRED[type_] if name not in payload]
    if missing:
        raise ValueError(f"{type_} needs {', '.join(missing)}")
    try:
        return cls(**payload)
    except TypeError as error:
        raise ValueError(str(error)) from None


_DEFAULTS = {
    name: tuple(None if a.default is attrs.NOTHING else a.default for a in attrs.fields(cls))
    for name, cls in EVENT_TYPES.items()
}


def unchecked(type_: str, values: Iterable[Any]) -> Event:
    """The one constructor that skips an event's checks: for values the log already checked on
    their way in (rows read back from the chain, the import helper's ``field_values``).

    It fills the fields as attrs's own ``__init__`` does, less the converters that check them: at a
    million events the checks would cost seconds for nothing.  Nothing changes an event afterwards.
    """
    event = object.__new__(EVENT_TYPES[type_])
    for name, value in zip(FIELDS[type_], values):
        object.__setattr__(event, name, value)
    return event


def trusted(type_: str, payload: dict) -> Event:
    """An event from a payload the log already holds (``unchecked``)."""
    get = payload.get
    return unchecked(type_, [get(name, default) for name, default in zip(FIELDS[type_], _DEFAULTS[type_])])


# Every event type has at least two fields, so each getter returns a tuple.
_VALUES = {name: operator.attrgetter(*fields) for name, fields in FIELDS.items()}


def field_values(event: Event) -> tuple:
    """The event's field values in ``FIELDS`` order: how an import's helper sends it (see ``unchecked``)."""
    return _VALUES[event.TYPE](event)


def payload(event: Event) -> dict:
    """The event's fields as a JSON-ready dict, optional fields left out when unset."""
    return {k: v for k in FIELDS[event.TYPE] if (v := getattr(event, k)) is not None}


_DATE_FIELD = {kind: next((f for f in fields if f in DATE_FIELDS), None) for kind, fields in FIELDS.items()}


def business_date(event: Event) -> str | None:
    """The date the event happened in the world, if it has one."""
    name = _DATE_FIELD[event.TYPE]
    return None if name is None else getattr(event, name)


@attrs.frozen
class Recorded:
    """An event with its envelope: who logged it, when, and where it stands in the log."""

    event: Event
    case: str
    event_id: str
    recorded_at: str
    recorded_by: str
    version: int = 0
    position: int = 0

    @property
    def type(self) -> str:
        return self.event.TYPE
