"""The demo city: a fictitious city's log over several years, for `caselog demo` and the reviewer's tests."""

from __future__ import annotations

import datetime as dt
import random
from typing import Iterator

from caselog import events as ev

from .agencies import KINDS, Agency, Kind
from .draws import cumulative, pick
from .story import DAY, Court, Docket, Story, event_id, merged, stamp

#: The city's three first-instance courts, all appealing to one intermediate court.
COURTS = (
    Court("浙0302", "城东区人民法院", "浙03"),
    Court("浙0303", "城西区人民法院", "浙03"),
    Court("浙0381", "临江市人民法院", "浙03"),
)
COURT_WEIGHTS = cumulative((5, 3, 2))

#: The demo's own defendants besides the ten kinds: a district department and two townships (乡镇街道),
#: sued now and then, so that the figures by level and region have more than the city's own agencies.
LOCAL_KINDS = (
    Kind("城西区市场监管局", "市场监管", 3, ("局长", "副局长", "党组成员"), "执法大队队员",
         (2, 20, 6, 40, 26, 6), (4, 48, 10, 30, 8, 0), 0.3, 0.5, 1.0,
         (("行政处罚", 70), ("行政登记", 15), ("政府信息公开", 15))),
    Kind("城东区东山街道办事处", "街道", 3, ("主任", "副主任", "党工委委员"), "综合执法队队员",
         (1, 16, 8, 40, 25, 10), (2, 40, 14, 34, 10, 0), 0.2, 0.45, 1.6,
         (("行政强制执行", 40), ("不履行职责", 30), ("政府信息公开", 20), ("行政处罚", 10))),
    Kind("临江市江口镇人民政府", "乡镇", 2, ("镇长", "副镇长", "党委委员"), "镇司法所工作人员",
         (1, 14, 8, 42, 25, 10), (2, 36, 16, 36, 10, 0), 0.2, 0.4, 1.7,
         (("行政强制执行", 40), ("行政征收或者征用", 30), ("不履行职责", 30))),
)
DEMO_KINDS = KINDS + LOCAL_KINDS
_KIND_WEIGHTS = cumulative(kind.weight for kind in DEMO_KINDS)
#: Each defendant's level and region (区县) in the registry the demo begins with.
REGISTRY = {
    "市人民政府": ("city_gov", "市本级"), "城东区人民政府": ("county_gov", "城东区"),
    "城西区市场监管局": ("county_dept", "城西区"), "城东区东山街道办事处": ("township", "城东区"),
    "临江市江口镇人民政府": ("township", "临江市"),
}
#: The registry's history before the first case: the 自然资源和规划局 registered under its name before the
#: reform (机构改革), the 公安局 under a short name too, and the 城东区人民政府 first put in the wrong region.
_FORMER_NAME = ("市国土资源局", "市自然资源和规划局")
_ALIAS = ("市公安局", "公安局")
_MISPLACED = ("城东区人民政府", "市本级")


def registry_events(rng: random.Random, first_year: int) -> list[tuple[int, dict]]:
    """The registry of the demo's defendants, logged on the morning of 1 January of ``first_year``."""
    old, new = _FORMER_NAME
    registered = []
    for kind in DEMO_KINDS:
        level, region = REGISTRY.get(kind.name, ("city_dept", "市本级"))
        registered.append({"agency": old if kind.name == new else kind.name, "agency_level": level,
                           "region": _MISPLACED[1] if kind.name == _MISPLACED[0] else region})
    fields = [("agency_registered", r) for r in registered] + [
        ("agency_aliased", {"agency": _ALIAS[0], "alias": _ALIAS[1]}),
        ("agency_renamed", {"agency": old, "new_name": new, "renamed_on": f"{first_year - 1}-12-28"}),
        ("agency_updated", {"agency": _MISPLACED[0], "region": REGISTRY[_MISPLACED[0]][1]}),
    ]
    start = dt.date(first_year, 1, 1).toordinal() * DAY + 8 * 3600
    out = []
    for n, (type_, payload) in enumerate(fields):
        ts = start + 60 * n
        out.append((ts, {"type": type_, "case": ev.REGISTRY, **payload, "event_id": event_id(rng, ts),
                         "recorded_at": stamp(ts), "recorded_by": "clerk-a"}))
    return out


def demo_city(seed: int = 2022, first_year: int = 2019, last_year: int | None = None,
              today: dt.date | None = None) -> Iterator[dict]:
    """A fictitious city's log: cases filed from ``first_year`` to ``last_year``, followed to ``today``.

    ``last_year`` defaults to the last complete year before ``today``.  The log
    begins with the registry of its agencies (levels and regions, an alias, a rename
    and a correction of a region).  Thirteen agencies with their own habits (the 自然资源和规划局 mostly sends its
    principal, the 公安局 deputies who rarely speak, the 市场监管局 staff or only
    its lawyers), 150-300 cases a year with filings and losses falling and
    appearances rising, about 30% of conclusions appealed (upheld, reversed
    either way, remanded, withdrawn), a few retrials, duplicate entries and
    misfiled cases retracted, and a few dozen late corrections.  About one case in
    eight has the 市人民政府 as a co-defendant: it upheld the act on reconsideration.
    A district department and two townships are sued now and then.
    """
    today = today or dt.date.today()
    last_year = today.year - 1 if last_year is None else last_year
    if last_year < first_year:
        raise ValueError(f"last_year {last_year} is before first_year {first_year}")
    rng = random.Random(seed)
    story = Story(rng, Docket(rng, gaps=True), today, duplicates=0.002, retrials=0.01, reconsidered=0.12)
    agencies = [Agency(kind.name, kind, rng) for kind in DEMO_KINDS]
    government = next(i for i, kind in enumerate(DEMO_KINDS) if kind.field == "政府" and kind.name.startswith("市"))
    records = registry_events(rng, first_year)
    for year in range(first_year, last_year + 1):
        progress = (year - first_year) / max(1, last_year - first_year)
        habits = [kind.habits(progress) for kind in DEMO_KINDS]
        count = min(300, max(150, round(280 * 0.93 ** (year - first_year) * (0.93 + 0.14 * rng.random()))))
        start = dt.date(year, 1, 2).toordinal()
        length = dt.date(year, 12, 31).toordinal() - start
        for filed_day in sorted(start + int(rng.random() * length) for _ in range(count)):
            if filed_day > story.last_day:
                break
            index = pick(range(len(DEMO_KINDS)), _KIND_WEIGHTS, rng)
            court = pick(COURTS, COURT_WEIGHTS, rng)
            misfiled = agencies[(index + 1) % len(agencies)] if rng.random() < 0.002 else None
            case = story.case(court, agencies[index], habits[index], filed_day, misfiled,
                              (agencies[government], habits[government]))
            story.retract_duplicates(case)
            if rng.random() < 0.025:
                story.amend(case, agencies[index])
            records.extend(case.records)
    return merged(records)
