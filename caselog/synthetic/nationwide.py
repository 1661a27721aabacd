"""The national log: a large stream of valid events over many courts, for benchmarks, made lazily."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
from typing import Iterator

from .agencies import KINDS, Agency, Habits, kind_index
from .story import DAY, Court, Docket, Story, year_of

_PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"
_CITY_FIRST = "东西南北安永宁长平清新兴和泰"
_CITY_SECOND = "江山川阳河州城源丰德昌华阴兴"
_DISTRICTS = ("城东", "城西", "江南", "江北")


def _national_courts(rng: random.Random) -> list[tuple[Court, tuple[Agency, ...]]]:
    """Courts of six cities in each province, four district courts a city, each with its defendants."""
    courts = []
    names = (a + b for a in _CITY_FIRST for b in _CITY_SECOND)
    for province in _PROVINCES:
        for city_number in range(1, 7):
            city = next(names)
            municipal = {kind.name: Agency(city + kind.name, kind, rng) for kind in KINDS if kind.name.startswith("市")}
            for district_number, district in enumerate(_DISTRICTS, start=2):
                code = f"{province}{city_number:02d}{district_number:02d}"
                court = Court(code, f"{city}市{district}区人民法院", f"{province}{city_number:02d}")
                agencies = tuple(
                    municipal.get(kind.name) or Agency(f"{city}市{district}区人民政府", kind, rng) for kind in KINDS
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
    story = Story(rng, Docket(rng, gaps=False), today, duplicates=0.001, retrials=0.005, reconsidered=0.1)
    government = next(i for i, kind in enumerate(KINDS) if kind.name == "市人民政府")
    courts = _national_courts(rng)
    first_year = today.year - 6
    first = dt.date(first_year, 1, 1).toordinal()
    # Plan the cases over five years; filing goes on at that pace to the horizon if the events run short.
    step = (dt.date(first_year + 5, 1, 1).toordinal() - first) / max(64, n_events // 4)
    habits: dict[tuple[int, int], Habits] = {}
    heap: list[tuple[int, int, dict]] = []
    sequence = itertools.count()
    for i in itertools.count():
        filed_day = first + int(i * step)
        if filed_day > story.last_day:
            break
        # No case filed on or after filed_day logs anything before the next day.
        bound = (filed_day + 1) * DAY
        while heap and heap[0][0] < bound:
            yield heapq.heappop(heap)[2]
        court, agencies = courts[int(rng.random() * len(courts))]
        index = kind_index(rng)
        year = year_of(filed_day)
        key = (index, year)
        if key not in habits:
            habits[key] = KINDS[index].habits(min(1.0, (year - first_year) / 5))
        if (government, year) not in habits:
            habits[(government, year)] = KINDS[government].habits(min(1.0, (year - first_year) / 5))
        case = story.case(court, agencies[index], habits[key], filed_day,
                          government=(agencies[government], habits[(government, year)]))
        story.retract_duplicates(case)
        if rng.random() < 0.04:
            story.amend(case, agencies[index])
        for ts, event in case.records:
            heapq.heappush(heap, (ts, next(sequence), event))
    while heap:
        yield heapq.heappop(heap)[2]
