"""The caselog command line: parses, calls caselog, formats.  No business logic here."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import json
import os
import signal
import sqlite3
import sys
import threading
from typing import Any, Callable, Iterable

import click

from caselog import __version__
from caselog.errors import CaselogError

DEFAULT_DB = os.path.join("db", "caselog.db")


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


class Group(click.Group):
    """Turns every caselog error into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CaselogError as error:
            raise click.ClickException(_one_line(error)) from None
        except sqlite3.DatabaseError as error:
            raise click.ClickException(_one_line(f"{ctx.obj.db}: {error}")) from None
        except OSError as error:
            raise click.ClickException(_one_line(f"{error.strerror or error}: {error.filename or ''}")) from None
        except UnicodeEncodeError as error:
            # Bytes that are not UTF-8 on the command line arrive as lone surrogates.
            bad = error.object[error.start:error.end]
            raise click.ClickException(_one_line(f"cannot encode {bad!r} as {error.encoding} ({error.reason}): "
                                                 "give valid UTF-8 text")) from None


class Env:
    """What every command gets: where the log is and who is writing."""

    def __init__(self, db: str, clerk: str):
        self.db = db
        self.clerk = clerk
        self._conn: sqlite3.Connection | None = None

    def conn(self, create: bool = True) -> sqlite3.Connection:
        from caselog import opening

        if self._conn is None:
            self._conn = opening.open_log(self.db, create=create, notice=message)
        return self._conn


def _default_clerk() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="caselog")
@click.option("--db", envvar="CASELOG_DB", default=DEFAULT_DB, show_default=True, metavar="PATH",
              help="The caselog SQLite database (env CASELOG_DB); created on first use.")
@click.option("--clerk", envvar="CASELOG_CLERK", default=_default_clerk, metavar="NAME",
              help="Who is logging (env CASELOG_CLERK); defaults to the login name.")
@click.pass_context
def cli(ctx: click.Context, db: str, clerk: str) -> None:
    """caselog: an append-only, tamper-evident log of administrative litigation
    cases (行政诉讼) and the yearly figures reviewers publish.

    \b
    Example:
        caselog file '(2022)浙0302行初123号' --filed-on 2022-03-01 \\
            --court 某某区人民法院 --agency 市公安局 --cause 行政处罚
    """
    ctx.obj = Env(db, clerk)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM unwinds like Ctrl-C: the transaction rolls back, helpers end, scratch files go.
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


pass_env = click.make_pass_decorator(Env)


# --- output -----------------------------------------------------------------


def output_options(fn: Callable) -> Callable:
    """--table (default), --json, --csv: the same rows in three shapes."""
    for flag, help_ in (("--csv", "Comma-separated values with a header."),
                        ("--json", "A JSON array of objects."),
                        ("--table", "An aligned text table (the default).")):
        fn = click.option(flag, "fmt", flag_value=flag[2:], help=help_)(fn)
    return fn


def emit_rows(rows: list[dict], fmt: str | None, columns: Iterable[str] | None = None) -> None:
    columns = list(columns or (rows[0].keys() if rows else []))
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        from caselog import report

        click.echo(report.table(rows, columns))


def message(text: str) -> None:
    click.echo(text, err=True)


# --- clerk commands -----------------------------------------------------------


def clerk_options(fn: Callable) -> Callable:
    fn = click.option("--json", "as_json", is_flag=True, help="Print the recorded event as JSON.")(fn)
    fn = click.option("--expect-version", type=click.IntRange(min=0), metavar="N",
                      help="Refuse unless the case is at version N (N events logged): another clerk may have written.")(fn)
    return fn


def _record(env: Env, case: str | None, type_: str, payload: dict, expect_version: int | None, as_json: bool) -> None:
    from caselog import events as ev
    from caselog import writer
    from caselog.errors import InputError

    try:
        event = ev.make(type_, {k: v for k, v in payload.items() if v is not None})
        if case is None:
            target = writer.find(env.conn(), event.target)
            if target is None:
                raise InputError(f"unknown event {event.target}")
            case = target.case
        case = ev.case_number(case)
    except ValueError as error:
        raise InputError(str(error)) from None
    [recorded] = writer.append(env.conn(), [writer.Proposed(event, case, env.clerk, expect_version=expect_version)])
    if type_ == "case_filed" and ev.case_year(case) != int(event.filed_on[:4]):
        message(f"warning: {case} is numbered for {ev.case_year(case)} but filed on {event.filed_on}; "
                "the figures follow filed_on")
    out = {"event_id": recorded.event_id, "case": recorded.case, "type": recorded.type,
           "version": recorded.version, "position": recorded.position, "recorded_at": recorded.recorded_at}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(f"recorded {out['type']} {out['event_id']} for {out['case']} (version {out['version']}, position {out['position']})")


CASE = click.argument("case")


def _choice(values: Iterable[str]) -> click.Choice:
    return click.Choice(list(values))


@cli.command(name="file")
@CASE
@click.option("--filed-on", required=True, metavar="DATE", help="The date the court received the case.")
@click.option("--court", required=True, help="The court of first instance.")
@click.option("--agency", required=True, help="The defendant agency.")
@click.option("--cause", required=True, help="案由: one of the 22 causes (e.g. 行政处罚).")
@click.option("--plaintiff", help="The plaintiff.")
@click.option("--field", help="The agency's management field, e.g. 公安.")
@clerk_options
@pass_env
def file_(env: Env, case: str, filed_on: str, court: str, agency: str, cause: str, plaintiff: str | None,
          field: str | None, expect_version: int | None, as_json: bool) -> None:
    """Log that a case was filed (case_filed).

    \b
    Example:
        caselog file '(2022)浙0302行初123号' --filed-on 2022-03-01 \\
            --court 某某区人民法院 --agency 市公安局 --cause 行政处罚
    """
    _record(env, case, "case_filed", dict(filed_on=filed_on, court=court, agency=agency, cause=cause,
                                          plaintiff=plaintiff, field=field), expect_version, as_json)


@cli.command()
@CASE
@click.option("--held-on", required=True, metavar="DATE", help="The hearing date.")
@click.option("--level", type=_choice(("first", "second", "retrial")), default="first", show_default=True)
@click.option("--attendance", required=True,
              type=_choice(("principal", "deputy", "other_head", "staff", "lawyer_only", "none")),
              help="The highest-ranked person attending for the agency.")
@click.option("--official", help="Who attended, e.g. 王某.")
@click.option("--title", help="Their post (职务), e.g. 副局长.")
@click.option("--spoke/--silent", default=None, help="Whether the head spoke (required when a head attended).")
@click.option("--excuse", type=_choice(("force_majeure", "accident", "official_duty", "other")),
              help="Why the head did not attend.")
@clerk_options
@pass_env
def hearing(env: Env, case: str, held_on: str, level: str, attendance: str, official: str | None,
            title: str | None, spoke: bool | None, excuse: str | None, expect_version: int | None,
            as_json: bool) -> None:
    """Log a hearing and who attended for the agency (hearing_held).

    \b
    Example:
        caselog hearing '(2022)浙0302行初123号' --held-on 2022-05-10 \\
            --attendance deputy --official 王某 --title 副局长 --silent
    """
    _record(env, case, "hearing_held", dict(held_on=held_on, level=level, attendance=attendance, official=official,
                                            title=title, spoke=spoke, excuse=excuse), expect_version, as_json)


def disposition_option(required: bool) -> Callable:
    return click.option("--disposition", required=required, metavar="NAME",
                        help="The outcome, e.g. revoked, claims_dismissed, withdrawn_after_change"
                             + ("." if required else " (only with --result reversed)."))


@cli.command()
@CASE
@click.option("--decided-on", required=True, metavar="DATE")
@disposition_option(required=True)
@clerk_options
@pass_env
def conclude(env: Env, case: str, decided_on: str, disposition: str, expect_version: int | None, as_json: bool) -> None:
    """Log the first-instance conclusion (case_concluded).

    \b
    Example:
        caselog conclude '(2022)浙0302行初123号' --decided-on 2022-08-01 --disposition revoked
    """
    _record(env, case, "case_concluded", dict(decided_on=decided_on, disposition=disposition), expect_version, as_json)


@cli.command()
@CASE
@click.option("--filed-on", required=True, metavar="DATE")
@click.option("--appeal-case", required=True, metavar="NUMBER", help="The second-instance case number (行终).")
@click.option("--appellant", required=True, type=_choice(("plaintiff", "agency", "both")))
@clerk_options
@pass_env
def appeal(env: Env, case: str, filed_on: str, appeal_case: str, appellant: str, expect_version: int | None,
           as_json: bool) -> None:
    """Log an appeal against the first-instance conclusion (appeal_filed).

    \b
    Example:
        caselog appeal '(2022)浙0302行初123号' --filed-on 2022-08-20 \\
            --appeal-case '(2022)浙03行终45号' --appellant agency
    """
    _record(env, case, "appeal_filed", dict(filed_on=filed_on, appeal_case=appeal_case, appellant=appellant),
            expect_version, as_json)


def _decision_command(name: str, type_: str, summary: str, example: str) -> None:
    @cli.command(name=name, help=f"{summary}\n\n\b\nExample:\n    {example}")
    @CASE
    @click.option("--decided-on", required=True, metavar="DATE")
    @click.option("--result", required=True, type=_choice(("upheld", "reversed", "remanded", "withdrawn")))
    @disposition_option(required=False)
    @clerk_options
    @pass_env
    def command(env: Env, case: str, decided_on: str, result: str, disposition: str | None,
                expect_version: int | None, as_json: bool) -> None:
        _record(env, case, type_, dict(decided_on=decided_on, result=result, disposition=disposition),
                expect_version, as_json)


_decision_command("appeal-decision", "appeal_decided", "Log the decision on the pending appeal (appeal_decided).",
                  "caselog appeal-decision '(2022)浙0302行初123号' --decided-on 2022-11-02 --result reversed --disposition claims_dismissed")
_decision_command("retrial-decision", "retrial_decided", "Log a retrial's decision (retrial_decided).",
                  "caselog retrial-decision '(2022)浙0302行初123号' --decided-on 2023-06-01 --result upheld")


def _parse_set(values: tuple[str, ...]) -> dict:
    changes: dict = {}
    for item in values:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise click.BadParameter(f"{item!r} is not FIELD=VALUE", param_hint="--set")
        field = field.strip()
        if value == "":
            changes[field] = None
        elif field == "spoke":
            if value.lower() not in ("true", "false"):
                raise click.BadParameter(f"spoke is true or false, not {value!r}", param_hint="--set")
            changes[field] = value.lower() == "true"
        else:
            changes[field] = value
    return changes


@cli.command()
@click.argument("event_id")
@click.option("--set", "sets", multiple=True, required=True, metavar="FIELD=VALUE",
              help="A field's new value; FIELD= removes an optional field; spoke=true|false.")
@click.option("--reason", required=True, help="Why the correction is needed.")
@clerk_options
@pass_env
def correct(env: Env, event_id: str, sets: tuple[str, ...], reason: str, expect_version: int | None,
            as_json: bool) -> None:
    """Correct a logged event (event_corrected); the log itself never changes.

    \b
    Example:
        caselog correct 0b6f…  --set attendance=staff --set spoke= --reason 录入有误
    """
    _record(env, None, "event_corrected", dict(target=event_id, changes=_parse_set(sets), reason=reason),
            expect_version, as_json)


@cli.command()
@click.argument("event_id")
@click.option("--reason", required=True, help="Why the event should not count.")
@clerk_options
@pass_env
def retract(env: Env, event_id: str, reason: str, expect_version: int | None, as_json: bool) -> None:
    """Retract a logged event (event_retracted): it stays in the log but no longer counts.

    \b
    Example:
        caselog retract 0b6f… --reason 重复录入
    """
    _record(env, None, "event_retracted", dict(target=event_id, reason=reason), expect_version, as_json)


# --- reading ------------------------------------------------------------------


@cli.command()
@CASE
@click.option("--json", "as_json", is_flag=True, help="Print the state and trail as one JSON object.")
@pass_env
def show(env: Env, case: str, as_json: bool) -> None:
    """Show a case's current state and its whole audit trail.

    \b
    Example:
        caselog show '(2022)浙0302行初123号'
    """
    from caselog import audit, report

    detail = audit.case_detail(env.conn(create=False), case)
    click.echo(json.dumps(detail, ensure_ascii=False, indent=2) if as_json else report.case_text(detail))


@cli.command()
@click.option("--case", help="Only this case.")
@click.option("--type", "type_", help="Only events of this type, e.g. hearing_held.")
@click.option("--clerk", "clerk", help="Only events logged by this clerk.")
@click.option("--since", metavar="TIME", help="Recorded at or after (ISO date or time, UTC).")
@click.option("--until", metavar="TIME", help="Recorded at or before (a date means its end).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many, newest last.")
@output_options
@pass_env
def events(env: Env, case: str | None, type_: str | None, clerk: str | None, since: str | None, until: str | None,
           limit: int | None, fmt: str | None) -> None:
    """List logged events, filtered by case, type, clerk and when they were recorded.

    \b
    Example:
        caselog events --type event_corrected --since 2023-01-01 --csv
    """
    from caselog import audit

    rows = audit.list_events(env.conn(create=False), case=case, type_=type_, clerk=clerk, since=since,
                             until=until, limit=limit)
    emit_rows(rows, fmt, audit.EVENT_COLUMNS)


@cli.command()
@click.option("--anchor", metavar="POSITION:HASH", help="A head printed earlier: prove the log still holds that history.")
@click.option("--chain-only", is_flag=True, help="Skip comparing the projections with a fresh rebuild.")
@pass_env
def verify(env: Env, anchor: str | None, chain_only: bool) -> None:
    """Recompute the hash chain (and check the projections); exit 1 at the first mismatch.

    \b
    Example:
        caselog verify --anchor 1200:3f5c…
    """
    from caselog import audit

    head = audit.verify(env.conn(create=False), anchor, check_projections=not chain_only)
    message(f"ok: {head.position} events, chain intact" + ("" if chain_only else ", projections match a rebuild"))
    click.echo(f"head {head}")


@cli.command()
@pass_env
def head(env: Env) -> None:
    """Print the log's head as POSITION:HASH, an anchor to keep outside the file.

    \b
    Example:
        caselog head >> anchors.txt
    """
    from caselog import chain

    click.echo(str(chain.head(env.conn(create=False))))


@cli.command(name="import")
@click.argument("file", type=click.File("rb"))
@pass_env
def import_(env: Env, file: io.BufferedReader) -> None:
    """Import events from a JSON Lines file (or - for stdin), all or nothing.

    \b
    Example:
        caselog import events.jsonl
    """
    from caselog import chain, parallel

    conn = env.conn()
    if _size(file) > 1_000_000:
        with click.progressbar(length=_size(file), label="importing", file=sys.stderr) as bar:
            def all_read() -> None:
                bar.render_finish()
                message("every line checked and appended; refreshing the projections before the commit")

            done = parallel.import_file(conn, file, env.clerk, lambda read: bar.update(read - bar.pos), all_read)
    else:
        done = parallel.import_file(conn, file, env.clerk)
    message(f"imported {done} events; head {chain.head(conn)}")


def _size(file: io.BufferedReader) -> int:
    try:
        return os.fstat(file.fileno()).st_size
    except (OSError, io.UnsupportedOperation):
        return 0


@cli.command()
@pass_env
def export(env: Env) -> None:
    """Write the whole log as JSON Lines with every envelope, for backup or transfer.

    \b
    Example:
        caselog export > log.jsonl
    """
    from caselog import interchange

    for obj in interchange.export(env.conn(create=False)):
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


@cli.command()
@pass_env
def rebuild(env: Env) -> None:
    """Drop every projection and rebuild it from the log, in one transaction.

    \b
    Example:
        caselog rebuild
    """
    from caselog import opening

    head = opening.rebuild(env.conn(create=False))
    message(f"rebuilt the projections from {head.position} events")


@cli.command()
@click.option("--year", type=int, help="The year to report.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="A period's first day (with --to).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="A period's last day; compared with the same dates a year earlier.")
@click.option("--level", type=_choice(("all", "first")), default="all", show_default=True,
              help="Which hearings count for the appearance figures.")
@click.option("--agency", help="Only this agency.")
@click.option("--as-of", metavar="TIME", help="Compute from the events recorded at or before this time (UTC; a date means its end).")
@click.option("--format", "fmt", type=_choice(("text", "markdown", "json", "csv")), default="text", show_default=True)
@click.option("--lang", type=_choice(("zh", "en")), default="zh", show_default=True, help="Language of text and Markdown.")
@pass_env
def summary(env: Env, year: int | None, start: dt.datetime | None, end: dt.datetime | None, level: str,
            agency: str | None, as_of: str | None, fmt: str, lang: str) -> None:
    """The yearly rate summary: appearance, speaking and loss rates, by agency.

    \b
    Examples:
        caselog summary --year 2022
        caselog summary --year 2022 --format json --as-of 2023-01-15
        caselog summary --from 2022-01-01 --to 2022-06-30 --format markdown
    """
    from caselog import report
    from caselog import summary as summaries

    if year is None and start is None and end is None:
        raise click.UsageError("give --year, or --from and --to")
    if (start is None) != (end is None):
        raise click.UsageError("--from and --to go together")
    result = summaries.summary(env.conn(create=False), year=year, start=start and start.date(),
                               end=end and end.date(), level=level, agency=agency, as_of=as_of)
    click.echo(report.render(result, fmt, lang), nl=False)


# --- reviewers ------------------------------------------------------------------


@cli.command(name="report")
@click.option("--year", type=int, help="The year to report (default: the latest complete year).")
@click.option("--level", type=_choice(("all", "first")), default="all", show_default=True,
              help="Which hearings count for the appearance figures.")
@click.option("--agency", help="Only this agency.")
@click.option("--format", "fmt", type=_choice(("html", "docx")), default="html", show_default=True,
              help="html: one self-contained file that prints on A4; docx: the same as a Word document.")
@click.option("--output", "-o", metavar="FILE", help="Where to write it (default: caselog-report-YEAR.html or .docx).")
@pass_env
def report_(env: Env, year: int | None, level: str, agency: str | None, fmt: str, output: str | None) -> None:
    """Write the written report reviewers hand in: the figures and their changes, the charts,
    the agencies worst first, the paragraph to paste, and the log head it was computed from.

    \b
    Examples:
        caselog report --year 2022
        caselog report --year 2022 --format docx --output 2022年报告.docx
    """
    from caselog.reviewer import dashboard, written

    try:
        r = written.build(env.conn(create=False), year, level, agency)
    except dashboard.BadRequest as error:
        raise click.ClickException(_one_line(error)) from None
    path = output or written.default_name(r, fmt)
    with open(path, "wb") as out:
        written.render(r, fmt, out)
    message(f"wrote the {r['period']} report to {path}")



def serve_options(fn: Callable) -> Callable:
    fn = click.option("--base-url", metavar="PATH",
                      help="Serve under this path, behind a reverse proxy that forwards it, e.g. /caselog/.")(fn)
    fn = click.option("--setting", "settings", type=(str, str), multiple=True, metavar="NAME VALUE",
                      help="A Datasette setting, as `datasette --setting` takes it; repeatable.")(fn)
    fn = click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True,
                      help="The port to listen on.")(fn)
    fn = click.option("--host", default="127.0.0.1", show_default=True,
                      help="The address to listen on; the default keeps the server on this machine.")(fn)
    return fn


def _serve(path: str, host: str, port: int, settings: Iterable[tuple[str, str]], base_url: str | None) -> None:
    from caselog import opening
    from caselog.reviewer import serve as serving

    chosen = serving.settings(settings, base_url)  # refuse a bad setting before anything starts
    opening.open_log(path, create=False).close()  # refuse a missing or foreign file before starting
    root = f"http://{host}:{port}{chosen['base_url']}"
    message(f"serving {path} read-only at {root} (dashboard: {root}-/caselog/dashboard); Ctrl-C stops")
    serving.run(path, host, port, chosen)


@cli.command()
@click.option("--db", "path", metavar="PATH", help="The database to serve (default: caselog's --db).")
@serve_options
@pass_env
def serve(env: Env, path: str | None, host: str, port: int, settings: tuple[tuple[str, str], ...],
          base_url: str | None) -> None:
    """Serve the log to reviewers in Datasette, read-only, with the yearly dashboard.

    Pages show what clerks append while it runs.  Datasette's own settings pass
    through --setting; --base-url serves it under a path behind a reverse proxy.

    \b
    Examples:
        caselog serve --db db/demo.db --port 8001
        caselog serve --setting max_returned_rows 2000 --base-url /caselog/
    """
    _serve(path or env.db, host, port, settings, base_url)


@cli.command()
@click.option("--db", "path", default=os.path.join("db", "demo.db"), show_default=True, metavar="PATH",
              help="Where to build the demo database; replaced each run, but only if a demo built it.")
@click.option("--serve", "then_serve", is_flag=True, help="Serve the demo to reviewers once it is built.")
@click.option("--lang", type=_choice(("zh", "en")), default="zh", show_default=True, help="Language of the summary.")
@serve_options
def demo(path: str, then_serve: bool, lang: str, host: str, port: int, settings: tuple[tuple[str, str], ...],
         base_url: str | None) -> None:
    """Build a demo database of a fictitious city, print its latest complete year, and show what to open.

    \b
    Example:
        caselog demo --serve
    """
    from caselog import demo as demos
    from caselog import opening, report
    from caselog import summary as summaries

    head = demos.build(path)
    conn = opening.open_log(path, create=False)
    year = demos.latest_complete_year(conn)
    click.echo(report.render(summaries.summary(conn, year=year), "text", lang), nl=False)
    conn.close()
    message(f"\nbuilt {path}: {head.position} events, head {head}")
    message("next steps:")
    message(f"  caselog --db {path} summary --year {year} --format markdown")
    message(f"  caselog serve --db {path}      then open http://{host}:{port}/-/caselog/dashboard")
    if then_serve:
        _serve(path, host, port, settings, base_url)


@cli.command()
@click.argument("path", metavar="PATH")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@pass_env
def backup(env: Env, path: str, force: bool) -> None:
    """Copy the log to PATH while clerks keep writing, verify the copy, print its head.

    \b
    Example:
        caselog backup backups/caselog-2023-01-31.db
    """
    from caselog import backup as backups

    head = backups.backup(env.conn(create=False), path, force=force)
    message(f"backed up {head.position} events to {path}, chain intact")
    click.echo(f"head {head}")


if __name__ == "__main__":
    cli()
