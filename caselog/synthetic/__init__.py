"""Deterministic generators of realistic, valid logs, for demos and benchmarks.

Every generator yields events as dicts in the JSON Lines interchange format of
docs/domain.md: ``type``, ``case``, the payload fields, and the envelope keys
``event_id``, ``recorded_at`` and ``recorded_by``.  They come in
non-decreasing ``recorded_at`` order, and appending them in that order breaks
no rule, so any prefix is a valid log too.

- :func:`demo_city` (``city.py``): a fictitious city over several years, for demos.
- :func:`national` (``nationwide.py``): a large stream for benchmarks, generated lazily.
- :func:`write_jsonl`: writes any of them as JSON Lines.

``story.py`` tells one case from filing to its end; ``agencies.py`` holds the
defendants and their habits; ``draws.py`` the random draws.  The seed report's
city, whose figures the tests check, is a test fixture (``tests/seed_city.py``).

Randomness comes only from a seeded :class:`random.Random`; ``today`` only
cuts the stories off (no business date after ``today`` - 5 days, nothing
logged after ``today`` - 2 days, so the log is never ahead of the clock in any
time zone).
"""

from __future__ import annotations

import json
from typing import IO, Iterable

from .city import demo_city
from .nationwide import national

__all__ = ["demo_city", "national", "write_jsonl"]


def write_jsonl(events: Iterable[dict], fh: IO[str]) -> int:
    """Write one JSON object a line, Chinese kept as is; return the number of lines."""
    count = 0
    for event in events:
        fh.write(json.dumps(event, ensure_ascii=False))
        fh.write("\n")
        count += 1
    return count
