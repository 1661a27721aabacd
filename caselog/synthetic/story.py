"""The story of one case, shared by the generators: its timeline from filing to its end.

A :class:`Story` writes each case as its own :class:`Timeline` (business dates in
order, each event logged one to three days after it happened, during office
hours in China; corrections and retractions months later); :func:`merged`
then interleaves the timelines by ``recorded_at``.  What a case may be (its
attendances, dispositions, results, excuses) is the vocabulary of
``caselog.events``; the tables below only weigh it.

Times are counted in seconds from day 1 of year 1, days as proleptic Gregorian
ordinals, so that a million events cost no ``datetime`` arithmetic.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from dataclasses import dataclass
from operator import itemgetter
from typing import Iterator

from caselog import events as ev
from caselog.events import HEADS, LOSS_SET, MERITS_SET, uuid_text

from .agencies import Agency, Habits
from .draws import Weighted, between, plaintiff

DAY = 86_400
_EPOCH = dt.date(1970, 1, 1).toordinal() * DAY
# Clerks log during office hours in China, 09:00-17:30 UTC+8, written in UTC.
_OFFICE_START = 3_600
_OFFICE_LENGTH = 30_600
_CLERKS = ("clerk-a", "clerk-b", "clerk-c", "clerk-d")


def event_id(rng: random.Random, ts: int) -> str:
    """The version-7 UUID caselog would give an event recorded at second ``ts``
    (``events.new_event_id``), its millisecond and random bits drawn from the seeded generator."""
    bits = rng.getrandbits(128)  # as many bits as a version-4 id took: the rest of the stream is unchanged
    ms = (ts - _EPOCH) * 1000 + (bits >> 118) % 1000
    return uuid_text(ms << 80 | 7 << 76 | (bits >> 64 & 0xFFF) << 64 | 2 << 62 | bits & (1 << 62) - 1)


@functools.cache
def iso(day: int) -> str:
    return dt.date.fromordinal(day).isoformat()


def ordinal(iso: str) -> int:
    return dt.date.fromisoformat(iso).toordinal()


def year_of(day: int) -> int:
    return int(iso(day)[:4])


def stamp(ts: int) -> str:
    day, seconds = divmod(ts, DAY)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    return f"{iso(day)}T{hour:02d}:{minute:02d}:{second:02d}Z"


def horizon(today: dt.date | None) -> tuple[int, int]:
    """The last business day and the last recording second for a log made ``today``."""
    last_day = (today or dt.date.today()).toordinal() - 5
    return last_day, (last_day + 4) * DAY - 1


class Horizon(Exception):
    """The story has run past the end of the generated period; it stops there."""


class Timeline:
    """One case's timeline: its events in log order, each with its recording time in seconds."""

    __slots__ = ("number", "rng", "last_day", "cap", "records", "last_ts", "filed_day",
                 "filing", "hearings", "conclusions", "appeals", "duplicates", "defendants", "to_add", "added")

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
        # The defendants so far, the first first, each with its habits in court; and the 复议机关 the
        # court will add after the first hearing, if it will.
        self.defendants: list[tuple[Agency, Habits]] = []
        self.to_add: tuple[Agency, Habits] | None = None
        self.added: Agency | None = None

    def log(self, type_: str, day: int, fields: dict) -> dict:
        """Log an event that happened on ``day``, one to three days later."""
        if day > self.last_day:
            raise Horizon
        random_ = self.rng.random
        ts = (day + 1 + int(random_() * 3)) * DAY + _OFFICE_START + int(random_() * _OFFICE_LENGTH)
        return self._append(ts, type_, fields)

    def amend(self, type_: str, fields: dict, low: int, high: int) -> dict:
        """Log a correction or retraction ``low`` to ``high`` days after the case's last event."""
        day = self.last_ts // DAY + between(self.rng, low, high)
        return self._append(day * DAY + _OFFICE_START + int(self.rng.random() * _OFFICE_LENGTH), type_, fields)

    def _append(self, ts: int, type_: str, fields: dict) -> dict:
        rng = self.rng
        if ts <= self.last_ts:
            ts = self.last_ts + 60 + int(rng.random() * 3600)
        if ts > self.cap:
            raise Horizon
        event = {"type": type_, "case": self.number, **fields, "event_id": event_id(rng, ts),
                 "recorded_at": stamp(ts), "recorded_by": _CLERKS[rng.getrandbits(2)]}
        self.records.append((ts, event))
        self.last_ts = ts
        return event


class Docket:
    """Hands out case numbers: one serial per court, year and type code."""

    def __init__(self, rng: random.Random, gaps: bool) -> None:
        self.rng = rng
        self.gaps = gaps
        self.serials: dict[tuple[str, int, str], int] = {}

    def number(self, court_code: str, year: int, type_code: str) -> str:
        key = (court_code, year, type_code)
        last = self.serials.get(key)
        if last is None:
            serial = between(self.rng, 1, 30) if self.gaps else 1
        else:
            # A court also hears other cities' cases, so a city's own serials skip some.
            serial = last + (between(self.rng, 1, 4) if self.gaps else 1)
        self.serials[key] = serial
        return f"({year}){court_code}{type_code}{serial}号"


@dataclass(frozen=True)
class Court:
    """A court of first instance: its code in case numbers, its name, and the code of its appeal court."""

    code: str
    name: str
    appeal_code: str


#: the disposition of a first-instance loss, for a case that is not a compensation case (行政赔偿):
#: those are decided ``compensation`` when the agency loses, and nothing else is.
LOSS_WEIGHTS = Weighted({"revoked": 35, "partly_revoked": 8, "revoked_redo": 10, "ordered_to_perform": 15,
                         "ordered_to_pay": 4, "confirmed_illegal": 20, "confirmed_void": 1, "varied": 2,
                         "agreement_liability": 3, "compensation": 0})
NON_LOSS_WEIGHTS = Weighted({"claims_dismissed": 45, "suit_dismissed": 22, "withdrawn": 17,
                             "withdrawn_after_change": 8, "mediated": 5, "terminated": 3})
#: the reason a staff member stands in for the head, when one is given; mostly official duty
EXCUSE_WEIGHTS = Weighted({"official_duty": 3, "accident": 1, "force_majeure": 1, "other": 1})
# Cases that end without a judgment on the merits often end before any hearing.
_OFTEN_UNHEARD = frozenset(ev.NON_LOSSES) - MERITS_SET
#: chance that a first-instance conclusion is appealed, by disposition (about 30% overall)
APPEALED = {**{d: 0.5 for d in MERITS_SET}, "suit_dismissed": 0.4}
#: an appeal's result, by whether the agency lost at first instance: appeal courts reverse a loss
#: more often than a win, so appeals lower the loss rate a little.
RESULT_WEIGHTS = {True: Weighted({"upheld": 64, "reversed": 16, "remanded": 7, "withdrawn": 13}),
                  False: Weighted({"upheld": 76, "reversed": 4, "remanded": 7, "withdrawn": 13})}
#: a retrial's result; never a remand, which would need a new first-instance story after it
RETRIAL_WEIGHTS = Weighted({"upheld": 60, "reversed": 30, "remanded": 0, "withdrawn": 10})
#: the new outcome when an appeal or retrial turns a non-loss into a loss
REVERSED_INTO_LOSS = ("revoked", "confirmed_illegal", "ordered_to_perform")
#: attendances the 复议机关 falls back on instead of its usual habits (复议机关出庭率低)
RECONSIDERATION_ABSENT = Weighted({"lawyer_only": 5, "staff": 4, "none": 1})
#: a plausible wrong entry for each disposition, for corrections
DISPOSITION_FIXES = {
    "revoked": "partly_revoked", "partly_revoked": "revoked", "revoked_redo": "revoked",
    "ordered_to_perform": "confirmed_illegal", "ordered_to_pay": "ordered_to_perform",
    "confirmed_illegal": "revoked", "confirmed_void": "confirmed_illegal", "varied": "revoked",
    "agreement_liability": "compensation", "compensation": "agreement_liability",
    "claims_dismissed": "suit_dismissed", "suit_dismissed": "claims_dismissed",
    "withdrawn": "withdrawn_after_change", "withdrawn_after_change": "withdrawn",
    "mediated": "withdrawn", "terminated": "suit_dismissed",
}


def hearing_fields(agency: Agency, day: int, level: str, attendance: str, spoke: bool | None,
                   excuse: str | None, rng: random.Random) -> dict:
    """A hearing's payload: who attended for ``agency`` (a name and post), ``spoke`` only for a head."""
    fields = {"held_on": iso(day), "level": level, "attendance": attendance}
    if attendance in HEADS:
        fields["official"], fields["title"] = agency.head(attendance, rng)
        fields["spoke"] = spoke
    elif attendance == "staff":
        fields["official"], fields["title"] = agency.clerk(rng)
        if excuse:
            fields["excuse"] = excuse
    return fields


class Story:
    """Writes random case timelines for one log: the docket, the horizon and how often rare things happen."""

    def __init__(self, rng: random.Random, docket: Docket, today: dt.date | None,
                 duplicates: float, retrials: float, reconsidered: float = 0.0) -> None:
        self.rng = rng
        self.docket = docket
        self.last_day, self.cap = horizon(today)
        self.duplicates = duplicates
        self.retrials = retrials
        self.reconsidered = reconsidered  # the share of cases whose act the government upheld on reconsideration

    def case(self, court: Court, agency: Agency, habits: Habits, filed_day: int,
             misfiled: Agency | None = None, government: tuple[Agency, Habits] | None = None) -> Timeline:
        """One case from filing to its end or the horizon; ``misfiled`` names a wrong defendant logged and
        retracted first.  Where the ``government`` upheld the act on reconsideration (复议维持), it is a
        co-defendant (行政诉讼法 art. 26), named at filing or, now and then, added by the court later."""
        rng = self.rng
        cause = habits.cause_of(rng)
        compensation = cause == "行政赔偿"
        number = self.docket.number(court.code, year_of(filed_day), "行赔初" if compensation else "行初")
        case = Timeline(number, rng, self.last_day, self.cap)
        case.filed_day = filed_day
        filing = {"filed_on": iso(filed_day), "court": court.name, "agency": agency.name, "cause": cause}
        if rng.random() < 0.7:
            filing["plaintiff"] = plaintiff(rng)
        filing["field"] = agency.kind.field
        case.defendants.append((agency, habits))
        if government is not None and government[0] is not agency and rng.random() < self.reconsidered:
            if rng.random() < 0.15:
                case.to_add = government
            else:
                filing["co_defendants"] = [{"agency": government[0].name, "role": "reconsideration"}]
                case.defendants.append(government)
        try:
            if misfiled is not None:
                wrong = case.log("case_filed", filed_day, {**filing, "agency": misfiled.name, "field": misfiled.kind.field})
                case.amend("event_retracted", {"target": wrong["event_id"], "reason": "被告录入错误，撤回后重新立案"}, 0, 2)
            case.filing = case.log("case_filed", filed_day, filing)
            self._proceed(case, court, agency, habits, filed_day, compensation)
        except Horizon:
            pass
        return case

    def _proceed(self, case: Timeline, court: Court, agency: Agency, habits: Habits, day: int, compensation: bool) -> None:
        rng = self.rng
        day, disposition = self._first_instance(case, agency, habits, day, compensation)
        effective = disposition
        rounds = 0
        while rng.random() < APPEALED.get(disposition, 0.0) / (1 + rounds):
            rounds += 1
            day, result, effective = self._appeal(case, court, agency, habits, day, disposition, compensation)
            if result != "remanded":
                break
            day, disposition = self._first_instance(case, agency, habits, day, compensation)
            effective = disposition
        # Either way the case now has a standing conclusion and no pending appeal.
        if effective in MERITS_SET and rng.random() < self.retrials:
            self._retrial(case, agency, habits, day, effective)

    def _first_instance(self, case: Timeline, agency: Agency, habits: Habits, day: int,
                        compensation: bool) -> tuple[int, str]:
        rng = self.rng
        if rng.random() < habits.loss:
            disposition = "compensation" if compensation else LOSS_WEIGHTS.draw(rng)
        else:
            disposition = NON_LOSS_WEIGHTS.draw(rng)
        x = rng.random()
        if disposition in _OFTEN_UNHEARD and rng.random() < 0.5:
            hearings = 0
        else:
            hearings = 1 if x < 0.72 else 2 if x < 0.95 else 3
        for i in range(hearings):
            day += between(rng, 20, 75) if i == 0 else between(rng, 14, 45)
            self._hearing(case, day, "first")
            if case.to_add is not None:  # the court adds the 复议机关 the plaintiff left out
                day += between(rng, 1, 10)
                added, case.to_add = case.to_add, None
                case.log("defendant_added", day, {"added_on": iso(day), "agency": added[0].name, "role": "reconsideration"})
                case.defendants.append(added)
                case.added = added[0]
        if not hearings:
            day += between(rng, 15, 120)
        elif rng.random() >= 0.1:  # else decided in court on the day of the hearing (当庭宣判)
            day += between(rng, 3, 40)
        fields = {"decided_on": iso(day), "disposition": disposition}
        if len(case.defendants) > 1 and disposition not in LOSS_SET and rng.random() < 0.1:
            # art. 136: the act stands while the 复议决定 falls
            fields["dispositions"] = {case.defendants[1][0].name: "revoked"}
        case.conclusions.append(case.log("case_concluded", day, fields))
        return day, disposition

    def _hearing(self, case: Timeline, day: int, level: str) -> None:
        """A hearing day: one hearing_held for each defendant (naming it when there are several)."""
        rng = self.rng
        several = len(case.defendants) > 1
        for place, (agency, habits) in enumerate(case.defendants):
            # A correction may date a first hearing earlier, but not one of a defendant the court added
            # later: that would put it before the addition.
            movable = level == "first" and not case.conclusions and agency is not case.added
            attendance = habits.attendance_of(rng)
            if place and rng.random() < 0.5:
                attendance = RECONSIDERATION_ABSENT.draw(rng)
            spoke = rng.random() < habits.spoke if attendance in HEADS else None
            excuse = None
            if attendance == "staff" and rng.random() < habits.excused:
                excuse = EXCUSE_WEIGHTS.draw(rng)
            fields = hearing_fields(agency, day, level, attendance, spoke, excuse, rng)
            if several:
                fields["agency"] = agency.name
            if attendance in HEADS and rng.random() < 0.005:  # rare, and what art. 12 asks the court to report
                fields["left_early" if rng.random() < 0.5 else "refused_to_explain"] = True
            elif excuse and rng.random() < 0.1:
                fields["excuse_rejected"] = True
            event = case.log("hearing_held", day, fields)
            case.hearings.append((event, movable, agency))
            if rng.random() < self.duplicates:
                case.duplicates.append(case.log("hearing_held", day, fields))

    def _appeal(self, case: Timeline, court: Court, agency: Agency, habits: Habits, day: int,
                disposition: str, compensation: bool) -> tuple[int, str, str]:
        rng = self.rng
        day += between(rng, 5, 15)
        number = self.docket.number(court.appeal_code, year_of(day), "行赔终" if compensation else "行终")
        appellant = "both" if rng.random() < 0.1 else "agency" if disposition in LOSS_SET else "plaintiff"
        case.appeals.append(case.log("appeal_filed", day, {"filed_on": iso(day), "appeal_case": number, "appellant": appellant}))
        if rng.random() < 0.45:
            day += between(rng, 20, 80)
            self._hearing(case, day, "second")
            if rng.random() < 0.15:
                day += between(rng, 14, 40)
                self._hearing(case, day, "second")
            day += between(rng, 3, 60)
        else:
            day += between(rng, 30, 120)
        result = RESULT_WEIGHTS[disposition in LOSS_SET].draw(rng)
        fields = {"decided_on": iso(day), "result": result}
        effective = disposition
        if result == "reversed":
            effective = fields["disposition"] = _reversal(disposition, rng)
        case.log("appeal_decided", day, fields)
        return day, result, effective

    def _retrial(self, case: Timeline, agency: Agency, habits: Habits, day: int, effective: str) -> None:
        rng = self.rng
        day += between(rng, 120, 400)
        if rng.random() < 0.7:
            self._hearing(case, day, "retrial")
        day += between(rng, 20, 90)
        result = RETRIAL_WEIGHTS.draw(rng)
        fields = {"decided_on": iso(day), "result": result}
        if result == "reversed":
            fields["disposition"] = _reversal(effective, rng)
        case.log("retrial_decided", day, fields)

    def amend(self, case: Timeline, agency: Agency) -> None:
        """Correct or retract one event of ``case`` months later, keeping the case valid."""
        rng = self.rng
        x = rng.random()
        if x < 0.7 and case.hearings:
            event, movable, attended_for = case.hearings[int(rng.random() * len(case.hearings))]
            type_, fields = _hearing_fix(event, movable, case.filed_day, attended_for, rng)
        elif x < 0.85 and case.conclusions:
            event = case.conclusions[int(rng.random() * len(case.conclusions))]
            type_, fields = "event_corrected", {"changes": {"disposition": DISPOSITION_FIXES[event["disposition"]]},
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
                type_, fields = "event_corrected", {"changes": {"plaintiff": plaintiff(rng)}, "reason": "原告姓名录入有误"}
            else:
                type_, fields = "event_corrected", {"changes": {"cause": cause}, "reason": "案由录入有误"}
        else:
            return
        try:
            case.amend(type_, {"target": event["event_id"], **fields}, 30, 400)
        except Horizon:
            pass

    def retract_duplicates(self, case: Timeline) -> None:
        """Retract the hearings logged twice, weeks later."""
        try:
            for duplicate in case.duplicates:
                case.amend("event_retracted", {"target": duplicate["event_id"], "reason": "重复录入"}, 7, 60)
        except Horizon:
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
    return REVERSED_INTO_LOSS[int(rng.random() * len(REVERSED_INTO_LOSS))]


def _hearing_fix(event: dict, movable: bool, filed_day: int, agency: Agency, rng: random.Random) -> tuple[str, dict]:
    """A correction or retraction of a hearing that keeps ``spoke`` iff a head attended."""
    attendance = event["attendance"]
    x = rng.random()
    if movable and x < 0.15:
        held = ordinal(event["held_on"])
        if held > filed_day:
            # Earlier, but not before filing: still before the first conclusion, whatever followed.
            new = iso(held - between(rng, 1, min(20, held - filed_day)))
            return "event_corrected", {"changes": {"held_on": new}, "reason": "开庭日期录入有误"}
    if x > 0.8:
        return "event_retracted", {"reason": "误录，该次庭审未进行"}
    if attendance in HEADS:
        if x < 0.45:
            official, title = agency.clerk(rng)
            changes = {"attendance": "staff", "spoke": None, "official": official, "title": title,
                       **{flag: None for flag in ("left_early", "refused_to_explain") if flag in event}}
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
    if "excuse_rejected" in event:
        changes["excuse_rejected"] = None
    return "event_corrected", {"changes": changes, "reason": "核对庭审笔录，实为副职负责人出庭"}


def merged(records: list[tuple[int, dict]]) -> Iterator[dict]:
    """The events of many timelines in the order they were recorded."""
    records.sort(key=itemgetter(0))  # stable: events recorded in the same second keep their order
    return (event for _, event in records)


