"""The seed report's city: a log built row by row so that its yearly figures are the report's.

The standing committee's report (seed/000_f710ed17ccad33b0.txt) says: "出庭应诉率99.5%,较2021年同期
提高5.27个百分点"; "败诉15件(经二审核减1件),败诉率4.9%"; three years of falling filings and loss
rates; deputies mostly attend and heads are often silent.  :func:`seed_city` tells the cases of
``_SEED_ROWS`` with the demo city's courts and agencies; :data:`SEED_CITY_2022` is the answer key,
worked out by hand from the rows, that tests/test_seed_report.py checks the summary against.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Iterator

from caselog.synthetic.agencies import KINDS, Agency, kind_index
from caselog.synthetic.city import COURT_WEIGHTS, COURTS
from caselog.synthetic.draws import between, pick, plaintiff
from caselog.synthetic.story import Court, Docket, Timeline, hearing_fields, horizon, iso, merged, year_of

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
    last_day, cap = horizon(today)
    docket = Docket(rng, gaps=True)
    agencies = [Agency(kind.name, kind, rng) for kind in KINDS]
    plans = []
    for (year, cohort), rows in _SEED_ROWS.items():
        for row in rows:
            for _ in range(row[0]):
                plans.append((_seed_filing_day(rng, year, cohort, row), len(plans), cohort, row))
    plans.sort()
    records: list[tuple[int, dict]] = []
    for filed_day, _, cohort, row in plans:
        agency = agencies[kind_index(rng)]
        court = pick(COURTS, COURT_WEIGHTS, rng)
        records.extend(_seed_case(rng, docket, court, agency, filed_day, cohort, row, last_day, cap).records)
    # A case registered twice by mistake: the copy is retracted, so it was never filed.
    filed_day = dt.date(2022, 6, 13).toordinal()
    agency = agencies[6]
    copy = Timeline(docket.number(COURTS[0].code, 2022, "行初"), rng, last_day, cap)
    wrong = copy.log("case_filed", filed_day, {"filed_on": iso(filed_day), "court": COURTS[0].name,
                                                "agency": agency.name, "cause": "政府信息公开", "field": agency.kind.field})
    copy.amend("event_retracted", {"target": wrong["event_id"], "reason": "重复立案"}, 3, 10)
    records.extend(copy.records)
    return merged(records)


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
    return between(rng, first.toordinal(), last.toordinal())


def _seed_case(rng: random.Random, docket: Docket, court: Court, agency: Agency, filed_day: int,
               cohort: str, row: tuple, last_day: int, cap: int) -> Timeline:
    """One seed-city case told as its row says; the longest gaps still end the story in its year."""
    _, hearings, disposition, appeal = row
    kind = agency.kind
    cause = kind.habits(0).cause_of(rng)
    compensation = cause == "行政赔偿"
    year = year_of(filed_day)
    case = Timeline(docket.number(court.code, year, "行赔初" if compensation else "行初"), rng, last_day, cap)
    case.filed_day = filed_day
    fields = {"filed_on": iso(filed_day), "court": court.name, "agency": agency.name, "cause": cause,
              "plaintiff": plaintiff(rng), "field": kind.field}
    case.log("case_filed", filed_day, fields)
    fixes: list[tuple[str, dict]] = []
    if cohort == "A":
        start, gap, unheard = filed_day, (25, 45), filed_day + between(rng, 20, 60)
    else:
        start, gap = dt.date(year + 1, 1, 8).toordinal(), (0, 50)
        unheard = dt.date(year + 1, 1, 5).toordinal() + between(rng, 0, 85)
    day = _seed_hearings(case, agency, hearings, "first", start, gap, fixes)
    day = day + between(rng, 0, 20) if hearings else unheard
    logged, _, fixed = disposition.partition(">")
    concluded = case.log("case_concluded", day, {"decided_on": iso(day), "disposition": logged})
    if fixed:
        fixes.append(("event_corrected", {"target": concluded["event_id"], "changes": {"disposition": fixed},
                                          "reason": "被告改变原行政行为后原告撤诉，结案方式更正"}))
    if appeal is not None:
        appellant, second, result, *after = appeal
        day += between(rng, 3, 15)
        number = docket.number(court.appeal_code, year_of(day), "行赔终" if compensation else "行终")
        case.log("appeal_filed", day, {"filed_on": iso(day), "appeal_case": number, "appellant": appellant})
        if second:
            day = _seed_hearings(case, agency, second, "second", day, (20, 40), fixes) + between(rng, 10, 40)
        else:
            day += between(rng, 30, 80)
        decision = {"decided_on": iso(day), "result": result}
        if result == "reversed":
            decision["disposition"] = after[0]
        case.log("appeal_decided", day, decision)
        if result == "remanded":
            again, disposition = after[0]
            day = _seed_hearings(case, agency, again, "first", day, (20, 40), fixes) + between(rng, 10, 30)
            case.log("case_concluded", day, {"decided_on": iso(day), "disposition": disposition})
    for type_, fix in fixes:
        case.amend(type_, fix, 60, 120)
    return case


def _seed_hearings(case: Timeline, agency: Agency, codes: str, level: str, day: int,
                   gap: tuple[int, int], fixes: list[tuple[str, dict]]) -> int:
    """Log the hearings ``codes`` from ``day`` on, note their late fixes; return the last hearing's date."""
    rng = case.rng
    for i, code in enumerate(codes.split(",") if codes else ()):
        day += between(rng, *gap) if i == 0 else between(rng, 15, 30)
        logged, _, fixed = code.partition(">")
        mark = logged[-1] if logged[-1] in "*~" else ""
        attendance, spoke, excuse = _SEED_CODES[logged.rstrip("*~")]
        fields = hearing_fields(agency, day, level, attendance, spoke, excuse, rng)
        if mark == "~":
            wrong = {**fields, "held_on": iso(case.filed_day + 5)}
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
            changes = {k: v for k, v in hearing_fields(agency, day, level, attendance, spoke, excuse, rng).items()
                       if k not in ("held_on", "level")}
            changes.update({k: None for k in ("spoke", "excuse", "official", "title") if k in fields and k not in changes})
            fixes.append(("event_corrected", {"target": event["event_id"], "changes": changes,
                                              "reason": "核对庭审笔录，更正出庭人员"}))
    return day
