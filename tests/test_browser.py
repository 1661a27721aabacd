"""The dashboard in a real browser: headless Chromium against `caselog serve`, offline.

Chromium's own background traffic (updates, sign-in) is pointed at a dead
local proxy and a resolver that knows no names, so the network log shows
whether anything at all tried to leave the machine.  The screenshot is kept
in the test's temporary folder; with CASELOG_SCREENSHOT=docs/dashboard.png it
also replaces the README's picture (the demo city moves with today's date, so
the picture is refreshed on purpose, not by every run).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from caselog import demo, opening, report
from caselog.reviewer import dashboard
from caselog import summary as summaries

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


@pytest.fixture
def served(tmp_path):
    """`caselog serve` on a free port over a fresh demo database: (base URL, database path)."""
    path = tmp_path / "demo.db"
    demo.build(path)
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
        yield f"http://127.0.0.1:{port}", path
    finally:
        process.terminate()
        process.wait(timeout=10)


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


def test_dashboard_renders_in_chromium_with_nothing_fetched_from_outside(served, tmp_path):
    base, path = served
    conn = opening.open_log(path, create=False)
    year = demo.latest_complete_year(conn)
    s = summaries.summary(conn, year=year)
    conn.close()
    netlog, shot = tmp_path / "net.json", tmp_path / "dashboard.png"
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}",
         "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         f"--log-net-log={netlog}", f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}",
         "--dump-dom", f"{base}/-/caselog/dashboard?year={year}"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    charts = 3 + len(dashboard.group_sections(s))  # and one of each grouping of the demo's agency registry
    assert dom.count('class="caselog-chart"') == charts and "<polyline" in dom and "<rect" in dom
    assert "出庭应诉率" in dom and report.pct(s["appearance_rate"]) in dom and report.pct(s["loss_rate"]) in dom

    away, page_requests = _left_the_machine(netlog)
    assert away == [], f"traffic left the machine: {away}"
    assert any(url.endswith("/-/static-plugins/caselog/caselog.css") for url in page_requests), page_requests
    assert [url for url in page_requests if not _loopback(url)] == []

    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == WINDOW
    if os.environ.get("CASELOG_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["CASELOG_SCREENSHOT"])
