"""Small logs built through the store's public API, for hand-computed figures."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from caselog import events as ev
from caselog import opening, summary, writer


class LogBuilder:
    """Appends events one at a time with a steadily advancing recorded_at clock."""

    def __init__(self, path: Path, start: str = "2015-01-01T00:00:00", schema_version: int = ev.SCHEMA_VERSION):
        self.conn = opening.open_log(path)
        # 1 makes a log as caselog wrote them before redaction, 2 as it wrote them before version 3.
        self.schema_version = schema_version
        self.clock = dt.datetime.fromisoformat(start)
        self.serials = itertools.count(1)

    def tick(self, at: str | None = None) -> str:
        if at is not None:
            self.clock = dt.datetime.fromisoformat(at.rstrip("Z"))
        else:
            self.clock += dt.timedelta(minutes=1)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def add(self, type_: str, case: str, at: str | None = None, **payload) -> str:
        item = writer.Proposed(ev.make(type_, payload), case, "tester", recorded_at=self.tick(at),
                               schema_version=self.schema_version)
        [recorded] = writer.append(self.conn, [item])
        return recorded.event_id

    def file(self, year: int, agency: str = "市公安局", filed_on: str | None = None, at: str | None = None) -> str:
        case = f"({year})浙0302行初{next(self.serials)}号"
        self.add("case_filed", case, at, filed_on=filed_on or f"{year}-01-10", court="某某区人民法院",
                 agency=agency, cause="行政处罚")
        return case

    def hearing(self, case: str, held_on: str, attendance: str, spoke: bool | None = None, **extra) -> str:
        if attendance in ev.HEADS and spoke is None:
            spoke = True
        return self.add("hearing_held", case, held_on=held_on, attendance=attendance,
                        **({"spoke": spoke} if spoke is not None else {}), **extra)

    def summary(self, year: int, **kw) -> dict:
        return summary.summary(self.conn, year=year, **kw)
