"""Reviewers' accounts: nobody reads without signing in; reviewers see masked names, auditors everything."""

from __future__ import annotations

import asyncio
import os
import re
import stat

import pytest
from click.testing import CliRunner

from caselog.reviewer import accounts, serve
from conftest import CaseLog, check_refusal

PASSWORDS = {"评审甲": "reviewer-password", "审计乙": "auditor-password"}


@pytest.fixture(scope="module")
def served_log(tmp_path_factory) -> CaseLog:
    log = CaseLog(tmp_path_factory.mktemp("accounts") / "caselog.db")
    log.names["C"] = "(2022)浙0302行初7号"
    log.do("file {C} --filed-on 2022-03-01 --court 某法院 --agency 市局 --cause 行政处罚 --plaintiff 张三丰")
    log.do("hearing {C} --held-on 2022-05-10 --attendance deputy --official 王五六 --title 副局长 --spoke")
    for (name, password), role in zip(PASSWORDS.items(), ("reviewer", "auditor")):
        result = CliRunner().invoke(__import__("cli").cli, ["--db", str(log.path), "accounts", "add", name, "--role", role],
                                    env={"CASELOG_ACCOUNT_PASSWORD": password, "CASELOG_DB": None})
        assert result.exit_code == 0, result.output
    return log


def _session(log: CaseLog, name: str | None, *paths: str) -> list:
    """Sign in as ``name`` through /-/login (None: nobody), then GET each path."""
    ds = serve.app(log.path, accounts.load(log.path))

    async def run():
        cookies = {}
        if name is not None:
            form = await ds.client.get("/-/login")
            token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)[1]
            signed = await ds.client.post("/-/login", cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]},
                                          data={"username": name, "password": PASSWORDS[name], "csrftoken": token})
            assert signed.status_code == 302 and "ds_actor" in signed.cookies, signed.text
            cookies = {"ds_actor": signed.cookies["ds_actor"]}
        return [await ds.client.get(path, cookies=cookies) for path in paths]

    return asyncio.run(run())


def test_nobody_reads_anything_without_signing_in(served_log):
    for response in _session(served_log, None, "/", "/caselog", "/caselog/cases", "/-/caselog/dashboard?year=2022",
                             "/caselog/events.csv?_stream=1"):
        assert response.status_code == 403


def test_a_reviewer_reads_figures_and_tables_with_names_masked(served_log):
    cases, hearings, rates, dashboard = _session(served_log, "评审甲", "/caselog/cases", "/caselog/hearings",
                                                 "/caselog/rates_by_agency?year=2022&level=all",
                                                 "/-/caselog/dashboard?year=2022")
    assert [r.status_code for r in (cases, hearings, rates, dashboard)] == [200] * 4
    assert "张某" in cases.text and "张三丰" not in cases.text
    assert "王某" in hearings.text and "王五六" not in hearings.text


@pytest.mark.parametrize("path", ["/caselog/events", "/caselog/events.csv?_stream=1", "/caselog?sql=select+*+from+events",
                                  "/caselog/cases.json", "/caselog/cases.csv", "/caselog/case_trail?case=x",
                                  "/caselog/_caselog_trust"])
def test_a_reviewer_gets_no_payload_no_sql_and_no_rows_to_download(served_log, path):
    [response] = _session(served_log, "评审甲", path)
    assert response.status_code == 403
    assert "张三丰" not in response.text


def test_an_auditor_reads_everything_unmasked(served_log):
    events, sql, stream = _session(served_log, "审计乙", "/caselog/events", "/caselog?sql=select+payload+from+events",
                                   "/caselog/events.csv?_stream=1")
    assert [r.status_code for r in (events, sql, stream)] == [200] * 3
    assert all("张三丰" in r.text for r in (events, sql, stream))


def test_a_removed_account_is_refused_whatever_its_cookie(served_log, tmp_path):
    log = served_log.copy_to(tmp_path / "caselog.db")
    (tmp_path / "caselog.db.accounts.json").write_bytes(accounts.path_for(served_log.path).read_bytes())
    accounts.remove(log.path, "审计乙")
    accounts.add(log.path, "审计乙-new", "auditor", "another-password")
    with pytest.raises(AssertionError):  # the removed account cannot sign in
        _session(log, "审计乙", "/caselog/events")


def test_accounts_are_stored_hashed_in_a_private_file(served_log):
    path = accounts.path_for(served_log.path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "reviewer-password" not in text and "pbkdf2_sha256$" in text


def test_serve_refuses_another_address_without_accounts(tmp_path):
    log = CaseLog(tmp_path / "caselog.db")
    log.do("file '(2022)浙0302行初8号' --filed-on 2022-03-01 --court 某法院 --agency 市局 --cause 行政处罚")
    check_refusal(log.invoke("serve", "--host", "0.0.0.0"), ["accounts"])
    result = log.invoke("accounts", "add", "x", "--role", "reviewer", input="short\nshort\n")
    assert result.exit_code == 1 and "10 characters" in result.stderr and "password for x" in result.stderr
    assert serve.is_loopback("127.0.0.1") and serve.is_loopback("::1") and not serve.is_loopback("0.0.0.0")
