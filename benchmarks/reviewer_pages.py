"""Time every page a reviewer opens, on the one-million-event benchmark log.

Builds the log the way ``benchmarks/run.py`` does (``caselog.synthetic.national``
imported with the installed ``caselog``) unless ``--db`` names one already
built, opens it once with caselog (which rebuilds projections made by other
code, so that rebuild is never timed), then serves it with Datasette in
process, with ``caselog serve``'s settings, and requests each page: the home
page, the database page, every table with its default facets, every canned
query with typical parameters, the dashboard, the written report, one
drill-down from the dashboard, and CSV exports (a canned query's, and the
whole ``cases`` table streamed).  Each page is requested once to warm the
caches and then ``--repeat`` times; the median is reported with the load
average at the time, since the machine is shared.

    .venv/bin/python benchmarks/reviewer_pages.py --db /tmp/bench/caselog.db
    .venv/bin/python benchmarks/reviewer_pages.py --events 20000 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PAGE_TARGET = 0.3  # seconds, every HTML or JSON page
CSV_TARGET = 10.0  # seconds, the whole cases table as CSV


def build(db: Path, events: int, seed: int) -> None:
    """The benchmark log: generate the synthetic national log and import it with `caselog`."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import run

    file = db.with_name(f"national-{events}.jsonl")
    print(f"generating {events:,} events into {file}", file=sys.stderr)
    run.generate(file, events, seed)
    print(f"importing into {db}", file=sys.stderr)
    subprocess.run([*run.caselog_command(None), "--db", str(db), "import", str(file)], check=True)


def pages(db_name: str, year: int, agency: str) -> list[tuple[str, str]]:
    """(name, path) of every page timed, with the parameters a reviewer would give."""
    from caselog.reviewer import meta, queries

    table_names = [name for name, t in meta.texts()["tables"].items() if not t.get("hidden")]
    out = [("home", "/"), ("database", f"/{db_name}")]
    out += [(f"table {name}", f"/{db_name}/{name}") for name in table_names]
    typical = {"year": str(year), "level": "", "agency": "", "case": "", "since": "", "until": "", "clerk": ""}
    for name, q in queries.QUERIES.items():
        params = {p: typical[p] for p in q["params"]}
        if name == "case_trail":
            params["case"] = "{case}"
        out.append((f"query {name}", f"/{db_name}/{name}?" + urlencode(params)))
    out += [
        ("dashboard", meta.DASHBOARD_PATH),
        ("dashboard, an agency", f"{meta.DASHBOARD_PATH}?" + urlencode({"year": year, "agency": agency})),
        ("report (HTML)", f"{meta.REPORT_PATH}?year={year}"),
        ("drill-down: silent units", f"/{db_name}/appearance_units?" + urlencode({"year": year, "silent": 1})),
        ("drill-down: an agency's reversed cases",
         f"/{db_name}/outcomes?" + urlencode({"year": year, "reduced_on_appeal": 1, "agency": agency})),
        ("CSV: silent heads (query, every row)", f"/{db_name}/silent_heads.csv?" + urlencode({"year": year, "level": "", "agency": ""})),
    ]
    return out


async def timed(client, path: str, repeat: int) -> dict:
    await client.get(path)  # warm: page cache, prepared statements, Datasette's table counts
    times, status, size = [], None, 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = await client.get(path)
        times.append(time.perf_counter() - start)
        status, size = response.status_code, len(response.content)
        if status != 200:
            break
    body = response.text if status == 200 and response.headers.get("content-type", "").startswith("text/html") else ""
    return {"seconds": statistics.median(times), "status": status, "bytes": size,
            "timed_out": "facets timed out" in body, "load": os.getloadavg()[0]}


async def measure(db: Path, repeat: int) -> dict:
    from caselog import opening
    from caselog import summary as summaries
    from caselog.reviewer import serve

    conn = opening.open_log(db, create=False)  # projections of older code are rebuilt here, not timed
    year = summaries.latest_complete_year(conn)
    agency, case = conn.execute(
        "SELECT agency, (SELECT \"case\" FROM cases ORDER BY version DESC LIMIT 1) FROM yearly_figures "
        "WHERE year = ? AND level = 'all' AND agency <> '' ORDER BY heard DESC LIMIT 1", (year,)).fetchone()
    conn.close()
    ds = serve.app(db)
    client = ds.client
    db_name = db.stem
    results: dict = {"year": year, "agency": agency, "pages": {}}
    for name, path in pages(db_name, year, agency):
        path = path.replace(urlencode({"x": "{case}"})[2:], urlencode({"x": case})[2:])
        results["pages"][name] = {"path": path, **await timed(client, path, repeat)}
        r = results["pages"][name]
        print(f"{name:50} {r['seconds']:7.3f} s  {r['status']}  load {r['load']:.2f}"
              f"{'  FACETS TIMED OUT' if r['timed_out'] else ''}", file=sys.stderr)
    start, load = time.perf_counter(), os.getloadavg()[0]
    response = await client.get(f"/{db_name}/cases.csv?_stream=on&_size=max")
    rows = response.text.count("\n") - 1
    results["csv"] = {"path": f"/{db_name}/cases.csv?_stream=on", "seconds": time.perf_counter() - start,
                      "rows": rows, "status": response.status_code, "load": load}
    print(f"{'CSV: cases, streamed':50} {results['csv']['seconds']:7.3f} s  {rows:,} rows  load {load:.2f}",
          file=sys.stderr)
    return results


def table(results: dict) -> str:
    lines = [f"{'page':52} {'median':>8}  {'load':>5}  verdict", "-" * 80]
    for name, r in results["pages"].items():
        ok = r["status"] == 200 and r["seconds"] < PAGE_TARGET and not r["timed_out"]
        lines.append(f"{name:52} {r['seconds']:7.3f}s  {r['load']:5.2f}  {'PASS' if ok else 'FAIL'}"
                     f"{' (facets timed out)' if r['timed_out'] else ''}{'' if r['status'] == 200 else ' (status ' + str(r['status']) + ')'}")
    c = results["csv"]
    lines.append(f"{'CSV: cases, every row streamed (' + format(c['rows'], ',') + ' rows)':52} {c['seconds']:7.3f}s  "
                 f"{c['load']:5.2f}  {'PASS' if c['status'] == 200 and c['seconds'] < CSV_TARGET else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a benchmark log already built (default: build one)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate when building (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="timed requests of each page; the median is reported")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every timing to FILE")
    args = parser.parse_args(argv)
    db = args.db
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="caselog-pages-")) / "caselog.db"
    if not db.exists():
        build(db, args.events, args.seed)
    results = asyncio.run(measure(db, args.repeat))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    failed = any(r["status"] != 200 for r in results["pages"].values()) or results["csv"]["status"] != 200
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
