"""Reviewers' pages in a real browser: headless Chromium against `caselog serve`, offline.

Chromium's own background traffic (updates, sign-in) is pointed at a dead
local proxy and a resolver that knows no names, so the network log shows
whether anything at all tried to leave the machine.  Each test reads the page
as Chromium built it (the Chinese title, a percentage) and follows a link to
the rows behind a figure.  Screenshots are kept in the test's temporary
folder; with CASELOG_SCREENSHOTS=docs they also replace the README's pictures
(docs/dashboard.png, table.png, query.png, report.png): the demo city moves
with today's date, so the pictures are refreshed on purpose, not by every run.

The tests need Debian's chromium and a CJK font: `bash .ci/install-browser`.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote as urllib_unquote
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from caselog import opening, report
from caselog.reviewer import dashboard
from caselog import summary as summaries
from integrity_support import copy_db

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1280, 1600)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: install it with .ci/install-browser"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _caselog() -> list[str]:
    script = shutil.which("caselog", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "cli"]


@pytest.fixture(scope="module")
def served(demo_db, tmp_path_factory):
    """`caselog serve` on a free port over a copy of the demo database: (base URL, database path).
    One server for the module: the pages only read, so each test sees the same log."""
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    copy_db(demo_db, path)
    with _serving(path) as base:
        yield base, path


@contextlib.contextmanager
def _serving(path: Path) -> Iterator[str]:
    """`caselog serve --db PATH` on a free port; yields its base URL."""
    port = _free_port()
    process = subprocess.Popen([*_caselog(), "serve", "--db", str(path), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"caselog serve exited {process.returncode}: {process.stderr.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("caselog serve did not start listening within 15 s")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _chromium(profile: Path) -> list[str]:
    """Headless Chromium whose own background traffic goes nowhere: a dead proxy, a resolver that knows no names."""
    return [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}",
            "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def _loopback(address: str) -> bool:
    host = urlsplit(address).hostname if "//" in address else address.rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or (host or "").startswith("127.")


def _left_the_machine(netlog: Path) -> tuple[list[str], list[str]]:
    """(connections or datagrams to another host, page requests to another host) in a Chromium net log."""
    data = json.loads(netlog.read_text())
    names = {number: name for name, number in data["constants"]["logEventTypes"].items()}
    away, page_requests = [], []
    udp_peers: dict[int, str] = {}
    for event in data["events"]:
        name, params, source = names[event["type"]], event.get("params") or {}, event["source"]["id"]
        if name in ("TCP_CONNECT_ATTEMPT", "TCP_CONNECT_JOB_CONNECTOR_CONNECT_START") and "address" in params:
            away += [params["address"]] if not _loopback(params["address"]) else []
        elif name == "TCP_CONNECT" and "remote_address" in params and not _loopback(params["remote_address"]):
            away.append(params["remote_address"])
        elif name == "UDP_CONNECT" and "address" in params:
            udp_peers[source] = params["address"]  # a connect() alone sends nothing: Chromium's route probe
        elif name == "UDP_BYTES_SENT":
            peer = params.get("address") or udp_peers.get(source, "?")
            away += [peer] if not _loopback(peer) else []
        elif name == "URL_REQUEST_START_JOB" and "url" in params and params.get("initiator") != "not an origin":
            page_requests.append(params["url"])
    return away, page_requests


def chromium(tmp_path: Path, url: str, name: str, *extra: str, screenshot: str | None = None) -> tuple[str, Path]:
    """Load ``url`` in headless Chromium: (the DOM as Chromium built it, the network log).  With
    ``screenshot``, the same load also takes the page's picture under that name (see ``check_screenshot``)."""
    netlog = tmp_path / f"{name}.net.json"
    shot = [f"--screenshot={tmp_path / f'{screenshot}.png'}"] if screenshot else []
    result = subprocess.run(
        [*_chromium(tmp_path / "profile"),
         f"--log-net-log={netlog}", f"--window-size={WINDOW[0]},{WINDOW[1]}", *extra, *shot, "--dump-dom", url],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    if screenshot:
        check_screenshot(tmp_path, screenshot)
    return result.stdout, netlog


def check_screenshot(tmp_path: Path, name: str) -> None:
    """The PNG is of the window's size; copied into CASELOG_SCREENSHOTS when it is set."""
    shot = tmp_path / f"{name}.png"
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == WINDOW
    if os.environ.get("CASELOG_SCREENSHOTS"):
        shutil.copyfile(shot, Path(os.environ["CASELOG_SCREENSHOTS"]) / f"{name}.png")


def nothing_left_the_machine(netlog: Path) -> list[str]:
    away, page_requests = _left_the_machine(netlog)
    assert away == [], f"traffic left the machine: {away}"
    assert [url for url in page_requests if not _loopback(url)] == []
    return page_requests


def link(dom: str, pattern: str) -> str:
    """The first href in the DOM matching ``pattern`` (a regular expression over the whole <a> tag)."""
    found = re.search(pattern, dom, re.S)
    assert found, pattern
    return html.unescape(found.group(1))


def _year_and_summary(path: Path) -> tuple[int, dict]:
    conn = opening.open_log(path, create=False)
    try:
        year = summaries.latest_complete_year(conn)
        return year, summaries.summary(conn, year=year)
    finally:
        conn.close()


def test_dashboard_renders_in_chromium_with_nothing_fetched_from_outside(served, tmp_path):
    base, path = served
    year, s = _year_and_summary(path)
    dom, netlog = chromium(tmp_path, f"{base}/-/caselog/dashboard", "dashboard", screenshot="dashboard")
    assert "<h1>行政诉讼年度仪表盘" in dom and f'<option value="{year}" selected="">' in dom
    charts = 3 + len(dashboard.group_sections(s))  # and one of each grouping of the demo's agency registry
    assert dom.count('class="caselog-chart"') == charts and "<polyline" in dom and "<rect" in dom
    assert report.pct(s["appearance_rate"]) in dom and report.pct(s["loss_rate"]) in dom
    page_requests = nothing_left_the_machine(netlog)
    assert any(url.endswith("/-/static-plugins/caselog/caselog.css") for url in page_requests), page_requests

    # 出庭不出声 leads to the silent units: the table page Chromium opens lists exactly that many.
    silent = link(dom, r'<tr data-figure="silent">.*?<a href="([^"]+)"')
    rows, netlog = chromium(tmp_path, base + silent, "silent")
    assert f"{s['silent']:,} rows" in rows and "应出庭单位" in rows
    nothing_left_the_machine(netlog)


def test_a_table_page_reads_in_chinese_and_its_case_numbers_open_the_trail(served, tmp_path):
    base, path = served
    year, s = _year_and_summary(path)
    url = f"{base}/{path.stem}/yearly_figures?agency=&level=all&year={year}"
    dom, netlog = chromium(tmp_path, url, "table")
    assert "<h1>年度数据 · Yearly figures</h1>" in dom and ">出庭应诉率<br>" in dom
    assert f'<td class="col-appearance_rate type-float">{report.pct(s["appearance_rate"])}</td>' in dom
    assert '<details class="caselog-glossary">' in dom
    nothing_left_the_machine(netlog)
    units, _ = chromium(tmp_path, f"{base}/{path.stem}/appearance_units?year={year}&silent=1", "units", screenshot="table")
    trail_url = link(units, r'<a class="caselog-case" href="([^"]+)">')
    case = re.search(r"case=([^&]+)", trail_url).group(1)
    trail, _ = chromium(tmp_path, base + trail_url, "trail")
    assert "案件审计轨迹" in trail and "hearing_held" in trail and urllib_unquote(case) in trail


def test_a_canned_query_reads_in_chinese_with_percentages(served, tmp_path):
    base, path = served
    year, s = _year_and_summary(path)
    dom, netlog = chromium(tmp_path, f"{base}/{path.stem}/rates_by_agency", "query", screenshot="query")
    assert "<h1" in dom and "各单位年度数据(由差到好)" in dom and f'name="year" value="{year}"' in dom
    worst = report.worst_first(s["by_agency"])[0]
    assert re.search(rf'<td class="col-appearance_rate">{re.escape(report.pct(worst["appearance_rate"]))}</td>', dom)
    assert f"共 {len(s['by_agency'])} 行" in dom and "SELECT" not in dom
    nothing_left_the_machine(netlog)


def test_the_written_report_prints_on_a4_with_nothing_fetched(served, tmp_path):
    base, path = served
    year, s = _year_and_summary(path)
    url = f"{base}/-/caselog/report?year={year}"
    pdf = tmp_path / "report.pdf"
    dom, netlog = chromium(tmp_path, url, "report", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", screenshot="report")
    assert "<h1>全市行政诉讼出庭应诉与败诉情况报告</h1>" in dom and report.paragraph(s, "zh") in dom
    assert f"<td>{report.pct(s['loss_rate'])}</td>" in dom and dom.count("<svg") == 3
    nothing_left_the_machine(netlog)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes and {(round(float(w)), round(float(h))) for w, h in boxes} == {(595, 842)}  # A4 in points


# --- signing in: a form to fill and submit, so Chromium is driven over its DevTools protocol -------


class Tab:
    """A Chromium tab driven over the DevTools protocol (JSON over a WebSocket): open a page, run a script."""

    def __init__(self, socket: Any):
        self.socket = socket
        self.ids = itertools.count(1)

    def send(self, method: str, **params: Any) -> dict:
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:  # events the tab sends meanwhile are not what this waits for
            reply = json.loads(self.socket.recv(timeout=30))
            if reply.get("id") == number:
                assert "error" not in reply, reply["error"]
                return reply["result"]

    def evaluate(self, script: str) -> Any:
        return self.send("Runtime.evaluate", expression=script, returnByValue=True)["result"].get("value")

    def wait_for(self, script: str, timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := self.evaluate(script)):
            assert time.monotonic() < deadline, f"still false after {timeout} s: {script}"
            time.sleep(0.1)
        return value

    def open(self, url: str) -> int:
        """Go to ``url`` and wait for it to load; the HTTP status of the page."""
        self.send("Page.navigate", url=url)
        return self.wait_loaded(f"location.href === {json.dumps(url)}")

    def wait_loaded(self, where: str) -> int:
        self.wait_for(f"{where} && document.readyState === 'complete'")
        return self.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")


@contextlib.contextmanager
def _tab(profile: Path) -> Iterator[Tab]:
    """Headless Chromium listening for the DevTools protocol on a port of its choosing; its one tab."""
    from websockets.sync.client import connect

    process = subprocess.Popen([*_chromium(profile), "--remote-debugging-port=0", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None and time.monotonic() < deadline, "Chromium did not open its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            [page] = [t for t in json.load(response) if t["type"] == "page"]
        with connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
            yield Tab(socket)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_reviewer_signs_in_in_chromium_and_reads_the_dashboard_with_names_masked(tmp_path):
    """Nobody reads before signing in; the reviewer fills in /-/login, is let in, and sees 张某, never 张三丰."""
    from cli import cli

    path = tmp_path / "caselog.db"
    case = "(2022)浙0302行初7号"
    for args, password in (
        (["file", case, "--filed-on", "2022-03-01", "--court", "某法院", "--agency", "市局", "--cause", "行政处罚",
          "--plaintiff", "张三丰"], None),
        (["hearing", case, "--held-on", "2022-05-10", "--attendance", "deputy", "--spoke"], None),
        (["accounts", "add", "评审甲", "--role", "reviewer"], "评审的密码-2024"),
    ):
        result = CliRunner().invoke(cli, ["--db", str(path), "--clerk", "老王", *args],
                                    env={"CASELOG_DB": None, "CASELOG_KEY": None, "CASELOG_ACCOUNT_PASSWORD": password})
        assert result.exit_code == 0, result.output

    with _serving(path) as base, _tab(tmp_path / "profile") as tab:
        assert tab.open(f"{base}/-/caselog/dashboard?year=2022") == 403
        assert tab.open(f"{base}/caselog/cases") == 403
        assert "张三丰" not in tab.evaluate("document.documentElement.outerHTML")

        assert tab.open(f"{base}/-/login") == 200
        tab.evaluate("""(() => {
            const form = document.querySelector('form[action="/-/login"]') || document.querySelector('form');
            form.querySelector('[name=username]').value = '评审甲';
            form.querySelector('[name=password]').value = '评审的密码-2024';
            form.submit();
        })()""")
        tab.wait_loaded("!location.pathname.startsWith('/-/login')")

        assert tab.open(f"{base}/-/caselog/dashboard?year=2022") == 200
        dashboard = tab.evaluate("document.body.innerText")
        assert "出庭应诉率" in dashboard and "张三丰" not in dashboard
        assert tab.open(f"{base}/caselog/cases") == 200
        cases = tab.evaluate("document.body.innerText")
        assert "张某" in cases and "张三丰" not in cases
        assert tab.open(f"{base}/caselog/events") == 403  # a reviewer reads no payload
