"""The synthetic logs (and the seed city built with their story): deterministic, in log order,
well-formed, and the size asked for.

Whether the logs also satisfy every rule is checked by importing them (the
store's job); these tests need nothing of caselog but the vocabulary.
"""

import datetime as dt
import io
import json
import re
import uuid

import pytest

from caselog import events, synthetic
from caselog.synthetic import story
from seed_city import seed_city

TODAY = dt.date(2026, 11, 26)
ENVELOPE = ("event_id", "recorded_at", "recorded_by")
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

GENERATORS = {
    "demo_city": lambda: synthetic.demo_city(first_year=2021, last_year=2023, today=TODAY),
    "national": lambda: synthetic.national(20_000, today=TODAY),
    "seed_city": lambda: seed_city(today=TODAY),
}


@pytest.fixture(scope="module", params=sorted(GENERATORS))
def log(request):
    return list(GENERATORS[request.param]())


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_log(name):
    assert list(GENERATORS[name]()) == list(GENERATORS[name]())


def test_other_seed_other_log():
    assert list(synthetic.national(500, seed=1, today=TODAY)) != list(synthetic.national(500, seed=2, today=TODAY))


def test_recorded_at_never_decreases_and_is_utc_seconds(log):
    stamps = [event["recorded_at"] for event in log]
    assert all(STAMP.fullmatch(stamp) for stamp in stamps)
    assert stamps == sorted(stamps)


def test_every_event_is_well_formed(log):
    """Each line builds its event, its case numbers parse, its envelope is complete."""
    for event in log:
        payload = {k: v for k, v in event.items() if k not in ("type", "case", *ENVELOPE)}
        events.make(event["type"], payload)
        assert events.stream(event["type"], event["case"]) == event["case"]
        if event["type"] == "appeal_filed":
            events.case_number(event["appeal_case"], ("行终", "行赔终"))
        event_id = uuid.UUID(event["event_id"])
        assert event_id.version == 7
        logged = dt.datetime.fromisoformat(event["recorded_at"][:-1]).replace(tzinfo=dt.timezone.utc)
        assert (event_id.int >> 80) // 1000 == logged.timestamp()  # its millisecond is in that second
        assert event["recorded_by"].startswith("clerk-")
    assert len({event["event_id"] for event in log}) == len(log)


def test_business_dates_fall_between_filing_and_today(log):
    filed = {}
    for event in log:
        date = event.get("filed_on") if event["type"] != "appeal_filed" else None
        filed.setdefault(event["case"], date)
        business = event.get("filed_on") or event.get("held_on") or event.get("decided_on")
        if business:
            assert filed[event["case"]] <= business <= (TODAY - dt.timedelta(days=5)).isoformat()
            assert business < event["recorded_at"]


def test_corrections_target_earlier_events_of_their_case_once(log):
    seen = {}
    targeted = set()
    for event in log:
        if event["type"] in events.META_TYPES:
            target = seen[event["target"]]
            assert target["case"] == event["case"]
            assert target["type"] not in events.META_TYPES
            assert target["recorded_at"] < event["recorded_at"]
            assert event["target"] not in targeted
            targeted.add(event["target"])
        seen[event["event_id"]] = event


def test_head_changes_keep_spoke_with_a_head():
    """A correction of attendance sets spoke when it makes a head and removes it when it unmakes one."""
    log = list(synthetic.national(40_000, seed=5, today=TODAY))
    hearings = {e["event_id"]: e for e in log if e["type"] == "hearing_held"}
    fixes = [e for e in log if e["type"] == "event_corrected" and "attendance" in e["changes"]]
    assert fixes
    for fix in fixes:
        corrected = {**hearings[fix["target"]], **fix["changes"]}
        assert (corrected["attendance"] in events.HEADS) == (corrected.get("spoke") is not None)


@pytest.mark.parametrize("n", [0, 1, 7, 1000, 12_345])
def test_national_yields_exactly_n(n):
    assert sum(1 for _ in synthetic.national(n, today=TODAY)) == n


def test_national_spreads_cases_over_years_before_today():
    log = list(synthetic.national(20_000, today=TODAY))
    years = {event["filed_on"][:4] for event in log if event["type"] == "case_filed"}
    assert len(years) >= 2
    assert max(years) < str(TODAY.year)
    cases = sum(event["type"] == "case_filed" for event in log)
    assert 4000 <= cases <= 6500


def test_national_has_some_corrections_and_retractions():
    log = list(synthetic.national(50_000, today=TODAY))
    meta = sum(event["type"] in events.META_TYPES for event in log)
    assert 0.003 * len(log) < meta < 0.03 * len(log)


def test_demo_city_has_the_variety_a_demo_needs():
    log = list(synthetic.demo_city(today=TODAY))
    types = {event["type"] for event in log}
    # Not a redaction: an administrator's act on a real person's request, not a case's history.
    assert types == set(events.EVENT_TYPES) - {events.PayloadRedacted.TYPE}
    filed = [event for event in log if event["type"] == "case_filed"]
    assert {event["filed_on"][:4] for event in filed} == {str(y) for y in range(2019, 2026)}
    assert 13 >= len({event["agency"] for event in filed}) >= 11
    results = {(event["result"], event.get("disposition") in events.LOSS_SET)
               for event in log if event["type"] == "appeal_decided"}
    assert {("upheld", False), ("reversed", True), ("reversed", False), ("remanded", False), ("withdrawn", False)} <= results
    assert any(event.get("excuse") for event in log)
    assert any(event.get("disposition") == "withdrawn_after_change" for event in log)
    assert any(event.get("level") == "second" for event in log)
    assert 20 <= sum(event["type"] in events.META_TYPES for event in log) <= 80


def test_demo_city_defaults_to_the_last_complete_year():
    log = synthetic.demo_city(today=dt.date(2024, 3, 1))
    assert max(event["filed_on"] for event in log if event["type"] == "case_filed") < "2024"


def test_event_ids_take_128_seeded_bits_so_the_rest_of_the_stream_is_unchanged():
    import random

    rng, same = random.Random(3), random.Random(3)
    bits = same.getrandbits(128)
    event_id = uuid.UUID(story.event_id(rng, dt.date(2022, 3, 1).toordinal() * 86_400))
    assert rng.random() == same.random()
    assert event_id.int & (1 << 62) - 1 == bits & (1 << 62) - 1


def test_write_jsonl_writes_one_object_a_line_keeping_chinese():
    log = list(synthetic.national(50, today=TODAY))
    out = io.StringIO()
    assert synthetic.write_jsonl(log, out) == 50
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == log
    assert "行初" in lines[0]
