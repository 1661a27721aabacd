"""The case rules: a case's state is a fold over its events, and ``decide`` checks
a new event against docs/domain.md before it may be logged, raising ``RuleViolation``.

Rules compare business dates, not the order of logging, so the fold replays a
case's effective events (corrections applied, retractions dropped) in
business-date order.  An event dated on or after everything the case already
holds is simply the next step of that replay, which is how nearly every event
arrives; only those (and corrections and retractions) need the full replay.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Callable, Iterable

from caselog import events as ev
from caselog.errors import RuleViolation

ENVELOPE_KEYS = frozenset(
    {"case", "type", "event_id", "recorded_at", "recorded_by", "version", "position",
     "schema_version", "payload_sha256", "hash"}
)


class Appeal:
    """The appeal against the standing conclusion and, once decided, its decision."""

    __slots__ = ("appeal_case", "decided_on", "result")

    def __init__(self, appeal_case: str, decided_on: str | None = None, result: str | None = None):
        self.appeal_case = appeal_case
        self.decided_on = decided_on
        self.result = result

    @property
    def pending(self) -> bool:
        return self.decided_on is None


class CaseState:
    """What the rules need to know of a case; kept small, as thousands are cached.

    (What the case adds up to for the figures is read by the projections' SQL.)
    """

    __slots__ = ("case", "version", "filed_on", "concluded_on", "appealed", "appeal", "max_date", "defendants")

    def __init__(self, case: str):
        self.case = case
        self.version = 0  # events logged for the case, corrections and retractions included
        self.filed_on: str | None = None  # None until filed (and after the filing is retracted)
        self.concluded_on: str | None = None  # the standing first-instance conclusion
        self.appealed = False  # an appeal was filed against the standing conclusion
        self.appeal: Appeal | None = None  # the latest appeal
        self.max_date = ""  # the latest business date among the effective events
        self.defendants: tuple[str, ...] = ()  # the first defendant, then the others as they joined

    def copy(self) -> "CaseState":
        clone = CaseState.__new__(CaseState)
        clone.case, clone.version, clone.filed_on = self.case, self.version, self.filed_on
        clone.concluded_on, clone.appealed, clone.appeal = self.concluded_on, self.appealed, self.appeal
        clone.max_date, clone.defendants = self.max_date, self.defendants
        return clone


CACHED_STATES = 100_000  # a big import's case states held at once (tens of MB)


class StateCache:
    """The most recently used case states, so a big import holds a bounded number.

    A case let go is folded again from its logged history when it comes back.
    """

    def __init__(self, load: Callable[[str, int], CaseState], size: int | None = None):
        self.load = load  # (case, before position) -> the case's state from the log
        self.size = size or CACHED_STATES
        self.states: dict[str, CaseState] = {}  # least recently used first: a state taken is put back last

    def take(self, case: str, position: int) -> CaseState:
        """The case's state before ``position``, removed until ``put`` back."""
        state = self.states.pop(case, None)
        return state if state is not None else self.load(case, position)

    def put(self, case: str, state: CaseState) -> None:
        self.states[case] = state
        if len(self.states) > self.size:
            # The least recently used tenth goes at once: finding a dict's oldest entries walks
            # past every slot freed before them, so once per tenth rather than once per case.
            # (An OrderedDict finds its oldest at once but took twice as long to take and put.)
            for oldest in list(itertools.islice(self.states, self.size // 10 or 1)):
                del self.states[oldest]


def _date_of(event: ev.Event) -> str:
    return ev.business_date(event) or ""


def _step(state: CaseState, event: ev.Event, today: str | None, date: str | None = None) -> CaseState:
    """Apply one non-meta event in business-date order; with ``today``, check it first.
    ``date``: the event's business date, if the caller has it already."""
    if date is None:
        date = _date_of(event)
    kind = event.TYPE
    if today is not None:
        _check(state, event, date, today)
    new = state.copy()
    if date > new.max_date:
        new.max_date = date
    if kind == "case_filed":
        new.filed_on = event.filed_on
        new.defendants = (event.agency, *(d["agency"] for d in event.co_defendants or ()))
    elif kind == "defendant_added":
        new.defendants = (*new.defendants, event.agency)
    elif kind == "case_concluded":
        new.concluded_on = event.decided_on
        new.appealed = False
    elif kind == "appeal_filed":
        new.appeal = Appeal(event.appeal_case)
        new.appealed = True
    elif kind in ("appeal_decided", "retrial_decided"):
        if kind == "appeal_decided":
            new.appeal = Appeal(new.appeal.appeal_case, event.decided_on, event.result)
        if event.result == "remanded":
            new.concluded_on = None
    return new


def _check(state: CaseState, event: ev.Event, date: str, today: str) -> None:
    kind = event.TYPE
    filed_on = state.filed_on
    if kind == "case_filed":
        if filed_on is not None:
            raise RuleViolation(f"case {state.case} is already filed (on {filed_on})")
    elif filed_on is None:
        raise RuleViolation(f"case {state.case} was never filed: log case_filed for it first")
    elif date < filed_on:
        raise RuleViolation(f"{kind} dated {date} is before the case was filed on {filed_on}")
    if date > today:
        raise RuleViolation(f"{kind} dated {date} is after today ({today})")
    appeal = state.appeal
    pending = appeal is not None and appeal.pending
    _check_defendants(state, event)
    if kind == "hearing_held":
        if event.level == "first":
            if state.concluded_on is not None and date > state.concluded_on:
                raise RuleViolation(
                    f"a first-instance hearing on {date} is after the case was concluded on "
                    f"{state.concluded_on} (only a remand reopens it)"
                )
        elif event.level == "second":
            if appeal is None:
                raise RuleViolation(f"a second-instance hearing on {date} needs an appeal, and none was filed by then")
            if appeal.decided_on is not None and date > appeal.decided_on:
                raise RuleViolation(
                    f"a second-instance hearing on {date} is after the appeal {appeal.appeal_case} "
                    f"was decided on {appeal.decided_on}"
                )
        else:
            _check_retrial(state, pending, date, "a retrial hearing")
    elif kind == "case_concluded":
        if state.concluded_on is not None:
            raise RuleViolation(
                f"case {state.case} was already concluded on {state.concluded_on}: "
                "a second conclusion needs a remand first"
            )
    elif kind == "appeal_filed":
        if state.concluded_on is None:
            raise RuleViolation(f"an appeal filed on {date} needs a standing first-instance conclusion, and there is none by then")
        if pending:
            raise RuleViolation(f"the appeal {appeal.appeal_case} is still pending: one appeal at a time")
        if state.appealed:
            raise RuleViolation(
                f"the appeal {appeal.appeal_case} was already decided ({appeal.result}): "
                "only a remand and a new conclusion open the way to a new appeal"
            )
    elif kind == "appeal_decided":
        if not pending:
            raise RuleViolation(f"an appeal decision dated {date} has no pending appeal to decide on that date")
    elif kind == "retrial_decided":
        _check_retrial(state, pending, date, "a retrial decision")


def _check_defendants(state: CaseState, event: ev.Event) -> None:
    """The defendants an event names are the case's; a hearing of a case with several names one."""
    kind = event.TYPE
    defendants = state.defendants
    if kind == "defendant_added":
        if event.agency in defendants:
            raise RuleViolation(f"{event.agency} is already a defendant of case {state.case}")
    elif kind == "hearing_held":
        if event.agency is None:
            if len(defendants) > 1:
                raise RuleViolation(f"case {state.case} has several defendants ({', '.join(defendants)}): "
                                    "name the one whose attendance this hearing records")
        elif event.agency not in defendants:
            raise RuleViolation(f"{event.agency} is not a defendant of case {state.case} ({', '.join(defendants)})")
    elif kind in ("case_concluded", "appeal_decided", "retrial_decided") and event.dispositions:
        strangers = [name for name in event.dispositions if name not in defendants]
        if strangers:
            raise RuleViolation(f"dispositions name {ev.listed(strangers)}, not a defendant of case {state.case} "
                                f"({', '.join(defendants)})")


def _check_retrial(state: CaseState, pending: bool, date: str, what: str) -> None:
    if state.concluded_on is None:
        raise RuleViolation(f"{what} on {date} needs a standing first-instance conclusion")
    if pending:
        raise RuleViolation(f"{what} on {date} is not allowed while an appeal is pending")


def apply_changes(target: ev.Event, changes: dict) -> ev.Event:
    """The target event as a correction's ``changes`` would make it."""
    fields = ev.FIELDS[target.TYPE]
    for key in changes:
        if key in ENVELOPE_KEYS:
            raise RuleViolation(f"a correction cannot change {key!r}: retract the event and log it again")
        if key not in fields:
            raise RuleViolation(f"{target.TYPE} has no field {key!r} to correct (fields: {', '.join(fields)})")
    payload = {**ev.payload(target), **changes}
    try:
        return ev.make(target.TYPE, {k: v for k, v in payload.items() if v is not None})
    except ValueError as error:
        raise RuleViolation(f"the corrected {target.TYPE} would be invalid: {error}") from None


def effective(history: Iterable[ev.Recorded], check: bool = True) -> list[tuple[str, int, ev.Event]]:
    """The case's events that stand, corrections applied, as (event_id, position, event) in log order."""
    standing: dict[str, list] = {}  # event_id -> [position, event, retracted]
    meta: set[str] = set()
    for rec in history:
        event = rec.event
        if event.TYPE == ev.PayloadRedacted.TYPE:  # the target was rewritten without the field: nothing to apply
            continue
        if event.TYPE not in ev.META_TYPES:
            standing[rec.event_id] = [rec.position, event, False]
            continue
        entry = standing.get(event.target)
        if check:
            _check_meta(standing, meta, rec, entry)
        meta.add(rec.event_id)
        if entry is None:
            continue
        if event.TYPE == "event_corrected":
            entry[1] = apply_changes(entry[1], event.changes)
        else:
            entry[2] = True
    return [(eid, pos, event) for eid, (pos, event, retracted) in standing.items() if not retracted]


def _check_meta(standing: dict[str, list], meta: set[str], rec: ev.Recorded, entry: list | None) -> None:
    event = rec.event
    verb = "corrected" if event.TYPE == "event_corrected" else "retracted"
    if event.target in meta:
        raise RuleViolation(f"event {event.target} is itself a correction or retraction: it cannot be {verb}")
    if entry is None:
        raise RuleViolation(f"unknown event {event.target} in case {rec.case}: nothing to be {verb}")
    if entry[2]:
        raise RuleViolation(f"event {event.target} is retracted and cannot be {verb} again")
    if event.TYPE == "event_retracted" and entry[1].TYPE == "case_filed":
        others = [e for e in standing.values() if not e[2] and e is not entry]
        if others:
            raise RuleViolation(
                f"case_filed of {rec.case} can be retracted only when nothing else of the case stands "
                f"({len(others)} event(s) still do: retract them first)"
            )


def _replay_key(item: tuple[str, int, ev.Event]) -> tuple[bool, str, int]:
    # The filing goes first so that an event dated before it is named as such.
    return (item[2].TYPE != "case_filed", _date_of(item[2]), item[1])


def fold(case: str, history: list[ev.Recorded], today: str | None = None) -> CaseState:
    """Replay a case's whole history; with ``today`` every rule is checked on the way."""
    state = CaseState(case)
    for event_id, position, event in sorted(effective(history, today is not None), key=_replay_key):
        try:
            state = _step(state, event, today)
        except RuleViolation as error:
            if position == history[-1].position:
                raise
            raise RuleViolation(f"this would break {event.TYPE} {event_id}: {error}") from None
    state.version = len(history)
    return state


def _too_early(what: str, date: str) -> RuleViolation:
    # Checked for what is entered only (see ``decide``): a log holding such a date from before
    # this rule still replays, rebuilds and verifies, and its cases take new events.
    return RuleViolation(f"{what} {date} is before {ev.EARLIEST_DATE}, earlier than this log accepts: check the year")


def decide(state: CaseState, new: ev.Recorded, history: Callable[[], list[ev.Recorded]],
           today: dt.date | None = None, entering: bool = True) -> CaseState:
    """The state ``new`` leads to, or RuleViolation if it breaks a rule of docs/domain.md.

    ``history`` loads the case's logged events; it is called only when the new
    event does not simply follow the others (corrections, retractions, events
    dated before the latest the case holds).  ``entering``: the event is new, so the rules that
    apply only to what is entered now (no date before EARLIEST_DATE) apply too; a replay of the
    log as it was written leaves them out.
    """
    day = (today or dt.date.today()).isoformat()
    event = new.event
    if event.TYPE == ev.PayloadRedacted.TYPE:  # removes a name no rule reads: the case is as it was
        result = state.copy()
        result.version = state.version + 1
        return result
    if event.TYPE not in ev.META_TYPES:
        date = _date_of(event)
        if entering and date < ev.EARLIEST_DATE:
            raise _too_early(f"{event.TYPE} dated", date)
        if date >= state.max_date:  # it simply follows everything the case holds: no replay needed
            result = _step(state, event, day, date)
            result.version = state.version + 1
            return result
    elif event.TYPE == "event_corrected" and entering:
        for name, value in event.changes.items():
            if name in ev.DATE_FIELDS and isinstance(value, str) and value < ev.EARLIEST_DATE:
                raise _too_early(f"the corrected {name}", value)
    return fold(state.case, history() + [new], day)
