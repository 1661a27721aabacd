"""Benchmark caselog at one scale, beside a floor and a peer, in one run (issue #5).

Usage::

    python benchmarks/run.py                              # 1,000,000 events, the issue's scale
    python benchmarks/run.py --quick                      # 20,000 events, one run of each: the CI smoke check
    python benchmarks/run.py --events 200000 --out /tmp/bench --json bench.json

It writes a synthetic national log (``caselog.synthetic.national``) to
``--out`` (a temporary directory, removed afterwards, unless given) and then
times, on that one file:

- ``caselog import FILE`` on a fresh database, run as the installed command in
  a subprocess, so the figure is what a user gets: every rule check, the hash
  chain and the projections.  The file is synced to disk first.  Peak memory
  is the most the command and its helper process held at once (their resident
  sets summed, sampled from ``/proc`` every 20 ms; elsewhere
  ``getrusage(RUSAGE_CHILDREN)``).
- ``caselog verify --chain-only``, ``caselog verify`` (the chain and the
  projections compared with a fresh rebuild) and ``caselog rebuild``.
- These long steps run ``--long-repeat`` times (the import each time into a
  fresh database) and the median run is reported, with the slowest and fastest
  import: on a shared virtual machine one run can take a tenth longer than the
  next.
- ``caselog summary --year Y --format json`` for the busiest year by filings,
  ``caselog hearing CASE --held-on TODAY --attendance deputy --spoke`` on a
  different open case each repeat, and ``caselog --help``: medians of
  ``--repeat`` runs.
- The database size per event: the file and its WAL after a checkpoint.
- The floor and the peer (see ``floor_worker`` and ``peer_worker``), each in a
  subprocess of this script, reading the same file.

caselog's long steps are timed as whole commands, interpreter start included
(see the ``--help`` row for that cost); the floor and the peer are timed from
inside their process, after their imports, which favours them slightly.

The table goes to stdout, progress to stderr; ``--json FILE`` also writes every
figure.  Each figure is compared with the issue's targets, which are stated for
1,000,000 events: at other scales the verdicts are indicative.  The exit status
is 1 when a step fails to run, not when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterable, Iterator

CLERK = "bench"
PEER_BATCH = 100_000  # events per save() in the peer
PAGE = 10_000  # rows per page when the peer reads its notification log back

#: step key -> (comparison, threshold, unit) at 1,000,000 events.
TARGETS = {
    "import_rate": (">=", 50_000, "events/s"),
    "import_vs_peer": (">=", 1.0, "x"),
    "import_vs_floor": (">=", 0.17, "x"),
    "import_peak": ("<", 300, "MB"),
    "rebuild_rate": (">=", 200_000, "events/s"),
    "verify_chain_rate": (">=", 300_000, "events/s"),
    "verify_full_rate": (">=", 300_000, "events/s"),
    "summary_s": ("<", 0.3, "s"),
    "clerk_s": ("<", 0.3, "s"),
    "size_per_event": ("<", 700, "bytes/event"),
}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class StepFailed(Exception):
    pass


# --- the synthetic log ----------------------------------------------------------


def generate(path: Path, n_events: int, seed: int) -> dict:
    from caselog import synthetic

    count = 0

    def counted(events: Iterable[dict]) -> Iterator[dict]:
        nonlocal count
        for event in events:
            count += 1
            yield event

    start = time.perf_counter()
    with open(path, "w", encoding="utf-8") as fh:
        synthetic.write_jsonl(counted(synthetic.national(n_events=n_events, seed=seed)), fh)
    seconds = time.perf_counter() - start
    if hasattr(os, "sync"):
        os.sync()  # the file's pages reach the disk now, not while the import that follows is timed
    return {"events": count, "seconds": seconds, "rate": count / seconds, "bytes": path.stat().st_size}


# --- running caselog ----------------------------------------------------------------


def caselog_command(given: str | None) -> list[str]:
    if given:
        return [given]
    beside = Path(sys.executable).with_name("caselog")  # the venv's script, even when bin/ is not on PATH
    found = str(beside) if beside.exists() else shutil.which("caselog")
    if found is None:
        raise SystemExit("cannot find the caselog command: install caselog or pass --caselog PATH")
    return [found]


class TreeMemory:
    """Samples, every 20 ms, the resident memory of a process and all its descendants, summed.

    The process tree is found by reading every process's ``/proc`` entry, which took about 1 ms
    of the CPU the measured command competes for; so it is found again every 10th sample only,
    and in between only the processes already found are read.
    """

    def __init__(self, root: int):
        self.root = root
        self.peak_kb = 0
        self.available = os.path.isdir("/proc/self")
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        if self.available:
            self.thread.start()

    def _sample(self) -> None:
        tree = [self.root]
        samples = 0
        while not self.done.wait(0.02):
            if samples % 10 == 0:
                tree = self._tree()
            samples += 1
            pages = sum(filter(None, map(self._pages, tree)))
            self.peak_kb = max(self.peak_kb, pages * os.sysconf("SC_PAGE_SIZE") // 1024)

    @staticmethod
    def _stat(pid: int | str) -> list[str] | None:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None

    def _pages(self, pid: int) -> int | None:
        fields = self._stat(pid)
        return fields and int(fields[21])  # field 24: resident pages

    def _tree(self) -> list[int]:
        """The root and its descendants now."""
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            fields = self._stat(entry) if entry.isdigit() else None
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))  # field 4: the parent
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, ()))
        return tree

    def stop(self) -> float | None:
        self.done.set()
        if not self.available:
            return None
        self.thread.join()
        return self.peak_kb / 1024 or None


class Caselog:
    """Runs the installed command on one database, as a user would."""

    def __init__(self, command: list[str], db: Path):
        self.command = command
        self.env = {**os.environ, "CASELOG_DB": str(db), "CASELOG_CLERK": CLERK}
        self.cpu = 0.0

    def run(self, *args: str, peak: bool = False) -> tuple[float, float | None, str]:
        """(seconds, peak MB or None, stdout); raises StepFailed on a non-zero exit.

        The child's CPU seconds (user + system, its helpers included) are kept in
        ``self.cpu``: on a busy machine wall time stretches, CPU time much less.
        The peak is the most the command and its helper processes held at once.
        """
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        child = subprocess.Popen([*self.command, *args], env=self.env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        sampler = TreeMemory(child.pid) if peak else None
        stdout, stderr = child.communicate()
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
        mb = sampler.stop() if sampler else None
        if child.returncode != 0:
            raise StepFailed(f"`caselog {' '.join(args)}` exited {child.returncode}: {stderr.strip()[-2000:]}")
        if peak and mb is None:
            # No /proc: the children's maximum so far, right only if this child is the largest yet.
            mb = after.ru_maxrss / 1024 if after.ru_maxrss > usage.ru_maxrss else None
        return seconds, mb, stdout

    def timed(self, *args: str, peak: bool = False) -> dict:
        seconds, mb, _ = self.run(*args, peak=peak)
        return {"seconds": seconds, "cpu_seconds": self.cpu, **({"peak_mb": mb} if peak else {})}

    def median(self, argvs: list[list[str]]) -> dict:
        times, cpu = [], []
        for argv in argvs:
            times.append(self.run(*argv)[0])
            cpu.append(self.cpu)
        return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": len(times),
                "cpu_median": statistics.median(cpu)}


def db_size(path: Path) -> int:
    """The database's bytes on disk after a full checkpoint: the file, its WAL and shared memory."""
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def size_by_table(path: Path) -> dict[str, int] | None:
    """Bytes per table and index (SQLite's dbstat), when this SQLite has it."""
    conn = sqlite3.connect(str(path))
    try:
        return dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"))
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()


def busiest_year(db: Path) -> int:
    conn = sqlite3.connect(str(db))
    try:
        row = conn.execute("SELECT year FROM cases GROUP BY year ORDER BY count(*) DESC, year DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    if row is None:
        raise StepFailed("no case in the log to summarise")
    return row[0]


def open_cases(db: Path, n: int) -> list[str]:
    conn = sqlite3.connect(str(db))
    try:
        # Cases with one defendant: a hearing of a case with several must name which one it records.
        rows = conn.execute('SELECT "case" FROM cases c WHERE status = \'open\' AND '
                            '(SELECT count(*) FROM defendants d WHERE d."case" = c."case") = 1 '
                            'ORDER BY "case" LIMIT ?', (n,)).fetchall()
    finally:
        conn.close()
    if len(rows) < n:
        raise StepFailed(f"only {len(rows)} open case(s) in the log; {n} needed for the clerk command")
    return [r[0] for r in rows]


def median_run(runs: list[dict], events: int) -> dict:
    """The run of a long step whose time is the median (the upper one of an even count), with
    every run's seconds, the most memory any run held, and its events per second."""
    middle = dict(sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2])
    middle["runs"] = [run["seconds"] for run in runs]
    if "peak_mb" in middle:
        middle["peak_mb"] = max((run["peak_mb"] for run in runs if run["peak_mb"]), default=None)
    middle["rate"] = events / middle["seconds"]
    return middle


def bench_caselog(cl: Caselog, db: Path, file: Path, events: int, repeat: int, long_repeat: int, results: dict) -> None:
    runs = []
    for run in range(1, long_repeat + 1):
        log(f"caselog import ({events:,} events), run {run} of {long_repeat}")
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
            p.unlink(missing_ok=True)
        runs.append(cl.timed("import", str(file), peak=True))
        log(f"  {runs[-1]['seconds']:.1f} s ({runs[-1]['cpu_seconds']:.1f} s CPU), "
            f"{events / runs[-1]['seconds']:,.0f} events/s, peak {runs[-1]['peak_mb'] and round(runs[-1]['peak_mb'])} MB")
    results["import"] = median_run(runs, events)

    size = db_size(db)
    results["size"] = {"bytes": size, "per_event": size / events, "by_table": size_by_table(db)}

    for key, args in (("verify_chain", ("verify", "--chain-only")), ("verify_full", ("verify",)),
                      ("rebuild", ("rebuild",))):
        runs = []
        for run in range(1, long_repeat + 1):
            log(f"caselog {' '.join(args)}, run {run} of {long_repeat}")
            runs.append(cl.timed(*args))
            log(f"  {runs[-1]['seconds']:.1f} s ({runs[-1]['cpu_seconds']:.1f} s CPU), "
                f"{events / runs[-1]['seconds']:,.0f} events/s")
        results[key] = median_run(runs, events)

    year = busiest_year(db)
    log(f"caselog summary --year {year} --format json, {repeat} time(s)")
    results["summary"] = {"year": year, **cl.median([["summary", "--year", str(year), "--format", "json"]] * repeat)}

    cases = open_cases(db, repeat)
    today = dt.date.today().isoformat()
    log(f"caselog hearing on {repeat} open case(s)")
    results["clerk"] = cl.median([["hearing", case, "--held-on", today, "--attendance", "deputy", "--spoke"]
                                  for case in cases])
    results["clerk"]["cases"] = cases

    log(f"caselog --help, {repeat} time(s)")
    results["help"] = cl.median([["--help"]] * repeat)


# --- the floor and the peer, each in its own process ------------------------------


ENVELOPE = ("type", "case", "event_id", "recorded_at", "recorded_by", "version", "position",
            "schema_version", "payload_sha256", "hash")


def _split(line: str) -> tuple[str, str, str, dict, str, str]:
    """An interchange line as (event_id, case, type, payload, recorded_at, recorded_by)."""
    obj = json.loads(line)
    envelope = {k: obj.pop(k) for k in ENVELOPE if k in obj}
    return (envelope.get("event_id") or str(uuid.uuid4()), envelope["case"], envelope["type"], obj,
            envelope.get("recorded_at") or "", envelope.get("recorded_by") or CLERK)


def _lines(file: str) -> Iterator[str]:
    with open(file, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_worker(file: str, db: str) -> dict:
    """The floor: the least any tool must do to store these events durably.

    Write: read the file line by line, ``json.loads`` each line, split off the
    envelope, ``json.dumps`` the payload back to text, and ``executemany`` the
    rows (event_id, case, type, payload, recorded_at, recorded_by) as a stream
    into a plain ``events`` table (an integer primary key, no other index, no
    constraint) in one transaction, WAL with ``synchronous=FULL`` as caselog.
    No rule, no hash, no projection.

    Insert only: the same rows built in memory first (not timed), then the
    ``executemany`` alone, into a second fresh database.

    Read: ``SELECT`` every row in position order and ``json.loads`` its payload.
    """
    def connect(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute('CREATE TABLE events (position INTEGER PRIMARY KEY, event_id TEXT, "case" TEXT, type TEXT, '
                     "payload TEXT, recorded_at TEXT, recorded_by TEXT)")
        return conn

    insert = 'INSERT INTO events (event_id, "case", type, payload, recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?)'

    def rows() -> Iterator[tuple]:
        for line in _lines(file):
            event_id, case, type_, payload, recorded_at, recorded_by = _split(line)
            yield event_id, case, type_, json.dumps(payload, ensure_ascii=False), recorded_at, recorded_by

    out: dict = {}
    conn = connect(db)
    start, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN")
    conn.executemany(insert, rows())
    conn.execute("COMMIT")
    out["write_seconds"], out["write_cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
    out["events"] = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    out["peak_mb"] = _peak_mb()

    start, cpu = time.perf_counter(), time.process_time()
    for row in conn.execute('SELECT event_id, "case", type, payload, recorded_at, recorded_by FROM events ORDER BY position'):
        json.loads(row[3])
    out["read_seconds"], out["read_cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    out["bytes"] = db_size(Path(db))

    built = list(rows())
    other = db + ".insert-only"
    conn = connect(other)
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(insert, built)
    conn.execute("COMMIT")
    out["insert_only_seconds"] = time.perf_counter() - start
    conn.close()
    return out


def peer_worker(file: str, db: str) -> dict:
    """The peer: the ``eventsourcing`` library (9.x) storing the same events in SQLite.

    An ``eventsourcing.application.Application`` with
    ``PERSISTENCE_MODULE=eventsourcing.sqlite`` and ``SQLITE_DBNAME=<file>``
    (WAL; SQLite's default ``synchronous=FULL``; no snapshots, cipher or
    compression; UUID originator ids).  One aggregate per case, ``PeerCase``,
    with its id ``uuid5`` of the case number: the case's ``case_filed`` line
    creates it (its ``Filed`` event) and every other line triggers a
    ``Recorded`` event on it, carrying the line's type, envelope and payload
    dict.  Aggregates only count their events: the peer checks no rule and
    keeps no projection, and corrections and retractions are events like any
    other.

    Write: read the file line by line, ``json.loads`` it, trigger the domain
    event on its aggregate (kept in a dict), and every ``PEER_BATCH`` (100,000)
    lines ``app.save(*aggregates touched)``: one transaction each, in which the
    library maps each event to a ``StoredEvent`` (JSON transcoder) and
    ``SQLiteApplicationRecorder`` inserts them one ``execute`` each.  So a
    million events are written in ten large batches.

    Read: page through the application's notification log
    (``recorder.select_notifications``, ``PAGE`` = 10,000 rows a page), map
    each row back to its domain event (``app.mapper.to_domain_event``) and
    replay it onto its aggregate (``event.mutate``): every event read back, in
    log order, into the aggregates' state, as caselog's rebuild folds its log.
    """
    os.environ.update({"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": db})
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class PeerCase(Aggregate):
        @staticmethod
        def create_id(case: str, **_: object) -> uuid.UUID:
            return uuid.uuid5(uuid.NAMESPACE_URL, case)

        @event("Filed")
        def __init__(self, case: str, event_id: str, recorded_at: str, recorded_by: str, payload: dict):
            self.case = case
            self.events = 1

        @event("Recorded")
        def record(self, kind: str, event_id: str, recorded_at: str, recorded_by: str, payload: dict) -> None:
            self.events += 1

    app = Application()
    out: dict = {}
    cases: dict[str, PeerCase] = {}
    touched: dict[str, PeerCase] = {}
    n = 0
    start, cpu = time.perf_counter(), time.process_time()
    for line in _lines(file):
        event_id, case, type_, payload, recorded_at, recorded_by = _split(line)
        aggregate = cases.get(case)
        if aggregate is None:
            aggregate = cases[case] = PeerCase(case=case, event_id=event_id, recorded_at=recorded_at,
                                              recorded_by=recorded_by, payload=payload)
        else:
            aggregate.record(kind=type_, event_id=event_id, recorded_at=recorded_at, recorded_by=recorded_by,
                             payload=payload)
        touched[case] = aggregate
        n += 1
        if n % PEER_BATCH == 0:
            app.save(*touched.values())
            touched.clear()
    if touched:
        app.save(*touched.values())
    out["write_seconds"], out["write_cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
    out["events"] = n
    out["saves"] = -(-n // PEER_BATCH)
    out["peak_mb"] = _peak_mb()

    cases.clear()
    replayed: dict[uuid.UUID, PeerCase] = {}
    read = 0
    start, cpu = time.perf_counter(), time.process_time()
    position = 1
    while True:
        page = app.recorder.select_notifications(position, PAGE)
        if not page:
            break
        for notification in page:
            domain_event = app.mapper.to_domain_event(notification)
            replayed[domain_event.originator_id] = domain_event.mutate(replayed.get(domain_event.originator_id))
            read += 1
        position = page[-1].id + 1
    out["read_seconds"], out["read_cpu_seconds"] = time.perf_counter() - start, time.process_time() - cpu
    out["read_events"] = read
    app.close()
    out["bytes"] = db_size(Path(db))
    return out


WORKERS: dict[str, Callable[[str, str], dict]] = {"floor": floor_worker, "peer": peer_worker}


def run_worker(name: str, file: Path, db: Path) -> dict:
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.insert-only")):
        p.unlink(missing_ok=True)
    log(f"{name}: writing and reading the same file")
    done = subprocess.run([sys.executable, __file__, "--worker", name, str(file), str(db)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise StepFailed(f"the {name} worker exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the table -------------------------------------------------------------------


def verdict(key: str, value: float | None) -> tuple[str, str]:
    if key not in TARGETS:
        return "", ""
    op, threshold, unit = TARGETS[key]
    shown = f"{op} {threshold:,}" if unit != "x" else f"{op} {threshold}x"
    if value is None:
        return shown, "n/a"
    ok = value >= threshold if op == ">=" else value < threshold
    return shown, "PASS" if ok else "FAIL"


def rows_of(r: dict) -> list[dict]:
    """The table's rows, from the raw results.

    ``cpu`` is the step's CPU time over its wall time: near 100% for the
    CPU-bound steps on a quiet machine, lower when other work took the CPUs
    (or the step waited on the disk).
    """
    n = r["events"]
    imp, floor, peer = r.get("import"), r.get("floor"), r.get("peer")
    out: list[dict] = []

    def add(step: str, value: float | None, unit: str, key: str = "", cpu: float | None = None) -> None:
        target, mark = verdict(key, value)
        out.append({"step": step, "figure": value, "unit": unit, "target": target, "verdict": mark, "cpu": cpu})

    def share(cpu: float, wall: float) -> float:
        return cpu / wall if wall else 0.0

    if "generate" in r:
        add("generate synthetic log (not in import)", r["generate"]["rate"], "events/s")
        add("  file size", r["generate"]["bytes"] / n, "bytes/event")
    if imp:
        add(f"caselog import{_of(imp)}", imp["rate"], "events/s", "import_rate", share(imp["cpu_seconds"], imp["seconds"]))
        add("  import wall time", imp["seconds"], "s")
        if len(imp["runs"]) > 1:
            add("  import, slowest run", n / max(imp["runs"]), "events/s")
            add("  import, fastest run", n / min(imp["runs"]), "events/s")
        add("  import peak memory", imp["peak_mb"], "MB", "import_peak")
        add("  import / floor write", floor and imp["rate"] / (n / floor["write_seconds"]), "x", "import_vs_floor")
        add("  import / peer write", peer and imp["rate"] / (n / peer["write_seconds"]), "x", "import_vs_peer")
    for key, step in (("rebuild", "caselog rebuild"), ("verify_chain", "caselog verify --chain-only"),
                      ("verify_full", "caselog verify (chain + projections)")):
        if key in r:
            add(f"{step}{_of(r[key])}", r[key]["rate"], "events/s", f"{key}_rate",
                share(r[key]["cpu_seconds"], r[key]["seconds"]))
    if "rebuild" in r and peer:
        add("  rebuild / peer read", r["rebuild"]["rate"] / (n / peer["read_seconds"]), "x")
    for key, step, target in (
        ("summary", f"caselog summary --year {r.get('summary', {}).get('year')} --format json", "summary_s"),
        ("clerk", "caselog hearing on an open case", "clerk_s"),
        ("help", "caselog --help", ""),
    ):
        if key in r:
            add(f"{step} (median of {r[key]['runs']})", r[key]["median"], "s", target,
                share(r[key]["cpu_median"], r[key]["median"]))
    if "size" in r:
        add("caselog database size", r["size"]["per_event"], "bytes/event", "size_per_event")
    if floor:
        add("FLOOR sqlite3 executemany, parse + insert", n / floor["write_seconds"], "events/s", "",
            share(floor["write_cpu_seconds"], floor["write_seconds"]))
        add("  floor insert only (rows prebuilt)", n / floor["insert_only_seconds"], "events/s")
        add("  floor read (select + json.loads)", n / floor["read_seconds"], "events/s", "",
            share(floor["read_cpu_seconds"], floor["read_seconds"]))
        add("  floor peak memory", floor["peak_mb"], "MB")
        add("  floor size", floor["bytes"] / n, "bytes/event")
    if peer:
        add(f"PEER eventsourcing write ({peer['saves']} save(s))", n / peer["write_seconds"], "events/s", "",
            share(peer["write_cpu_seconds"], peer["write_seconds"]))
        add("  peer read (notification log -> aggregates)", n / peer["read_seconds"], "events/s", "",
            share(peer["read_cpu_seconds"], peer["read_seconds"]))
        add("  peer peak memory", peer["peak_mb"], "MB")
        add("  peer size", peer["bytes"] / n, "bytes/event")
    return out


def _of(step: dict) -> str:
    runs = len(step.get("runs", ()))
    return f" (median of {runs})" if runs > 1 else ""


def fmt_figure(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        return f"{value:.3f}"
    if unit == "x":
        return f"{value:.2f}"
    if unit == "MB":
        return f"{value:,.0f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def print_table(r: dict, rows: list[dict]) -> None:
    cells = [(row["step"], fmt_figure(row["figure"], row["unit"]), row["unit"],
              "" if row["cpu"] is None else f"{row['cpu']:.0%}", row["target"], row["verdict"]) for row in rows]
    header = ("step", "figure", "unit", "cpu", "target (1M)", "verdict")
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    m = r["machine"]
    print(f"caselog benchmark: {r['events']:,} events, seed {r['seed']}; Python {m['python']}, SQLite {m['sqlite']}, "
          f"{m['cpus']} CPU(s), load average {r['load'][0]:.1f} before, {r['load'][1]:.1f} after")
    if r["events"] != 1_000_000:
        print("targets are stated for 1,000,000 events: at this scale the verdicts are indicative")
    line = "  ".join(("{:>%d}" if i in (1, 3) else "{:<%d}") % w for i, w in enumerate(widths))
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for c in cells:
        print(line.format(*c).rstrip())
    if r.get("errors"):
        print("errors:")
        for error in r["errors"]:
            print(f"  {error}")


# --- main ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, help="events in the synthetic log (default 1,000,000; 20,000 with --quick)")
    parser.add_argument("--repeat", type=int, help="runs of each short step, reported as the median (default 5; 1 with --quick)")
    parser.add_argument("--long-repeat", type=int,
                        help="runs of import, rebuild and verify, reported as the median (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="the CI smoke check: --events 20000 --repeat 1 --long-repeat 1")
    parser.add_argument("--seed", type=int, default=1, help="the synthetic log's seed (default 1)")
    parser.add_argument("--out", type=Path, help="keep the log and databases here (default: a temporary directory, removed)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE as JSON")
    parser.add_argument("--caselog", metavar="PATH", help="the caselog command (default: the one beside this Python)")
    parser.add_argument("--no-peer", action="store_true", help="skip the eventsourcing peer")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        name, file, db = args.worker
        print(json.dumps(WORKERS[name](file, db)))
        return 0

    events = args.events or (20_000 if args.quick else 1_000_000)
    repeat = args.repeat or (1 if args.quick else 5)
    long_repeat = args.long_repeat or (1 if args.quick else 3)
    if events < 1 or repeat < 1 or long_repeat < 1:
        parser.error("--events, --repeat and --long-repeat must be positive")
    command = caselog_command(args.caselog)
    out = args.out or Path(tempfile.mkdtemp(prefix="caselog-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    file, db = out / f"national-{events}.jsonl", out / "caselog.db"

    results: dict = {
        "seed": args.seed, "repeat": repeat, "long_repeat": long_repeat, "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "targets": TARGETS, "errors": [], "load": [os.getloadavg()[0]],
    }
    started = time.perf_counter()
    try:
        log(f"generating {events:,} events into {file}")
        results["generate"] = generate(file, events, args.seed)
        n = results["events"] = results["generate"]["events"]
        log(f"  {results['generate']['seconds']:.1f} s, {results['generate']['bytes'] / 1e6:,.0f} MB")
        # On disk before the import, as a clerk's file would be: otherwise the kernel writes it
        # back while the import runs, on the same two cores (about 1 s at a million events).
        os.sync()
        try:
            bench_caselog(Caselog(command, db), db, file, n, repeat, long_repeat, results)
        except StepFailed as error:
            results["errors"].append(str(error))
        workers = ["floor"] + ([] if args.no_peer else ["peer"])
        for name in workers:
            try:
                results[name] = run_worker(name, file, out / f"{name}.db")
                log(f"  write {n / results[name]['write_seconds']:,.0f} events/s, "
                    f"read {n / results[name]['read_seconds']:,.0f} events/s")
            except StepFailed as error:
                results["errors"].append(str(error))
        results["seconds"] = time.perf_counter() - started
        results["load"].append(os.getloadavg()[0])
        log(f"done in {results['seconds']:.1f} s")
        rows = results["rows"] = rows_of(results)
        print_table(results, rows)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
