"""Property: for random valid logs the incremental projections equal a rebuild and agree with the
rules' own replay, and summaries never fail.

Hypothesis proposes events on a few cases, mostly moving forward in business
time, sometimes back-dated, corrected or retracted; the rules decide which are
logged, so the log is whatever valid history they let through.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from caselog import audit, database, figures, opening, parallel, projections, rules, summary, writer
from caselog import events as ev
from caselog.errors import CaselogError

CASES = [f"(2019)浙0302行初{n}号" for n in range(1, 5)]
KINDS = ["hearing_held"] * 4 + ["case_concluded", "appeal_filed", "appeal_decided", "retrial_decided",
                                "event_corrected", "event_retracted"] * 2 + ["case_filed", "defendant_added"]
# The defendants a case may have; a hearing or an outcome may also name one that is not (and be refused).
AGENCIES = ["市公安局", "市住建局", "市人民政府", "区人民政府"]


def _proposal(draw, kind: str, date: str, logged: list[ev.Recorded]) -> tuple[str, dict] | None:
    if kind == "case_filed":
        payload = {"filed_on": date, "court": "某某区人民法院", "agency": draw(st.sampled_from(["市公安局", "市住建局"])),
                   "cause": draw(st.sampled_from(ev.CAUSES))}
        if draw(st.booleans()):  # 复议维持: the government that upheld the act is a co-defendant
            payload["co_defendants"] = [{"agency": "市人民政府", "role": "reconsideration"}]
        return kind, payload
    if kind == "defendant_added":
        return kind, {"added_on": date, "agency": draw(st.sampled_from(AGENCIES)), "role": draw(st.sampled_from(ev.ROLES))}
    if kind == "hearing_held":
        attendance = draw(st.sampled_from(ev.ATTENDANCES))
        payload = {"held_on": date, "level": draw(st.sampled_from(["first", "first", "second", "retrial"])),
                   "attendance": attendance}
        if draw(st.booleans()):
            payload["agency"] = draw(st.sampled_from(AGENCIES))
        if attendance in ev.HEADS:
            payload["spoke"] = draw(st.booleans())
            if draw(st.integers(0, 5)) == 0:
                payload[draw(st.sampled_from(["left_early", "refused_to_explain"]))] = True
        elif draw(st.booleans()):
            payload["excuse"] = draw(st.sampled_from(ev.EXCUSES))
            if draw(st.booleans()):
                payload["excuse_rejected"] = True
        return kind, payload
    if kind == "case_concluded":
        payload = {"decided_on": date, "disposition": draw(st.sampled_from(ev.DISPOSITIONS))}
        if draw(st.booleans()):
            payload["dispositions"] = {draw(st.sampled_from(AGENCIES)): draw(st.sampled_from(ev.DISPOSITIONS))}
        return kind, payload
    if kind == "appeal_filed":
        return kind, {"filed_on": date, "appeal_case": f"(2020)浙03行终{draw(st.integers(1, 99))}号",
                      "appellant": draw(st.sampled_from(ev.APPELLANTS))}
    if kind in ("appeal_decided", "retrial_decided"):
        result = draw(st.sampled_from(ev.RESULTS))
        payload = {"decided_on": date, "result": result}
        if result == "reversed":
            payload["disposition"] = draw(st.sampled_from(ev.DISPOSITIONS))
            if draw(st.booleans()):
                payload["dispositions"] = {draw(st.sampled_from(AGENCIES)): draw(st.sampled_from(ev.DISPOSITIONS))}
        return kind, payload
    if not logged:
        return None
    target = draw(st.sampled_from(logged))
    if kind == "event_retracted":
        return kind, {"target": target.event_id, "reason": "重复录入"}
    field = draw(st.sampled_from(["attendance", "held_on", "level", "disposition", "agency", "decided_on", "filed_on"]))
    value = {"attendance": draw(st.sampled_from(ev.ATTENDANCES)), "level": draw(st.sampled_from(ev.LEVELS)),
             "disposition": draw(st.sampled_from(ev.DISPOSITIONS)), "agency": "区人民政府"}.get(field, date)
    changes = {field: value}
    if field == "attendance":
        changes["spoke"] = draw(st.booleans()) if value in ev.HEADS else None
    return kind, {"target": target.event_id, "changes": changes, "reason": "录入有误"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_incremental_projections_equal_a_rebuild(tmp_path_factory, data):
    conn = opening.open_log(tmp_path_factory.mktemp("prop") / "p.db")
    logged: list[ev.Recorded] = []
    cursor = {case: dt.date(2019, 1, 1) + dt.timedelta(days=data.draw(st.integers(0, 900))) for case in CASES}
    clock = dt.datetime(2024, 1, 1)
    for _ in range(data.draw(st.integers(5, 60))):
        case = data.draw(st.sampled_from(CASES))
        kind = "case_filed" if case not in {r.case for r in logged} else data.draw(st.sampled_from(KINDS))
        day = cursor[case] + dt.timedelta(days=data.draw(st.integers(-40, 120)))
        proposal = _proposal(data.draw, kind, day.isoformat(), [r for r in logged if r.case == case])
        if proposal is None:
            continue
        clock += dt.timedelta(minutes=1)
        try:
            made = ev.make(*proposal)
            logged += writer.append(conn, [writer.Proposed(made, case, "prop", recorded_at=clock.strftime("%Y-%m-%dT%H:%M:%SZ"))])
            cursor[case] = max(cursor[case], day)
        except (CaselogError, ValueError):
            pass
    event(f"logged {len(logged) // 10 * 10}+ events, {len({r.type for r in logged})} types")
    with parallel.replayed(conn) as (fresh, _):
        assert projections.differences(conn, database.file_of(fresh)) == []
    # The projections' SQL and the rules' fold replay a case independently: they must agree.
    for case in {r.case for r in logged}:
        state = writer.state_of(conn, case)
        row = conn.execute('SELECT concluded_on, status, version FROM cases WHERE "case" = ?', (case,)).fetchone()
        if state.filed_on is None:
            assert row is None
            continue
        if state.concluded_on is None:
            remanded = any(getattr(e, "result", None) == "remanded"
                           for _, _, e in rules.effective(writer.history(conn, case), check=False))
            status = "remanded" if remanded else "open"
        else:
            status = "on_appeal" if state.appeal is not None and state.appeal.pending else "concluded"
        assert row == (state.concluded_on, status, state.version)
    assert audit.verify(conn).position == len(logged)
    for year in range(2018, 2026):
        for level in figures.LEVEL_SCOPES:
            s = summary.summary(conn, year=year, level=level)
            assert s["heard"] == sum(s[a] for a in ev.ATTENDANCES)
            assert s["losses"] == s["losses_first_instance"] - s["reduced_on_appeal"] + s["added_on_appeal"]
            # The city counts a case once, its agencies once for each defendant (the rules' own fold says who).
            filed = [state for state in map(lambda c: writer.state_of(conn, c), {r.case for r in logged})
                     if state.filed_on is not None and int(state.filed_on[:4]) == year]
            assert s["filed"] == len(filed)
            assert sum(a["filed"] for a in s["by_agency"]) == sum(len(state.defendants) for state in filed)
    assert summary.summary(conn, start=dt.date(2020, 3, 1), end=dt.date(2021, 2, 28))["double_decline_streak"] is None
