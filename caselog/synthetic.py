"""Deterministic generators of realistic, valid logs, for demos, benchmarks and tests.

Every generator yields events as dicts in the JSON Lines interchange format of
DOMAIN.md: ``type``, ``case``, the payload fields, and the envelope keys
``event_id``, ``recorded_at`` and ``recorded_by``.  They come in
non-decreasing ``recorded_at`` order, and appending them in that order breaks
no rule, so any prefix is a valid log too.  Each case is written first as its
own timeline (business dates in order, each event logged one to three days
after it happened, during office hours in China; corrections and retractions
months later) and the timelines are then merged by ``recorded_at``.

- :func:`demo_city`: a fictitious city over several years, for demos.
- :func:`national`: a large stream for benchmarks, generated lazily.
- :func:`seed_city`: the fixture behind the seed report; :data:`SEED_CITY_2022`
  holds the figures it was built to produce.
- :func:`write_jsonl`: writes any of them as JSON Lines.

Randomness comes only from a seeded :class:`random.Random`; ``today`` only
cuts the stories off (no business date after ``today`` - 5 days, nothing
logged after ``today`` - 2 days, so the log is never ahead of the clock in any
time zone).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import heapq
import itertools
import json
import random
from dataclasses import dataclass
from operator import itemgetter
from typing import IO, Iterable, Iterator

from .events import HEADS, LOSS_SET, MERITS_SET, uuid_text

_DAY = 86_400
_EPOCH = dt.date(1970, 1, 1).toordinal() * _DAY  # the times below count seconds from day 1 of year 1
# Clerks log during office hours in China, 09:00-17:30 UTC+8, written in UTC.
_OFFICE_START = 3_600
_OFFICE_LENGTH = 30_600
_CLERKS = ("clerk-a", "clerk-b", "clerk-c", "clerk-d")
_SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
_COMPANIES = ("宏达建材有限公司", "兴业置业有限公司", "恒信物流有限公司", "丰源食品有限公司", "瑞安纺织有限公司", "华成机械有限公司")

def _event_id(rng: random.Random, ts: int) -> str:
    """The version-7 UUID caselog would give an event recorded at second ``ts``
    (``events.new_event_id``), its millisecond and random bits drawn from the seeded generator."""
    bits = rng.getrandbits(128)  # as many bits as a version-4 id took: the rest of the stream is unchanged
    ms = (ts - _EPOCH) * 1000 + (bits >> 118) % 1000
    return uuid_text(ms << 80 | 7 << 76 | (bits >> 64 & 0xFFF) << 64 | 2 << 62 | bits & (1 << 62) - 1)


@functools.cache
def _iso(day: int) -> str:
    return dt.date.fromordinal(day).isoformat()


def _day(iso: str) -> int:
    return dt.date.fromisoformat(iso).toordinal()


def _year(day: int) -> int:
    return int(_iso(day)[:4])


def _stamp(ts: int) -> str:
    day, seconds = divmod(ts, _DAY)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    return f"{_iso(day)}T{hour:02d}:{minute:02d}:{second:02d}Z"


def _between(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high]; cheaper than ``randint``, which matters at a million events."""
    return low + int(rng.random() * (high - low + 1))


def _cumulative(weights: Iterable[float]) -> tuple[float, ...]:
    sums = list(itertools.accumulate(weights))
    cumulative = [w / sums[-1] for w in sums]
    cumulative[-1] = 1.0
    return tuple(cumulative)


def _horizon(today: dt.date | None) -> tuple[int, int]:
    """The last business day and the last recording second for a log made ``today``."""
    last_day = (today or dt.date.today()).toordinal() - 5
    return last_day, (last_day + 4) * _DAY - 1


class _Horizon(Exception):
    """The story has run past the end of the generated period; it stops there."""


class _Case:
    """One case's timeline: its events in log order, each with its recording time in seconds."""

    __slots__ = ("number", "rng", "last_day", "cap", "records", "last_ts", "filed_day",
                 "filing", "hearings", "conclusions", "appeals", "duplicates")

    def __init__(self, number: str, rng: random.Random, last_day: int, cap: int) -> None:
        self.number = number
        self.rng = rng
        self.last_day = last_day
        self.cap = cap
        self.records: list[tuple[int, dict]] = []
        self.last_ts = 0
        self.filed_day = 0
        self.filing: dict | None = None
        # (event, movable): a first-level hearing held before any conclusion may be re-dated earlier.
        self.hearings: list[tuple[dict, bool]] = []
        self.conclusions: list[dict] = []
        self.appeals: list[dict] = []
        self.duplicates: list[dict] = []

    def log(self, type_: str, day: int, fields: dict) -> dict:
        """Log an event that happened on ``day``, one to three days later."""
        if day > self.last_day:
            raise _Horizon
        random_ = self.rng.random
        ts = (day + 1 + int(random_() * 3)) * _DAY + _OFFICE_START + int(random_() * _OFFICE_LENGTH)
        return self._append(ts, type_, fields)

    def amend(self, type_: str, fields: dict, low: int, high: int) -> dict:
        """Log a correction or retraction ``low`` to ``high`` days after the case's last event."""
        day = self.last_ts // _DAY + _between(self.rng, low, high)
        return self._append(day * _DAY + _OFFICE_START + int(self.rng.random() * _OFFICE_LENGTH), type_, fields)

    def _append(self, ts: int, type_: str, fields: dict) -> dict:
        rng = self.rng
        if ts <= self.last_ts:
            ts = self.last_ts + 60 + int(rng.random() * 3600)
        if ts > self.cap:
            raise _Horizon
        event = {"type": type_, "case": self.number, **fields, "event_id": _event_id(rng, ts),
                 "recorded_at": _stamp(ts), "recorded_by": _CLERKS[rng.getrandbits(2)]}
        self.records.append((ts, event))
        self.last_ts = ts
        return event


class _Docket:
    """Hands out case numbers: one serial per court, year and type code."""

    def __init__(self, rng: random.Random, gaps: bool) -> None:
        self.rng = rng
        self.gaps = gaps
        self.serials: dict[tuple[str, int, str], int] = {}

    def number(self, court_code: str, year: int, type_code: str) -> str:
        key = (court_code, year, type_code)
        last = self.serials.get(key)
        if last is None:
            serial = _between(self.rng, 1, 30) if self.gaps else 1
        else:
            # A court also hears other cities' cases, so a city's own serials skip some.
            serial = last + (_between(self.rng, 1, 4) if self.gaps else 1)
        self.serials[key] = serial
        return f"({year}){court_code}{type_code}{serial}号"


@dataclass(frozen=True)
class _Court:
    code: str
    name: str
    appeal_code: str


@dataclass(frozen=True)
class _Kind:
    """The habits of one sort of agency: whom it sends to court, whether they speak, how often it loses."""

    name: str
    field: str
    weight: float
    titles: tuple[str, str, str]
    staff_title: str
    #: attendance weights (principal, deputy, other_head, staff, lawyer_only, none), first and last year
    attend_from: tuple[float, ...]
    attend_to: tuple[float, ...]
    spoke_from: float
    spoke_to: float
    loss: float
    causes: tuple[tuple[str, float], ...]


_KINDS = (
    _Kind("市公安局", "公安", 22, ("局长", "副局长", "政治部主任"), "法制支队民警",
          (4, 50, 8, 24, 10, 4), (6, 82, 8, 4, 0, 0), 0.2, 0.45, 0.8,
          (("行政处罚", 60), ("行政强制措施", 14), ("不履行职责", 10), ("政府信息公开", 8), ("行政赔偿", 5), ("行政复议", 3))),
    _Kind("市自然资源和规划局", "自然资源", 16, ("局长", "副局长", "总规划师"), "政策法规处工作人员",
          (40, 28, 6, 16, 8, 2), (66, 26, 6, 2, 0, 0), 0.55, 0.85, 1.3,
          (("行政许可", 25), ("行政登记", 20), ("行政征收或者征用", 20), ("行政处罚", 15), ("政府信息公开", 10), ("行政协议", 10))),
    _Kind("市市场监管局", "市场监管", 10, ("局长", "副局长", "党组成员"), "法规科科长",
          (2, 14, 4, 44, 30, 6), (4, 40, 10, 34, 12, 0), 0.3, 0.5, 1.0,
          (("行政处罚", 50), ("政府信息公开", 15), ("行政登记", 15), ("行政许可", 10), ("不履行职责", 10))),
    _Kind("城东区人民政府", "政府", 14, ("区长", "副区长", "区政府党组成员"), "区司法局工作人员",
          (8, 46, 14, 20, 8, 4), (14, 76, 8, 2, 0, 0), 0.3, 0.6, 1.4,
          (("行政征收或者征用", 35), ("行政补偿", 20), ("行政强制执行", 15), ("行政协议", 15), ("政府信息公开", 10), ("行政复议", 5))),
    _Kind("市人力社保局", "人力社保", 9, ("局长", "副局长", "二级调研员"), "法规科科长",
          (14, 44, 14, 22, 6, 0), (20, 60, 15, 5, 0, 0), 0.5, 0.8, 0.7,
          (("行政确认", 55), ("行政给付", 20), ("行政征缴", 10), ("政府信息公开", 10), ("行政处罚", 5))),
    _Kind("市生态环境局", "生态环境", 6, ("局长", "副局长", "总工程师"), "法规处工作人员",
          (10, 40, 10, 28, 10, 2), (16, 62, 12, 10, 0, 0), 0.4, 0.7, 0.9,
          (("行政处罚", 70), ("行政许可", 15), ("政府信息公开", 15))),
    _Kind("市住建局", "住房城乡建设", 8, ("局长", "副局长", "总经济师"), "法规科科长",
          (8, 44, 10, 26, 10, 2), (12, 66, 12, 10, 0, 0), 0.35, 0.7, 1.1,
          (("行政许可", 20), ("行政处理", 20), ("政府信息公开", 20), ("不履行职责", 20), ("行政登记", 10), ("行政协议", 10))),
    _Kind("市城管局", "综合行政执法", 8, ("局长", "副局长", "执法支队支队长"), "法制科工作人员",
          (6, 46, 12, 24, 10, 2), (10, 70, 14, 6, 0, 0), 0.3, 0.6, 1.0,
          (("行政处罚", 50), ("行政强制执行", 30), ("行政强制措施", 10), ("行政赔偿", 10))),
    _Kind("市人民政府", "政府", 5, ("市长", "副市长", "市政府秘书长"), "市司法局工作人员",
          (1, 58, 20, 16, 4, 1), (2, 80, 16, 2, 0, 0), 0.35, 0.65, 0.9,
          (("行政复议", 50), ("政府信息公开", 20), ("行政征收或者征用", 20), ("行政批复", 10))),
    _Kind("市交通运输局", "交通运输", 4, ("局长", "副局长", "党组成员"), "法规科科长",
          (10, 40, 10, 30, 8, 2), (14, 64, 12, 10, 0, 0), 0.4, 0.7, 0.8,
          (("行政处罚", 70), ("行政许可", 20), ("行政收费", 5), ("行政奖励", 5))),
)
_KIND_WEIGHTS = _cumulative(kind.weight for kind in _KINDS)

_ATTENDANCE = ("principal", "deputy", "other_head", "staff", "lawyer_only", "none")
_EXCUSES = ("official_duty", "official_duty", "official_duty", "accident", "force_majeure", "other")
_LOSSES = ("revoked", "partly_revoked", "revoked_redo", "ordered_to_perform", "ordered_to_pay",
           "confirmed_illegal", "confirmed_void", "varied", "agreement_liability")
_LOSS_WEIGHTS = _cumulative((35, 8, 10, 15, 4, 20, 1, 2, 3))
_NON_LOSSES = ("claims_dismissed", "suit_dismissed", "withdrawn", "withdrawn_after_change", "mediated", "terminated")
_NON_LOSS_WEIGHTS = _cumulative((45, 22, 17, 8, 5, 3))
# Cases that end without a judgment on the merits often end before any hearing.
_OFTEN_UNHEARD = frozenset({"suit_dismissed", "withdrawn", "withdrawn_after_change", "mediated", "terminated"})
#: chance that a first-instance conclusion is appealed, by disposition (about 30% overall)
_APPEALED = {**{d: 0.5 for d in MERITS_SET}, "suit_dismissed": 0.4}
_RESULTS = ("upheld", "reversed", "remanded", "withdrawn")
# Appeal courts reverse a loss more often than a win, so appeals lower the loss rate a little.
_RESULT_WEIGHTS = {True: _cumulative((64, 16, 7, 13)), False: _cumulative((76, 4, 7, 13))}
_RETRIAL_RESULTS = ("upheld", "reversed", "withdrawn")
_RETRIAL_WEIGHTS = _cumulative((60, 30, 10))
#: a plausible wrong entry for each disposition, for corrections
_DISPOSITION_FIXES = {
    "revoked": "partly_revoked", "partly_revoked": "revoked", "revoked_redo": "revoked",
    "ordered_to_perform": "confirmed_illegal", "ordered_to_pay": "ordered_to_perform",
    "confirmed_illegal": "revoked", "confirmed_void": "confirmed_illegal", "varied": "revoked",
    "agreement_liability": "compensation", "compensation": "agreement_liability",
    "claims_dismissed": "suit_dismissed", "suit_dismissed": "claims_dismissed",
    "withdrawn": "withdrawn_after_change", "withdrawn_after_change": "withdrawn",
    "mediated": "withdrawn", "terminated": "suit_dismissed",
}


def _pick(options: tuple, cumulative: tuple[float, ...], rng: random.Random):
    return options[bisect.bisect(cumulative, rng.random())]


def _person(rng: random.Random) -> str:
    return _SURNAMES[int(rng.random() * len(_SURNAMES))] + "某"


def _plaintiff(rng: random.Random) -> str:
    if rng.random() < 0.8:
        return _person(rng) + "某"
    return "某某" + _COMPANIES[int(rng.random() * len(_COMPANIES))]


@dataclass(frozen=True)
class _Habits:
    """A kind of agency's habits in one year."""

    attendance: tuple[float, ...]
    spoke: float
    excused: float
    loss: float
    causes: tuple[str, ...]
    cause_weights: tuple[float, ...]


def _habits(kind: _Kind, progress: float) -> _Habits:
    """Habits improve with ``progress`` from 0 (first year) to 1 (last): more heads, more speech, fewer losses."""
    attendance = (a + (b - a) * progress for a, b in zip(kind.attend_from, kind.attend_to))
    return _Habits(
        attendance=_cumulative(attendance),
        spoke=kind.spoke_from + (kind.spoke_to - kind.spoke_from) * progress,
        excused=0.25 + 0.35 * progress,
        loss=kind.loss * (0.14 - 0.08 * progress),
        causes=tuple(c for c, _ in kind.causes),
        cause_weights=_cumulative(w for _, w in kind.causes),
    )


class _Agency:
    """A defendant agency and the people it can send to court."""

    __slots__ = ("name", "kind", "principal", "deputies", "other_head", "staff")

    def __init__(self, name: str, kind: _Kind, rng: random.Random) -> None:
        self.name = name
        self.kind = kind
        self.principal = _person(rng)
        self.deputies = tuple(_person(rng) for _ in range(3))
        self.other_head = _person(rng)
        self.staff = tuple(_person(rng) for _ in range(3))

    def head(self, attendance: str, rng: random.Random) -> tuple[str, str]:
        """The name and title of a head of this rank."""
        principal, deputy, other = self.kind.titles
        if attendance == "principal":
            return self.principal, principal
        if attendance == "deputy":
            return self.deputies[int(rng.random() * 3)], deputy
        return self.other_head, other

    def clerk(self, rng: random.Random) -> tuple[str, str]:
        """The name and title of a staff member."""
        return self.staff[int(rng.random() * 3)], self.kind.staff_title


def _hearing_fields(agency: _Agency, day: int, level: str, attendance: str, spoke: bool | None,
                    excuse: str | None, rng: random.Random) -> dict:
    fields = {"held_on": _iso(day), "level": level, "attendance": attendance}
    if attendance in HEADS:
        fields["official"], fields["title"] = agency.head(attendance, rng)
        fields["spoke"] = spoke
    elif attendance == "staff":
        fields["official"], fields["title"] = agency.clerk(rng)
        if excuse:
            fields["excuse"] = excuse
    return fields


class _Story:
    """Writes random case timelines for one log: the docket, the horizon and how often rare things happen."""

    def __init__(self, rng: random.Random, docket: _Docket, today: dt.date | None,
                 duplicates: float, retrials: float) -> None:
        self.rng = rng
        self.docket = docket
        self.last_day, self.cap = _horizon(today)
        self.duplicates = duplicates
        self.retrials = retrials

    def case(self, court: _Court, agency: _Agency, habits: _Habits, filed_day: int,
             misfiled: _Agency | None = None) -> _Case:
        """One case from filing to its end or the horizon; ``misfiled`` names a wrong defendant logged and retracted first."""
        rng = self.rng
        cause = habits.causes[bisect.bisect(habits.cause_weights, rng.random())]
        compensation = cause == "行政赔偿"
        number = self.docket.number(court.code, _year(filed_day), "行赔初" if compensation else "行初")
        case = _Case(number, rng, self.last_day, self.cap)
        case.filed_day = filed_day
        filing = {"filed_on": _iso(filed_day), "court": court.name, "agency": agency.name, "cause": cause}
        if rng.random() < 0.7:
            filing["plaintiff"] = _plaintiff(rng)
        filing["field"] = agency.kind.field
        try:
            if misfiled is not None:
                wrong = case.log("case_filed", filed_day, {**filing, "agency": misfiled.name, "field": misfiled.kind.field})
                case.amend("event_retracted", {"target": wrong["event_id"], "reason": "被告录入错误，撤回后重新立案"}, 0, 2)
            case.filing = case.log("case_filed", filed_day, filing)
            self._proceed(case, court, agency, habits, filed_day, compensation)
        except _Horizon:
            pass
        return case

    def _proceed(self, case: _Case, court: _Court, agency: _Agency, habits: _Habits, day: int, compensation: bool) -> None:
        rng = self.rng
        day, disposition = self._first_instance(case, agency, habits, day, compensation)
        effective = disposition
        rounds = 0
        while rng.random() < _APPEALED.get(disposition, 0.0) / (1 + rounds):
            rounds += 1
            day, result, effective = self._appeal(case, court, agency, habits, day, disposition, compensation)
            if result != "remanded":
                break
            day, disposition = self._first_instance(case, agency, habits, day, compensation)
            effective = disposition
        # Either way the case now has a standing conclusion and no pending appeal.
        if effective in MERITS_SET and rng.random() < self.retrials:
            self._retrial(case, agency, habits, day, effective)

    def _first_instance(self, case: _Case, agency: _Agency, habits: _Habits, day: int,
                        compensation: bool) -> tuple[int, str]:
        rng = self.rng
        if rng.random() < habits.loss:
            disposition = "compensation" if compensation else _pick(_LOSSES, _LOSS_WEIGHTS, rng)
        else:
            disposition = _pick(_NON_LOSSES, _NON_LOSS_WEIGHTS, rng)
        x = rng.random()
        if disposition in _OFTEN_UNHEARD and rng.random() < 0.5:
            hearings = 0
        else:
            hearings = 1 if x < 0.72 else 2 if x < 0.95 else 3
        for i in range(hearings):
            day += _between(rng, 20, 75) if i == 0 else _between(rng, 14, 45)
            self._hearing(case, agency, habits, day, "first")
        if not hearings:
            day += _between(rng, 15, 120)
        elif rng.random() >= 0.1:  # else decided in court on the day of the hearing (当庭宣判)
            day += _between(rng, 3, 40)
        case.conclusions.append(case.log("case_concluded", day, {"decided_on": _iso(day), "disposition": disposition}))
        return day, disposition

    def _hearing(self, case: _Case, agency: _Agency, habits: _Habits, day: int, level: str) -> None:
        rng = self.rng
        attendance = _ATTENDANCE[bisect.bisect(habits.attendance, rng.random())]
        spoke = rng.random() < habits.spoke if attendance in HEADS else None
        excuse = None
        if attendance == "staff" and rng.random() < habits.excused:
            excuse = _EXCUSES[int(rng.random() * len(_EXCUSES))]
        fields = _hearing_fields(agency, day, level, attendance, spoke, excuse, rng)
        event = case.log("hearing_held", day, fields)
        case.hearings.append((event, level == "first" and not case.conclusions))
        if rng.random() < self.duplicates:
            case.duplicates.append(case.log("hearing_held", day, fields))

    def _appeal(self, case: _Case, court: _Court, agency: _Agency, habits: _Habits, day: int,
                disposition: str, compensation: bool) -> tuple[int, str, str]:
        rng = self.rng
        day += _between(rng, 5, 15)
        number = self.docket.number(court.appeal_code, _year(day), "行赔终" if compensation else "行终")
        appellant = "both" if rng.random() < 0.1 else "agency" if disposition in LOSS_SET else "plaintiff"
        case.appeals.append(case.log("appeal_filed", day, {"filed_on": _iso(day), "appeal_case": number, "appellant": appellant}))
        if rng.random() < 0.45:
            day += _between(rng, 20, 80)
            self._hearing(case, agency, habits, day, "second")
            if rng.random() < 0.15:
                day += _between(rng, 14, 40)
                self._hearing(case, agency, habits, day, "second")
            day += _between(rng, 3, 60)
        else:
            day += _between(rng, 30, 120)
        result = _pick(_RESULTS, _RESULT_WEIGHTS[disposition in LOSS_SET], rng)
        fields = {"decided_on": _iso(day), "result": result}
        effective = disposition
        if result == "reversed":
            effective = fields["disposition"] = _reversal(disposition, rng)
        case.log("appeal_decided", day, fields)
        return day, result, effective

    def _retrial(self, case: _Case, agency: _Agency, habits: _Habits, day: int, effective: str) -> None:
        rng = self.rng
        day += _between(rng, 120, 400)
        if rng.random() < 0.7:
            self._hearing(case, agency, habits, day, "retrial")
        day += _between(rng, 20, 90)
        result = _pick(_RETRIAL_RESULTS, _RETRIAL_WEIGHTS, rng)
        fields = {"decided_on": _iso(day), "result": result}
        if result == "reversed":
            fields["disposition"] = _reversal(effective, rng)
        case.log("retrial_decided", day, fields)

    def amend(self, case: _Case, agency: _Agency) -> None:
        """Correct or retract one event of ``case`` months later, keeping the case valid."""
        rng = self.rng
        x = rng.random()
        if x < 0.7 and case.hearings:
            event, movable = case.hearings[int(rng.random() * len(case.hearings))]
            type_, fields = _hearing_fix(event, movable, case.filed_day, agency, rng)
        elif x < 0.85 and case.conclusions:
            event = case.conclusions[int(rng.random() * len(case.conclusions))]
            type_, fields = "event_corrected", {"changes": {"disposition": _DISPOSITION_FIXES[event["disposition"]]},
                                                "reason": "结案方式录入有误"}
        elif x < 0.9 and case.appeals:
            event = case.appeals[int(rng.random() * len(case.appeals))]
            appellant = "both" if event["appellant"] != "both" else "plaintiff"
            type_, fields = "event_corrected", {"changes": {"appellant": appellant}, "reason": "上诉人录入有误"}
        elif case.filing is not None:
            event = case.filing
            causes = agency.kind.causes
            cause = causes[int(rng.random() * len(causes))][0]
            if cause == event["cause"] or "行政赔偿" in (cause, event["cause"]):
                # 行政赔偿 decides the case number's type code, so it is never corrected in or out.
                type_, fields = "event_corrected", {"changes": {"plaintiff": _plaintiff(rng)}, "reason": "原告姓名录入有误"}
            else:
                type_, fields = "event_corrected", {"changes": {"cause": cause}, "reason": "案由录入有误"}
        else:
            return
        try:
            case.amend(type_, {"target": event["event_id"], **fields}, 30, 400)
        except _Horizon:
            pass

    def retract_duplicates(self, case: _Case) -> None:
        """Retract the hearings logged twice, weeks later."""
        try:
            for duplicate in case.duplicates:
                case.amend("event_retracted", {"target": duplicate["event_id"], "reason": "重复录入"}, 7, 60)
        except _Horizon:
            pass


def _reversal(disposition: str, rng: random.Random) -> str:
    """The new disposition of a reversed decision: mostly the other side wins, sometimes a loss becomes another loss."""
    x = rng.random()
    if disposition in LOSS_SET:
        if x < 0.75:
            return "claims_dismissed"
        return "revoked" if disposition == "partly_revoked" else "partly_revoked"
    if disposition == "suit_dismissed" and x < 0.25:
        return "claims_dismissed"
    return ("revoked", "confirmed_illegal", "ordered_to_perform")[int(rng.random() * 3)]


def _hearing_fix(event: dict, movable: bool, filed_day: int, agency: _Agency, rng: random.Random) -> tuple[str, dict]:
    """A correction or retraction of a hearing that keeps ``spoke`` iff a head attended."""
    attendance = event["attendance"]
    x = rng.random()
    if movable and x < 0.15:
        held = _day(event["held_on"])
        if held > filed_day:
            # Earlier, but not before filing: still before the first conclusion, whatever followed.
            new = _iso(held - _between(rng, 1, min(20, held - filed_day)))
            return "event_corrected", {"changes": {"held_on": new}, "reason": "开庭日期录入有误"}
    if x > 0.8:
        return "event_retracted", {"reason": "误录，该次庭审未进行"}
    if attendance in HEADS:
        if x < 0.45:
            official, title = agency.clerk(rng)
            changes = {"attendance": "staff", "spoke": None, "official": official, "title": title}
            return "event_corrected", {"changes": changes, "reason": "核对庭审笔录，实为工作人员出庭"}
        if x < 0.6:
            return "event_corrected", {"changes": {"spoke": not event["spoke"]}, "reason": "核对庭审笔录，更正负责人发言情况"}
        new = "principal" if attendance != "principal" else "deputy"
        official, title = agency.head(new, rng)
        changes = {"attendance": new, "official": official, "title": title}
        return "event_corrected", {"changes": changes, "reason": "出庭负责人职务录入有误"}
    if attendance == "staff" and "excuse" not in event and x < 0.3:
        return "event_corrected", {"changes": {"excuse": "official_duty"}, "reason": "补录负责人不能出庭的正当理由"}
    if attendance != "staff" and x < 0.3:
        official, title = agency.clerk(rng)
        return "event_corrected", {"changes": {"attendance": "staff", "official": official, "title": title},
                                   "reason": "核对庭审笔录，工作人员出庭"}
    official, title = agency.head("deputy", rng)
    changes = {"attendance": "deputy", "spoke": rng.random() < 0.5, "official": official, "title": title}
    if "excuse" in event:
        changes["excuse"] = None
    return "event_corrected", {"changes": changes, "reason": "核对庭审笔录，实为副职负责人出庭"}


_CITY_COURTS = (
    _Court("浙0302", "城东区人民法院", "浙03"),
    _Court("浙0303", "城西区人民法院", "浙03"),
    _Court("浙0381", "临江市人民法院", "浙03"),
)
_CITY_COURT_WEIGHTS = _cumulative((5, 3, 2))


def _merged(records: list[tuple[int, dict]]) -> Iterator[dict]:
    records.sort(key=itemgetter(0))  # stable: events recorded in the same second keep their order
    return (event for _, event in records)


def demo_city(seed: int = 2022, first_year: int = 2019, last_year: int | None = None,
              today: dt.date | None = None) -> Iterator[dict]:
    """A fictitious city's log: cases filed from ``first_year`` to ``last_year``, followed to ``today``.

    ``last_year`` defaults to the last complete year before ``today``.  Ten
    agencies with their own habits (the 自然资源和规划局 mostly sends its
    principal, the 公安局 deputies who rarely speak, the 市场监管局 staff or only
    its lawyers), 150-300 cases a year with filings and losses falling and
    appearances rising, about 30% of conclusions appealed (upheld, reversed
    either way, remanded, withdrawn), a few retrials, duplicate entries and
    misfiled cases retracted, and a few dozen late corrections.
    """
    today = today or dt.date.today()
    last_year = today.year - 1 if last_year is None else last_year
    if last_year < first_year:
        raise ValueError(f"last_year {last_year} is before first_year {first_year}")
    rng = random.Random(seed)
    story = _Story(rng, _Docket(rng, gaps=True), today, duplicates=0.002, retrials=0.01)
    agencies = [_Agency(kind.name, kind, rng) for kind in _KINDS]
    records: list[tuple[int, dict]] = []
    for year in range(first_year, last_year + 1):
        progress = (year - first_year) / max(1, last_year - first_year)
        habits = [_habits(kind, progress) for kind in _KINDS]
        count = min(300, max(150, round(280 * 0.93 ** (year - first_year) * (0.93 + 0.14 * rng.random()))))
        start = dt.date(year, 1, 2).toordinal()
        length = dt.date(year, 12, 31).toordinal() - start
        for filed_day in sorted(start + int(rng.random() * length) for _ in range(count)):
            if filed_day > story.last_day:
                break
            index = bisect.bisect(_KIND_WEIGHTS, rng.random())
            court = _pick(_CITY_COURTS, _CITY_COURT_WEIGHTS, rng)
            misfiled = agencies[(index + 1) % len(agencies)] if rng.random() < 0.002 else None
            case = story.case(court, agencies[index], habits[index], filed_day, misfiled)
            story.retract_duplicates(case)
            if rng.random() < 0.025:
                story.amend(case, agencies[index])
            records.extend(case.records)
    return _merged(records)


_PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
_CITY_FIRST = "东西南北安永宁长平清新兴和泰"
_CITY_SECOND = "江山川阳河州城源丰德昌华阴兴"
_DISTRICTS = ("城东", "城西", "江南", "江北")


def _national_courts(rng: random.Random) -> list[tuple[_Court, tuple[_Agency, ...]]]:
    """Courts of six cities in each province, four district courts a city, each with its defendants."""
    courts = []
    names = (a + b for a in _CITY_FIRST for b in _CITY_SECOND)
    for province in _PROVINCES:
        for city_number in range(1, 7):
            city = next(names)
            municipal = {kind.name: _Agency(city + kind.name, kind, rng) for kind in _KINDS if kind.name.startswith("市")}
            for district_number, district in enumerate(_DISTRICTS, start=2):
                code = f"{province}{city_number:02d}{district_number:02d}"
                court = _Court(code, f"{city}市{district}区人民法院", f"{province}{city_number:02d}")
                agencies = tuple(
                    municipal.get(kind.name) or _Agency(f"{city}市{district}区人民政府", kind, rng) for kind in _KINDS
                )
                courts.append((court, agencies))
    return courts


def national(n_events: int = 1_000_000, seed: int = 1, today: dt.date | None = None) -> Iterator[dict]:
    """Exactly ``n_events`` valid events of a nationwide log, for benchmarks, generated lazily.

    About four events a case (250,000 cases per million events), filed from
    the start of the year six years before ``today``'s; about 1% are
    corrections and retractions.  Cases are written one at a time in filing
    order and their events wait in a heap until no later case can log
    anything earlier, so memory holds only the cases in flight.
    """
    if n_events < 0:
        raise ValueError("n_events must not be negative")
    produced = 0
    for event in itertools.islice(_national(n_events, seed, today), n_events):
        produced += 1
        yield event
    if produced < n_events:
        raise RuntimeError(f"the period before today holds only {produced} of the {n_events} events asked for")


def _national(n_events: int, seed: int, today: dt.date | None) -> Iterator[dict]:
    today = today or dt.date.today()
    rng = random.Random(seed)
    story = _Story(rng, _Docket(rng, gaps=False), today, duplicates=0.001, retrials=0.005)
    courts = _national_courts(rng)
    first_year = today.year - 6
    first = dt.date(first_year, 1, 1).toordinal()
    # Plan the cases over five years; filing goes on at that pace to the horizon if the events run short.
    step = (dt.date(first_year + 5, 1, 1).toordinal() - first) / max(64, n_events // 4)
    habits: dict[tuple[int, int], _Habits] = {}
    heap: list[tuple[int, int, dict]] = []
    sequence = itertools.count()
    for i in itertools.count():
        filed_day = first + int(i * step)
        if filed_day > story.last_day:
            break
        # No case filed on or after filed_day logs anything before the next day.
        bound = (filed_day + 1) * _DAY
        while heap and heap[0][0] < bound:
            yield heapq.heappop(heap)[2]
        court, agencies = courts[int(rng.random() * len(courts))]
        index = bisect.bisect(_KIND_WEIGHTS, rng.random())
        year = _year(filed_day)
        key = (index, year)
        if key not in habits:
            habits[key] = _habits(_KINDS[index], min(1.0, (year - first_year) / 5))
        case = story.case(court, agencies[index], habits[key], filed_day)
        story.retract_duplicates(case)
        if rng.random() < 0.04:
            story.amend(case, agencies[index])
        for ts, event in case.records:
            heapq.heappush(heap, (ts, next(sequence), event))
    while heap:
        yield heapq.heappop(heap)[2]


#: The figures :func:`seed_city` was built to produce, by year: what ``caselog summary --year Y
#: --format json`` must print (as of now, all levels).  Worked out by hand from ``_SEED_ROWS``: a
#: case filed in year Y of cohort "A" is heard and concluded in Y, with any second-level hearing
#: in Y; of cohort "B" it is filed in November or December of Y, and heard and concluded in Y+1.
#: So filed(Y) = A(Y) + B(Y), concluded(Y) = A(Y) + B(Y-1), and the units of Y are the heard A(Y)
#: and B(Y-1) cases at each level.  2018 has no cases, so its null loss rate ends the streak.
SEED_CITY_2022: dict[int, dict[str, int | float]] = {
    2019: {
        "filed": 330 + 30, "heard": 185 + 30, "head_appeared": 145 + 27,
        "concluded": 330, "losses_first_instance": 28, "reduced_on_appeal": 0, "added_on_appeal": 1,
        "losses": 29, "appearance_rate": 172 / 215, "loss_rate": 29 / 330, "double_decline_streak": 0,
    },
    2020: {
        "filed": 317 + 28, "heard": (158 + 22) + (28 + 4), "head_appeared": (135 + 17) + (28 + 4),
        "concluded": 317 + 30, "losses_first_instance": 22 + 3, "reduced_on_appeal": 1, "added_on_appeal": 0,
        "losses": 24, "appearance_rate": 184 / 212, "loss_rate": 24 / 347, "double_decline_streak": 1,
    },
    2021: {
        "filed": 304 + 26, "heard": (155 + 20) + (29 + 4), "head_appeared": (145 + 18) + (29 + 4),
        "concluded": 304 + 28, "losses_first_instance": 17 + 2, "reduced_on_appeal": 1, "added_on_appeal": 1,
        "losses": 19, "appearance_rate": 196 / 208, "loss_rate": 19 / 332, "double_decline_streak": 2,
    },
    2022: {
        "filed": 280 + 38, "heard": (150 + 18) + (28 + 4), "head_appeared": (149 + 18) + (28 + 4),
        "concluded": 280 + 26, "losses_first_instance": 14 + 2, "reduced_on_appeal": 1, "added_on_appeal": 0,
        "losses": 15, "appearance_rate": 199 / 200, "loss_rate": 15 / 306, "double_decline_streak": 3,
        "filed_prev": 330, "appearance_rate_prev": 196 / 208, "loss_rate_prev": 19 / 332,
        "appearance_rate_change_pp": (199 / 200 - 196 / 208) * 100,  # +5.27
        "loss_rate_change_pp": (15 / 306 - 19 / 332) * 100,
        "principal": (29 + 3) + (7 + 1), "deputy": (99 + 12) + (17 + 3), "other_head": (21 + 3) + 4,
        "staff": 1, "lawyer_only": 0, "none": 0,
        "spoke": (80 + 11) + (18 + 4), "silent": (69 + 7) + 10, "recommendations_expected": 1,
        "withdrawn_after_change": (6 + 11 + 1) + 1, "merits_judgments": (117 + 13) + 15,
    },
}

# Hearing codes of the seed city: P, D, O a head (principal, deputy, other) who spoke (+) or not
# (-); S staff, Sx staff with an excuse, L only a lawyer, N nobody.  "A>B" is logged as A and
# corrected to B months later; "A*" is logged twice and the copy retracted; "A~" is logged with a
# wrong date in the filing year and re-dated later.  Hearings at one level are comma-separated.
_SEED_CODES = {
    "P+": ("principal", True, None), "P-": ("principal", False, None),
    "D+": ("deputy", True, None), "D-": ("deputy", False, None),
    "O+": ("other_head", True, None), "O-": ("other_head", False, None),
    "S": ("staff", None, None), "Sx": ("staff", None, "official_duty"),
    "L": ("lawyer_only", None, None), "N": ("none", None, None),
}
_CD, _SD, _W, _WAC = "claims_dismissed", "suit_dismissed", "withdrawn", "withdrawn_after_change"
_PLAINTIFF_UPHELD = ("plaintiff", "", "upheld")
#: (year filed, cohort) -> rows (cases, first-instance hearings, disposition, appeal); an appeal is
#: (appellant, second-level hearings, result[, the new disposition, or after a remand the new
#: first-instance (hearings, disposition)]).  A disposition "A>B" is logged as A, corrected to B.
_SEED_ROWS: dict[tuple[int, str], tuple] = {
    (2019, "A"): (
        (3, "P-", _CD, ("plaintiff", "P-", "upheld")),
        (15, "D-", _CD, ("plaintiff", "D-", "upheld")),
        (4, "D+", _SD, ("plaintiff", "D+", "upheld")),
        (1, "D-", _CD, ("plaintiff", "D-", "reversed", "revoked")),
        (4, "O-", _CD, ("plaintiff", "O-", "upheld")),
        (3, "S", "revoked", ("agency", "S", "upheld")),
        (12, "P-", _CD, None),
        (5, "P+", "revoked", None),
        (30, "D-", _CD, _PLAINTIFF_UPHELD),
        (20, "D-", _CD, None),
        (10, "D+", _CD, None),
        (8, "D-", _W, None),
        (2, "D-", _WAC, None),
        (8, "D-", "revoked", None),
        (2, "D+", "confirmed_illegal", ("agency", "", "upheld")),
        (15, "O-", _CD, None),
        (6, "O+", _CD, None),
        (8, "Sx", _CD, None),
        (7, "S", _CD, None),
        (4, "S", "revoked", None),
        (8, "L", _CD, None),
        (4, "L", "ordered_to_perform", None),
        (4, "N", _CD, None),
        (2, "N", "ordered_to_pay", None),
        (20, "", _SD, _PLAINTIFF_UPHELD),
        (50, "", _SD, None),
        (55, "", _W, None),
        (10, "", _WAC, None),
        (6, "", "mediated", None),
        (4, "", "terminated", None),
    ),
    (2019, "B"): (
        (1, "P+", _CD, ("plaintiff", "P+", "upheld")),
        (3, "D-", _CD, ("plaintiff", "D-", "upheld")),
        (1, "P-", _CD, None),
        (6, "D+", _CD, None),
        (2, "D-", "revoked", None),
        (1, "D+", _W, None),
        (3, "O-", _CD, None),
        (2, "S", _CD, None),
        (1, "Sx", "revoked", None),
        (2, "L", _CD, None),
        (1, "", _SD, _PLAINTIFF_UPHELD),
        (3, "", _SD, None),
        (3, "", _W, None),
        (1, "", _WAC, None),
    ),
    (2020, "A"): (
        (4, "P+", _CD, ("plaintiff", "P+", "upheld")),
        (15, "D-", _CD, ("plaintiff", "D-", "upheld")),
        (2, "D+", _SD, ("plaintiff", "D+", "upheld")),
        (1, "D+", "revoked", ("agency", "D-", "reversed", _CD)),
        (1, "D-", _CD, ("plaintiff", "D+", "remanded", ("P+", "revoked"))),
        (5, "O+", _CD, ("plaintiff", "O-", "upheld")),
        (10, "P-", _CD, None),
        (5, "P+", "revoked", None),
        (30, "D-", _CD, _PLAINTIFF_UPHELD),
        (20, "D+", _CD, None),
        (11, "D-", _W, None),
        (4, "D+", _WAC, None),
        (7, "D-", "confirmed_illegal", None),
        (3, "S,D+", "revoked", ("agency", "", "upheld")),
        (10, "O-", _CD, None),
        (7, "O+", _CD, ("plaintiff", "", "withdrawn")),
        (5, "Sx", _CD, None),
        (6, "S", _CD, None),
        (2, "S", "revoked", None),
        (4, "L", _CD, None),
        (2, "L", "ordered_to_perform", None),
        (3, "N", _CD, None),
        (1, "N", "ordered_to_pay", None),
        (25, "", _SD, _PLAINTIFF_UPHELD),
        (50, "", _SD, None),
        (60, "", _W, None),
        (14, "", _WAC, None),
        (6, "", "mediated", None),
        (4, "", "terminated", None),
    ),
    (2020, "B"): (
        (1, "P+", _CD, ("plaintiff", "P+", "upheld")),
        (3, "D+", _CD, ("plaintiff", "D-", "upheld")),
        (2, "P-", _CD, None),
        (6, "D+", _CD, None),
        (2, "D-", "revoked", None),
        (1, "D-", _W, None),
        (3, "O+", _CD, None),
        (1, "Sx", _CD, None),
        (1, "S", _CD, None),
        (1, "", _SD, _PLAINTIFF_UPHELD),
        (3, "", _SD, None),
        (3, "", _W, None),
        (1, "", _WAC, None),
    ),
    (2021, "A"): (
        (5, "P+", _CD, ("plaintiff", "P-", "upheld")),
        (14, "D+", _CD, ("plaintiff", "D+", "upheld")),
        (3, "D-", _CD, ("plaintiff", "D-", "upheld")),
        (1, "D+", "revoked", ("agency", "D+", "reversed", _CD)),
        (1, "D-", _CD, ("plaintiff", "D+", "reversed", "revoked")),
        (5, "O-", _CD, ("plaintiff", "O+", "upheld")),
        (8, "P+", _CD, None),
        (5, "P-", "revoked", None),
        (3, "P-", _CD, _PLAINTIFF_UPHELD),
        (30, "D-", _CD, _PLAINTIFF_UPHELD),
        (25, "D+", _CD, None),
        (8, "D-", _W, None),
        (5, "D+", _WAC, None),
        (6, "D-", "confirmed_illegal", None),
        (1, "D+", "revoked", ("agency", "", "reversed", "partly_revoked")),
        (1, "D+", "revoked", ("agency", "", "upheld")),
        (1, "S,D-", _CD, None),
        (15, "O+", _CD, None),
        (8, "O-", _CD, ("plaintiff", "", "withdrawn")),
        (2, "Sx", _CD, None),
        (1, "Sx,S", "revoked", None),
        (2, "S", _CD, None),
        (1, "D+>S", _CD, None),
        (2, "L", _CD, None),
        (1, "L", "ordered_to_perform", None),
        (1, "N", "ordered_to_perform", None),
        (25, "", _SD, _PLAINTIFF_UPHELD),
        (45, "", _SD, None),
        (55, "", _W, None),
        (14, "", _WAC, None),
        (6, "", "mediated", None),
        (4, "", "terminated", None),
    ),
    (2021, "B"): (
        (1, "P+", _CD, ("plaintiff", "P+", "upheld")),
        (3, "D-", _CD, ("plaintiff", "D+", "upheld")),
        (2, "P-", _CD, None),
        (6, "D+", _CD, None),
        (1, "D+~", _CD, None),
        (1, "D-", "revoked", None),
        (1, "D-", "revoked", ("agency", "", "upheld")),
        (3, "O+", _W, None),
        (2, "", _SD, _PLAINTIFF_UPHELD),
        (2, "", _SD, None),
        (3, "", _W, None),
        (1, "", _WAC, None),
    ),
    (2022, "A"): (
        (5, "P+", _CD, ("plaintiff", "P+", "upheld")),
        (2, "D-", _CD, ("plaintiff", "P-", "upheld")),
        (12, "D+", _CD, ("plaintiff", "D+", "upheld")),
        (4, "S,D-", _SD, ("plaintiff", "D-", "upheld")),
        (1, "D+", "revoked", ("agency", "D+", "reversed", _CD)),
        (4, "O+", _CD, ("plaintiff", "O-", "upheld")),
        (10, "P+", _CD, _PLAINTIFF_UPHELD),
        (8, "P-", _CD, None),
        (6, "P+", "revoked", None),
        (30, "D-", _CD, _PLAINTIFF_UPHELD),
        (25, "D+", _CD, None),
        (10, "D-", _W, None),
        (6, "D+", _WAC, None),
        (5, "D-", "confirmed_illegal", None),
        (2, "D-,D+", "revoked", ("agency", "", "upheld")),
        (1, "S>D-", _CD, None),
        (1, "D-*", _CD, None),
        (9, "O+", _CD, None),
        (8, "O-", _CD, ("plaintiff", "", "withdrawn")),
        (1, "S", _CD, None),
        (20, "", _SD, _PLAINTIFF_UPHELD),
        (40, "", _SD, None),
        (50, "", _W, None),
        (11, "", _WAC, None),
        (1, "", f"{_W}>{_WAC}", None),
        (5, "", "mediated", None),
        (3, "", "terminated", None),
    ),
    (2022, "B"): (
        (3, "P+", _CD, ("plaintiff", "P+", "upheld")),
        (8, "D+", _CD, None),
        (6, "D-", _CD, None),
        (2, "O+", _WAC, None),
        (3, "D-", "revoked", None),
        (3, "O-", _CD, ("plaintiff", "", "upheld")),
        (2, "", _SD, _PLAINTIFF_UPHELD),
        (4, "", _SD, None),
        (6, "", _W, None),
        (1, "", _WAC, None),
    ),
}
#: seed_city's last event is logged in May 2023; from this day on nothing of it is cut off.
_SEED_COMPLETE = dt.date(2023, 9, 1)


def seed_city(today: dt.date | None = None) -> Iterator[dict]:
    """The fixture behind the seed report: a city whose yearly summaries are :data:`SEED_CITY_2022`.

    In 2022 the heads appeared for 199 of 200 units (99.5%, +5.27 points on
    2021's 196 of 208), mostly deputies and often silent; 16 first-instance
    losses, one reduced on appeal, 15 of 306 concluded (4.9%); filings and
    loss rates fell three years running.  A few corrections and retractions
    are in it, and the figures count them.  ``today`` must be 2023-09-01 or later.
    """
    today = today or dt.date.today()
    if today < _SEED_COMPLETE:
        raise ValueError(f"seed_city runs into 2023; today must be on or after {_SEED_COMPLETE}")
    rng = random.Random(2022)
    last_day, cap = _horizon(today)
    docket = _Docket(rng, gaps=True)
    agencies = [_Agency(kind.name, kind, rng) for kind in _KINDS]
    plans = []
    for (year, cohort), rows in _SEED_ROWS.items():
        for row in rows:
            for _ in range(row[0]):
                plans.append((_seed_filing_day(rng, year, cohort, row), len(plans), cohort, row))
    plans.sort()
    records: list[tuple[int, dict]] = []
    for filed_day, _, cohort, row in plans:
        agency = agencies[bisect.bisect(_KIND_WEIGHTS, rng.random())]
        court = _pick(_CITY_COURTS, _CITY_COURT_WEIGHTS, rng)
        records.extend(_seed_case(rng, docket, court, agency, filed_day, cohort, row, last_day, cap).records)
    # A case registered twice by mistake: the copy is retracted, so it was never filed.
    filed_day = dt.date(2022, 6, 13).toordinal()
    agency = agencies[6]
    copy = _Case(docket.number(_CITY_COURTS[0].code, 2022, "行初"), rng, last_day, cap)
    wrong = copy.log("case_filed", filed_day, {"filed_on": _iso(filed_day), "court": _CITY_COURTS[0].name,
                                                "agency": agency.name, "cause": "政府信息公开", "field": agency.kind.field})
    copy.amend("event_retracted", {"target": wrong["event_id"], "reason": "重复立案"}, 3, 10)
    records.extend(copy.records)
    return _merged(records)


def _seed_filing_day(rng: random.Random, year: int, cohort: str, row: tuple) -> int:
    """A filing date that leaves the row's story room to finish in its year (see SEED_CITY_2022)."""
    _, hearings, _, appeal = row
    if cohort == "B":
        first, last = dt.date(year, 11, 1), dt.date(year, 12, 20)
    elif appeal is not None and appeal[2] == "remanded":
        first, last = dt.date(year, 1, 2), dt.date(year, 3, 31)
    elif appeal is not None and appeal[1]:
        first, last = dt.date(year, 1, 2), dt.date(year, 7, 15)
    elif hearings:
        first, last = dt.date(year, 1, 2), dt.date(year, 9, 15)
    else:
        first, last = dt.date(year, 1, 2), dt.date(year, 10, 15)
    return _between(rng, first.toordinal(), last.toordinal())


def _seed_case(rng: random.Random, docket: _Docket, court: _Court, agency: _Agency, filed_day: int,
               cohort: str, row: tuple, last_day: int, cap: int) -> _Case:
    """One seed-city case told as its row says; the longest gaps still end the story in its year."""
    _, hearings, disposition, appeal = row
    kind = agency.kind
    cause = kind.causes[bisect.bisect(_cumulative(w for _, w in kind.causes), rng.random())][0]
    compensation = cause == "行政赔偿"
    year = _year(filed_day)
    case = _Case(docket.number(court.code, year, "行赔初" if compensation else "行初"), rng, last_day, cap)
    case.filed_day = filed_day
    fields = {"filed_on": _iso(filed_day), "court": court.name, "agency": agency.name, "cause": cause,
              "plaintiff": _plaintiff(rng), "field": kind.field}
    case.log("case_filed", filed_day, fields)
    fixes: list[tuple[str, dict]] = []
    if cohort == "A":
        start, gap, unheard = filed_day, (25, 45), filed_day + _between(rng, 20, 60)
    else:
        start, gap = dt.date(year + 1, 1, 8).toordinal(), (0, 50)
        unheard = dt.date(year + 1, 1, 5).toordinal() + _between(rng, 0, 85)
    day = _seed_hearings(case, agency, hearings, "first", start, gap, fixes)
    day = day + _between(rng, 0, 20) if hearings else unheard
    logged, _, fixed = disposition.partition(">")
    concluded = case.log("case_concluded", day, {"decided_on": _iso(day), "disposition": logged})
    if fixed:
        fixes.append(("event_corrected", {"target": concluded["event_id"], "changes": {"disposition": fixed},
                                          "reason": "被告改变原行政行为后原告撤诉，结案方式更正"}))
    if appeal is not None:
        appellant, second, result, *after = appeal
        day += _between(rng, 3, 15)
        number = docket.number(court.appeal_code, _year(day), "行赔终" if compensation else "行终")
        case.log("appeal_filed", day, {"filed_on": _iso(day), "appeal_case": number, "appellant": appellant})
        if second:
            day = _seed_hearings(case, agency, second, "second", day, (20, 40), fixes) + _between(rng, 10, 40)
        else:
            day += _between(rng, 30, 80)
        decision = {"decided_on": _iso(day), "result": result}
        if result == "reversed":
            decision["disposition"] = after[0]
        case.log("appeal_decided", day, decision)
        if result == "remanded":
            again, disposition = after[0]
            day = _seed_hearings(case, agency, again, "first", day, (20, 40), fixes) + _between(rng, 10, 30)
            case.log("case_concluded", day, {"decided_on": _iso(day), "disposition": disposition})
    for type_, fix in fixes:
        case.amend(type_, fix, 60, 120)
    return case


def _seed_hearings(case: _Case, agency: _Agency, codes: str, level: str, day: int,
                   gap: tuple[int, int], fixes: list[tuple[str, dict]]) -> int:
    """Log the hearings ``codes`` from ``day`` on, note their late fixes; return the last hearing's date."""
    rng = case.rng
    for i, code in enumerate(codes.split(",") if codes else ()):
        day += _between(rng, *gap) if i == 0 else _between(rng, 15, 30)
        logged, _, fixed = code.partition(">")
        mark = logged[-1] if logged[-1] in "*~" else ""
        attendance, spoke, excuse = _SEED_CODES[logged.rstrip("*~")]
        fields = _hearing_fields(agency, day, level, attendance, spoke, excuse, rng)
        if mark == "~":
            wrong = {**fields, "held_on": _iso(case.filed_day + 5)}
            event = case.log("hearing_held", case.filed_day + 5, wrong)
            fixes.append(("event_corrected", {"target": event["event_id"], "changes": {"held_on": fields["held_on"]},
                                              "reason": "开庭日期录入有误"}))
            continue
        event = case.log("hearing_held", day, fields)
        if mark == "*":
            copy = case.log("hearing_held", day, fields)
            fixes.append(("event_retracted", {"target": copy["event_id"], "reason": "重复录入"}))
        if fixed:
            attendance, spoke, excuse = _SEED_CODES[fixed]
            changes = {k: v for k, v in _hearing_fields(agency, day, level, attendance, spoke, excuse, rng).items()
                       if k not in ("held_on", "level")}
            changes.update({k: None for k in ("spoke", "excuse", "official", "title") if k in fields and k not in changes})
            fixes.append(("event_corrected", {"target": event["event_id"], "changes": changes,
                                              "reason": "核对庭审笔录，更正出庭人员"}))
    return day


def write_jsonl(events: Iterable[dict], fh: IO[str]) -> int:
    """Write one JSON object a line, Chinese kept as is; return the number of lines."""
    count = 0
    for event in events:
        fh.write(json.dumps(event, ensure_ascii=False))
        fh.write("\n")
        count += 1
    return count
