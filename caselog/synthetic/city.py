"""The demo city: a fictitious city's log over several years, for `caselog demo` and the reviewer's tests."""

from __future__ import annotations

import datetime as dt
import random
from typing import Iterator

from .agencies import KINDS, Agency, kind_index
from .draws import cumulative, pick
from .story import Court, Docket, Story, merged

#: The city's three first-instance courts, all appealing to one intermediate court.
COURTS = (
    Court("浙0302", "城东区人民法院", "浙03"),
    Court("浙0303", "城西区人民法院", "浙03"),
    Court("浙0381", "临江市人民法院", "浙03"),
)
COURT_WEIGHTS = cumulative((5, 3, 2))


def demo_city(seed: int = 2022, first_year: int = 2019, last_year: int | None = None,
              today: dt.date | None = None) -> Iterator[dict]:
    """A fictitious city's log: cases filed from ``first_year`` to ``last_year``, followed to ``today``.

    ``last_year`` defaults to the last complete year before ``today``.  Ten
    agencies with their own habits (the 自然资源和规划局 mostly sends its
    principal, the 公安局 deputies who rarely speak, the 市场监管局 staff or only
    its lawyers), 150-300 cases a year with filings and losses falling and
    appearances rising, about 30% of conclusions appealed (upheld, reversed
    either way, remanded, withdrawn), a few retrials, duplicate entries and
    misfiled cases retracted, and a few dozen late corrections.  About one case in
    eight has the 市人民政府 as a co-defendant: it upheld the act on reconsideration.
    """
    today = today or dt.date.today()
    last_year = today.year - 1 if last_year is None else last_year
    if last_year < first_year:
        raise ValueError(f"last_year {last_year} is before first_year {first_year}")
    rng = random.Random(seed)
    story = Story(rng, Docket(rng, gaps=True), today, duplicates=0.002, retrials=0.01, reconsidered=0.12)
    agencies = [Agency(kind.name, kind, rng) for kind in KINDS]
    government = next(i for i, kind in enumerate(KINDS) if kind.field == "政府" and kind.name.startswith("市"))
    records: list[tuple[int, dict]] = []
    for year in range(first_year, last_year + 1):
        progress = (year - first_year) / max(1, last_year - first_year)
        habits = [kind.habits(progress) for kind in KINDS]
        count = min(300, max(150, round(280 * 0.93 ** (year - first_year) * (0.93 + 0.14 * rng.random()))))
        start = dt.date(year, 1, 2).toordinal()
        length = dt.date(year, 12, 31).toordinal() - start
        for filed_day in sorted(start + int(rng.random() * length) for _ in range(count)):
            if filed_day > story.last_day:
                break
            index = kind_index(rng)
            court = pick(COURTS, COURT_WEIGHTS, rng)
            misfiled = agencies[(index + 1) % len(agencies)] if rng.random() < 0.002 else None
            case = story.case(court, agencies[index], habits[index], filed_day, misfiled,
                              (agencies[government], habits[government]))
            story.retract_duplicates(case)
            if rng.random() < 0.025:
                story.amend(case, agencies[index])
            records.extend(case.records)
    return merged(records)
