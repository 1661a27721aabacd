"""A big import file is read by a helper process: same result, same refusals, no orphan; into an
empty log, its copy of the events lets the refresh use both cores.

``parallel.READ_APART_FROM`` is lowered so that the example's files take that path;
each test compares it with reading in process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from caselog import chain, database, interchange, opening, parallel, projections, writer
from conftest import check_line_number, check_refusal
from integrity_support import (build_example_db, caselog_command, copy_db, example_events, export, invoke, jsonl,
                               on_two_cores, shifted, snapshot)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return build_example_db(tmp_path_factory.mktemp("ingest") / "base.db")


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "import.jsonl"
    path.write_text(jsonl([e for k in (1, 2) for e in shifted(example_events(), k)]), "utf-8")
    return path


def import_both_ways(base, tmp_path, monkeypatch, path) -> dict:
    """``caselog import PATH`` into two copies of the log, in process and apart."""
    results = {}
    for way, threshold in (("in process", 1 << 62), ("apart", 0)):
        monkeypatch.setattr(parallel, "READ_APART_FROM", threshold)
        db = copy_db(base, tmp_path / f"{way}.db")
        results[way] = (invoke(db, "import", str(path)), export(db))
    return results


def test_a_file_read_apart_imports_exactly_as_one_read_in_process(base, source, tmp_path, monkeypatch):
    results = import_both_ways(base, tmp_path, monkeypatch, source)
    for result, _ in results.values():
        assert result.exit_code == 0, result.output
    assert results["apart"][1] == results["in process"][1]
    assert len(results["apart"][1].splitlines()) == 399 * 3


def first_hearing_after(lines: list[str], line: int) -> int:
    return next(n for n in range(line, len(lines) + 1) if json.loads(lines[n - 1])["type"] == "hearing_held")


@pytest.mark.parametrize("pick, change, keywords", [
    (lambda lines: 5, lambda e: "{not json", ["json"]),  # refused by the helper while reading
    (lambda lines: 7, lambda e: json.dumps({**e, "colour": "red"}), ["colour"]),  # by the helper's checks
    (lambda lines: first_hearing_after(lines, 9), lambda e: json.dumps({**e, "case": "(2019)浙0302行初999999号"}),
     ["never filed|not filed"]),  # by the rules, in this process
    (lambda lines: len(lines) - 2, lambda e: json.dumps({**e, "recorded_by": ""}), ["recorded_by"]),  # late
])
def test_a_refused_line_is_named_the_same_way_and_nothing_is_written(base, tmp_path, monkeypatch, pick, change,
                                                                     keywords):
    lines = jsonl([e for k in (1, 2) for e in shifted(example_events(), k)]).splitlines()
    line = pick(lines)
    lines[line - 1] = change(json.loads(lines[line - 1]))
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    before = export(base)
    results = import_both_ways(base, tmp_path, monkeypatch, path)
    messages = {way: check_refusal(result, keywords) for way, (result, _) in results.items()}
    assert messages["apart"] == messages["in process"]
    check_line_number(messages["apart"], line)
    assert all(after == before for _, after in results.values())


def test_an_import_into_an_empty_log_is_refreshed_on_two_cores_from_the_helpers_copy(tmp_path, monkeypatch, source):
    one = tmp_path / "one.db"
    monkeypatch.setattr(parallel, "READ_APART_FROM", 1 << 62)
    assert invoke(one, "import", str(source)).exit_code == 0

    read_apart = on_two_cores(monkeypatch)
    two = tmp_path / "two.db"
    result = invoke(two, "import", str(source))
    assert result.exit_code == 0, result.output
    assert len(read_apart) == 1 and read_apart[0].endswith("upper.db")
    assert export(two) == export(one)
    assert snapshot(two) == snapshot(one)


def test_an_import_into_an_empty_log_refused_on_its_last_line_writes_nothing_and_stops_the_helper(tmp_path, monkeypatch,
                                                                                                source):
    """The helper has read everything and is computing its share of the refresh when the last line is refused."""
    import multiprocessing

    lines = source.read_text("utf-8").splitlines()
    last = json.loads(lines[-1])
    lines[-1] = json.dumps({**last, "recorded_by": ""}, ensure_ascii=False)  # refused by the writer, here
    path = tmp_path / "late.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    read_apart = on_two_cores(monkeypatch)
    db = tmp_path / "caselog.db"
    check_line_number(check_refusal(invoke(db, "import", str(path)), ["recorded_by"]), len(lines))
    assert read_apart == [] and multiprocessing.active_children() == []
    assert export(db) == b""


def test_ids_the_helper_gives_are_the_ones_logged(tmp_path, monkeypatch):
    """Lines without an event id get one from the helper, so that its copy and the log agree."""
    events = [{k: v for k, v in e.items() if k != "event_id"} for e in example_events() if e["type"] != "event_corrected"
              and e["type"] != "event_retracted"]
    path = tmp_path / "no-ids.jsonl"
    path.write_text(jsonl(events), "utf-8")
    read_apart = on_two_cores(monkeypatch)
    db = tmp_path / "caselog.db"
    result = invoke(db, "import", str(path))
    assert result.exit_code == 0, result.output
    assert len(read_apart) == 1
    logged = [json.loads(line)["event_id"] for line in export(db).splitlines()]
    assert len(set(logged)) == len(events)
    assert logged == sorted(logged)  # time-ordered (version 7), in the order they were given
    verified = invoke(db, "verify")
    assert verified.exit_code == 0, verified.output


def test_a_copy_that_does_not_end_where_the_log_does_is_not_used(tmp_path):
    db = tmp_path / "caselog.db"
    conn = opening.open_log(db)
    with open(Path(__file__).parent / "fixtures" / "small-city.jsonl", "rb") as fh:
        writer.import_events(conn, interchange.read_jsonl(fh, "x"))
    copy = tmp_path / "events.db"
    rows = str(tmp_path / "upper.db")
    assert not parallel._copy_ends_with_log(conn, rows)  # no copy at all
    with sqlite3.connect(copy) as other:
        other.execute("CREATE TABLE events (position INTEGER PRIMARY KEY, event_id TEXT)")
        other.execute("INSERT INTO events SELECT position, event_id FROM (SELECT 1 AS position, 'x' AS event_id)")
    assert not parallel._copy_ends_with_log(conn, rows)
    with sqlite3.connect(copy) as other:
        other.execute("DELETE FROM events")
        other.executemany("INSERT INTO events VALUES (?, ?)", conn.execute("SELECT position, event_id FROM events"))
    assert parallel._copy_ends_with_log(conn, rows)
    conn.close()


def test_when_the_helper_could_not_recompute_its_cases_this_process_does(base, tmp_path):
    """An import on two cores whose helper sent no rows (its copy could not be written) ends with this
    process recomputing the upper range too, and settling both ranges as one refresh would."""
    db = copy_db(base, tmp_path / "caselog.db")
    before = snapshot(db)
    conn = opening.open_log(db)
    with database.Transaction(conn):
        head = chain.head(conn)
        projections.drop(conn)
        projections.create(conn)

        class HelperGaveUp:
            first = parallel.middle_case(conn, "main", head.position)

            def next(self) -> parallel.Refreshed:
                return parallel.Refreshed(None)

        parallel._HelpedRefresh(HelperGaveUp())(conn, head)
    conn.close()
    assert snapshot(db) == before


def test_a_copy_that_cannot_be_written_is_given_up_and_not_used(tmp_path):
    events = parallel._EventsCopy(str(tmp_path / "no-such-folder" / "events.db"))
    batch = parallel._Collecting()
    with open(Path(__file__).parent / "fixtures" / "small-city.jsonl", "rb") as fh:
        for item in interchange.read_jsonl(fh, "x"):
            batch.add(item)
    events.add(batch)
    assert not events.finish()
    assert events.conn is None and not (tmp_path / "no-such-folder").exists()


def test_an_import_into_a_log_that_is_not_empty_makes_no_copy(base, source, tmp_path, monkeypatch):
    read_apart = on_two_cores(monkeypatch)
    asked = []
    reading = parallel.reading

    def spied(file, clerk, progress=None, empty=False):
        asked.append(empty)
        return reading(file, clerk, progress, empty)

    monkeypatch.setattr(parallel, "reading", spied)
    db = copy_db(base, tmp_path / "caselog.db")
    assert invoke(db, "import", str(source)).exit_code == 0
    assert asked == [False] and read_apart == []
    assert invoke(db, "verify").exit_code == 0


def test_stdin_is_read_in_process(base, tmp_path, monkeypatch, source):
    monkeypatch.setattr(parallel, "READ_APART_FROM", 0)
    db = copy_db(base, tmp_path / "stdin.db")
    result = invoke(db, "import", "-", input=source.read_bytes())
    assert result.exit_code == 0, result.output
    assert len(export(db).splitlines()) == 399 * 3


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finds the helper through /proc")
def test_killing_the_import_stops_its_helper_and_writes_nothing(base, tmp_path):
    """A file over the real threshold; the import is killed once its helper is running."""
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        copy = 0
        while fh.tell() < parallel.READ_APART_FROM:
            copy += 1
            fh.write(jsonl(shifted(example_events(), copy)))
    db = copy_db(base, tmp_path / "killed.db")
    before = export(db)
    env = {**os.environ, "CASELOG_DB": str(db), "CASELOG_CLERK": "clerk-kill"}
    process = subprocess.Popen([*caselog_command(), "import", str(path)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    helpers: list[int] = []
    while not helpers and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
        helpers = _children(process.pid)
    assert helpers, "the import never started a helper"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(map(_alive, helpers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, helpers)), "the helper outlived the import"
    assert export(db) == before


def test_the_helper_sends_the_envelope_in_the_order_of_proposed_fields():
    """The events are rebuilt from the helper's envelopes by position."""
    import attrs

    names = [a.name for a in attrs.fields(writer.Proposed)]
    assert names == ["event", *parallel._ENVELOPE[:4], "expect_version", *parallel._ENVELOPE[4:]]


def test_the_helper_sends_every_type_of_event_as_values_that_make_it_again():
    from caselog import events as ev

    made = [ev.make(e["type"], {k: v for k, v in e.items() if k in ev.FIELDS[e["type"]]}) for e in example_events()]
    made.append(ev.make("retrial_decided", {"decided_on": "2023-05-04", "result": "reversed", "disposition": "revoked",
                                            "dispositions": {"市人民政府": "claims_dismissed"}}))
    made.append(ev.make("defendant_added", {"added_on": "2023-05-04", "agency": "市人民政府", "role": "reconsideration"}))
    made += [ev.make("agency_registered", {"agency": "市公安局", "agency_level": "city_dept", "region": "市本级",
                                           "aliases": ["公安局"]}),
             ev.make("agency_aliased", {"agency": "市公安局", "alias": "市局"}),
             ev.make("agency_renamed", {"agency": "市公安局", "new_name": "市公安分局", "renamed_on": "2023-05-04"}),
             ev.make("agency_updated", {"agency": "市公安分局", "region": "城东区"})]
    made.append(ev.make("payload_redacted", {"target": "01a24256-0000-7000-8000-000000000001", "field": "plaintiff",
                                             "reason": "申请删除", "kept_sha256": "0" * 64}))
    assert {event.TYPE for event in made} == set(ev.EVENT_TYPES)
    for event in made:
        values = ev.field_values(event)
        assert isinstance(values, tuple) and len(values) == len(ev.FIELDS[event.TYPE])
        assert ev.unchecked(event.TYPE, values) == event


def test_on_one_core_a_big_file_is_read_in_process(base, source, tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "READ_APART_FROM", 0)
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 1)
    helpers = []
    monkeypatch.setattr(parallel, "_read_apart", lambda *args: helpers.append(args))
    db = copy_db(base, tmp_path / "one-core.db")
    assert invoke(db, "import", str(source)).exit_code == 0
    assert helpers == []
    assert invoke(db, "verify").exit_code == 0


def _two_copies() -> list[str]:
    return jsonl([e for k in (1, 2) for e in shifted(example_events(), k)]).splitlines()


def imports_the_same(tmp_path, monkeypatch, module, setting: str, reference, value) -> None:
    """The example log twice over imports (in process) into the very same log and projections
    with ``module.setting`` at ``value`` as at ``reference``."""
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(_two_copies()) + "\n", "utf-8")
    monkeypatch.setattr(parallel, "READ_APART_FROM", 1 << 62)
    dbs = []
    for n, chosen in enumerate((reference, value)):
        monkeypatch.setattr(module, setting, chosen)
        dbs.append(tmp_path / f"{n}.db")
        result = invoke(dbs[-1], "import", str(path))
        assert result.exit_code == 0, result.output
    assert export(dbs[1]) == export(dbs[0])
    assert snapshot(dbs[1]) == snapshot(dbs[0])


@pytest.mark.parametrize("batch", [1, 7, 100_000])
def test_rows_inserted_in_batches_of_any_size_log_the_same(tmp_path, monkeypatch, batch):
    """The writer inserts a batch at a time; corrections and late events read rows still pending."""
    imports_the_same(tmp_path, monkeypatch, writer, "_BATCH", 1, batch)


@pytest.mark.parametrize("batch", [1, 7, 100_000])
def test_an_id_used_twice_is_named_at_its_second_line_before_any_later_refusal(tmp_path, monkeypatch, batch):
    """The second use of an id is found when its batch is inserted, after later lines were checked:
    it is still the refusal named, as the first in the file, and nothing is written."""
    lines = _two_copies()
    twice = first_hearing_after(lines, 500)
    later = first_hearing_after(lines, twice + 1)
    lines[twice - 1] = json.dumps({**json.loads(lines[twice - 1]), "event_id": json.loads(lines[3])["event_id"]},
                                  ensure_ascii=False)
    lines[later - 1] = json.dumps({**json.loads(lines[later - 1]), "case": "(2019)浙0302行初999999号"},
                                  ensure_ascii=False)
    path = tmp_path / "twice.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    monkeypatch.setattr(writer, "_BATCH", batch)
    db = tmp_path / "caselog.db"
    message = check_refusal(invoke(db, "import", str(path)), ["already in the log"])
    check_line_number(message, twice)
    assert export(db) == b""


def test_a_state_cache_lets_the_least_recently_used_tenth_go_and_folds_them_again():
    from caselog import rules

    loaded = []
    cache = rules.StateCache(lambda case, position: loaded.append(case) or rules.CaseState(case), size=10)
    for n in range(10):
        cache.put(f"c{n}", cache.take(f"c{n}", 1))
    cache.put("c0", cache.take("c0", 2))  # c1 is now the least recently used
    cache.put("c10", cache.take("c10", 3))
    assert list(cache.states) == ["c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c0", "c10"]
    loaded.clear()
    cache.take("c1", 4)
    assert loaded == ["c1"]


@pytest.mark.parametrize("states", [1, 3])
def test_an_import_holding_few_case_states_logs_the_same(tmp_path, monkeypatch, states):
    """Cases let go mid-import are folded again from the rows logged so far, pending ones included."""
    from caselog import rules

    imports_the_same(tmp_path, monkeypatch, rules, "CACHED_STATES", rules.CACHED_STATES, states)
