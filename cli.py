"""The caselog command line: parses, calls caselog, formats.  No business logic here."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import io
import json
import os
import re
import signal
import sqlite3
import sys
import threading
from typing import Any, Callable, Iterable

import click

from caselog import __version__
from caselog.errors import CaselogError
from caselog import vocabulary

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
    """What every command gets: where the log is, who is writing, and with which key."""

    def __init__(self, db: str, clerk: str, key: str | None = None, clerk_given: bool = True):
        self.db = db
        self.clerk = clerk
        self.key = key
        self.clerk_given = clerk_given  # --clerk or CASELOG_CLERK, not the login name
        self._conn: sqlite3.Connection | None = None

    def private_key(self) -> Any:
        """The key of --key (or CASELOG_KEY), its passphrase from CASELOG_KEY_PASSPHRASE or a prompt."""
        from caselog import signing
        from caselog.errors import InputError

        if self.key is None:
            raise InputError("give your key with --key FILE (or CASELOG_KEY)")
        passphrase = None
        if signing.key_is_encrypted(self.key):
            passphrase = os.environ.get("CASELOG_KEY_PASSPHRASE") or click.prompt(
                f"passphrase of {self.key}", hide_input=True, err=True)
        return signing.load_key(self.key, passphrase)

    def seal(self, detail: str) -> Any:
        """How this command's write is signed: None for a log without keys.  The clerk becomes the
        key's holder; a --clerk naming someone else is refused."""
        from caselog import signing
        from caselog.errors import InputError

        conn = self.conn()
        if not signing.has_keys(conn):
            if self.key is not None:
                raise InputError("this log has no keys yet: an administrator starts with `caselog keys init`")
            return None
        private = self.private_key()
        self.clerk = signing.signer_name(conn, private, self.clerk if self.clerk_given else None)
        return signing.seal(private, detail)

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
              help="Who is logging (env CASELOG_CLERK); defaults to the login name, or the key's holder.")
@click.option("--key", envvar="CASELOG_KEY", metavar="FILE", type=click.Path(dir_okay=False),
              help="Your private key (env CASELOG_KEY; passphrase from CASELOG_KEY_PASSPHRASE or a prompt): "
                   "signs what you write to a log with keys.")
@click.pass_context
def cli(ctx: click.Context, db: str, clerk: str, key: str | None) -> None:
    """caselog: an append-only, tamper-evident log of administrative litigation
    cases (行政诉讼) and the yearly figures reviewers publish.

    Words may be typed in English or Chinese, labels or short forms (副职, 撤销,
    改判, 被告); dates as 2022-05-10, 2022/5/10 or 2022年5月10日.

    \b
    Example:
        caselog file '(2022)浙0302行初123号' --filed-on 2022-03-01 \\
            --court 某某区人民法院 --agency 市公安局 --cause 行政处罚
    """
    ctx.obj = Env(db, clerk, key, ctx.get_parameter_source("clerk") != click.core.ParameterSource.DEFAULT)
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
        from caselog.cells import neutralised

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(neutralised(row) for row in rows)
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


#: Fields whose option is named otherwise; every other field is the option of its own name.
FIELD_PARAMS = {"target": "event_id", "changes": "sets", "dispositions": "outcomes"}
_QUOTED = re.compile(r"""('[^']*'|"[^"]*")""")


def _options(command: click.Command) -> dict[str, str]:
    """Each field's name on the command line: held_on -> --held-on, spoke -> --spoke/--silent, case -> CASE."""
    names = {param.name: "/".join(param.opts + param.secondary_opts) if isinstance(param, click.Option)
             else param.human_readable_name for param in command.params}
    return {**names, **{field: names[param] for field, param in FIELD_PARAMS.items() if param in names}}


def _refusal(problems: list[tuple[str | None, str]], fields: Iterable[str]) -> click.ClickException:
    """One line that names every problem by its option, so one try fixes them all."""
    options = _options(click.get_current_context().command)
    words = re.compile(r"\b(" + "|".join(sorted(fields, key=len, reverse=True)) + r")\b")

    def in_options(text: str) -> str:  # field names in a message about several, outside quoted values
        return "".join(part if part[:1] in "'\"" else words.sub(lambda m: options.get(m[1], m[1]), part)
                       for part in _QUOTED.split(text))

    return click.ClickException(_one_line("; ".join(
        in_options(why) if field is None else f"{options.get(field, field)}: {why}" for field, why in problems)))


def _record(env: Env, case: str | None, type_: str, payload: dict, expect_version: int | None, as_json: bool,
            problems: Iterable[tuple[str, str]] = ()) -> None:
    """Append the clerk's event, or refuse naming every bad value (the command's own ``problems`` too)."""
    from caselog import events as ev
    from caselog import signing, writer

    seal = env.seal(signing.APPEND)
    problems = list(problems)
    if case is not None:  # None only when the command could not find the event it names
        try:
            case = ev.stream(type_, case)
        except ValueError as error:
            problems.append(("case", str(error)))
    try:
        event = vocabulary.read(type_, {k: v for k, v in payload.items() if v is not None})
    except vocabulary.EntryError as error:
        reported = {field for field, _ in problems}
        problems += [(field, why) for field, why in error.problems if field not in reported]
    if problems:
        raise _refusal(problems, ev.FIELDS[type_])
    [recorded] = writer.append(env.conn(), [writer.Proposed(event, case, env.clerk, expect_version=expect_version)],
                               seal=seal)
    if type_ == "case_filed" and ev.case_year(case) != int(event.filed_on[:4]):
        message(f"warning: {case} is numbered for {ev.case_year(case)} but filed on {event.filed_on}; "
                "the figures follow filed_on")
    out = {"event_id": recorded.event_id, "case": recorded.case, "type": recorded.type,
           "version": recorded.version, "position": recorded.position, "recorded_at": recorded.recorded_at}
    if ev.business_date(recorded.event):
        out["date"] = ev.business_date(recorded.event)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        # The business date as stored (ISO), whichever way the clerk wrote it.
        dated = f" dated {out['date']}" if out.get("date") else ""
        click.echo(f"recorded {out['type']} {out['event_id']} for {out['case']}{dated} "
                   f"(version {out['version']}, position {out['position']})")


def _open_for_completion(ctx: click.Context) -> sqlite3.Connection | None:
    """The --db the command line names, read-only, or None: a completion never creates or waits."""
    from caselog import database

    path = ctx.find_root().params.get("db") or DEFAULT_DB
    try:
        conn = database.read_only(path)
        conn.execute("PRAGMA busy_timeout = 200")
        return conn
    except sqlite3.Error:
        return None


def _completing(find: Callable[[sqlite3.Connection, str], list[str]]) -> Callable:
    """A shell_complete callback offering what ``find`` reads from the log; nothing if it cannot."""
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        conn = _open_for_completion(ctx)
        if conn is None:
            return []
        try:
            return find(conn, incomplete)
        except sqlite3.Error:  # not a caselog file, or one without projections yet
            return []
        finally:
            conn.close()

    return complete


def _complete_cases(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from caselog import lookup

    return _completing(lookup.cases)(ctx, param, incomplete)


def _complete_agencies(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from caselog import lookup

    return _completing(lookup.agencies)(ctx, param, incomplete)


NEW_CASE = click.argument("case")
CASE = click.argument("case", shell_complete=_complete_cases)


def _choice(values: Iterable[str]) -> click.Choice:
    return click.Choice(list(values))


class Words(click.Choice):
    """A word of the vocabulary, in English, as its Chinese label or a short form (副职, 撤销).

    The command reads it (``vocabulary.word``) with its other values, so that one refusal names
    every bad one; this type gives the help, the choices and the completions.
    """

    def __init__(self, field: str):
        self.field = field
        super().__init__(vocabulary.WORDS[field])

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.field.upper()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
        from click.shell_completion import CompletionItem

        return [CompletionItem(value, help=meaning) for value, meaning in vocabulary.completions(self.field, incomplete)]


def words_option(*decls: str, help: str, **kw: Any) -> Callable:
    """An option whose value is a word of the vocabulary; its help lists every word with its Chinese."""
    field = decls[-1].lstrip("-").replace("-", "_")
    listing = ", ".join(vocabulary.label(word, field) for word in vocabulary.WORDS[field])
    return click.option(*decls, type=Words(field), help=f"{help} One of: {listing}.", **kw)


@cli.command(name="file")
@NEW_CASE
@click.option("--filed-on", required=True, metavar="DATE", help="The date the court received the case.")
@click.option("--court", required=True, help="The court of first instance.")
@click.option("--agency", required=True, shell_complete=_complete_agencies, help="The defendant agency.")
@words_option("--cause", required=True, help="案由 (法发〔2020〕44号).")
@click.option("--plaintiff", help="The plaintiff.")
@click.option("--field", help="The agency's management field, e.g. 公安.")
@click.option("--co-defendant", "co_defendants", multiple=True, metavar="NAME",
              help="Another defendant (repeatable), each with the --role given in the same place.")
@click.option("--role", "roles", multiple=True, type=Words("role"),
              help="A co-defendant's role: reconsideration (复议机关) or joint (共同被告).")
@clerk_options
@pass_env
def file_(env: Env, case: str, filed_on: str, court: str, agency: str, cause: str, plaintiff: str | None,
          field: str | None, co_defendants: tuple[str, ...], roles: tuple[str, ...], expect_version: int | None,
          as_json: bool) -> None:
    """Log that a case was filed (case_filed).

    \b
    Example:
        caselog file '(2022)浙0302行初123号' --filed-on 2022-03-01 \\
            --court 某某区人民法院 --agency 市公安局 --cause 行政处罚 \\
            --co-defendant 市人民政府 --role reconsideration
    """
    if len(roles) != len(co_defendants):
        raise click.UsageError(f"give one --role for each --co-defendant ({len(co_defendants)} co-defendant(s), "
                               f"{len(roles)} role(s))")
    problems: list[tuple[str | None, str]] = []
    others = []
    for name, role in zip(co_defendants, roles):
        try:
            others.append({"agency": name, "role": vocabulary.word("role", role)})
        except ValueError as error:
            problems.append(("roles", str(error)))
    _record(env, case, "case_filed", dict(filed_on=filed_on, court=court, agency=agency, cause=cause,
                                          plaintiff=plaintiff, field=field, co_defendants=others or None),
            expect_version, as_json, problems)


@cli.command(name="add-defendant")
@CASE
@click.option("--added-on", required=True, metavar="DATE", help="The date the court added the defendant.")
@click.option("--agency", required=True, help="The added defendant agency.")
@words_option("--role", required=True, help="The added defendant's role.")
@clerk_options
@pass_env
def add_defendant(env: Env, case: str, added_on: str, agency: str, role: str, expect_version: int | None,
                  as_json: bool) -> None:
    """Log that the court added a co-defendant (defendant_added).

    \b
    Example:
        caselog add-defendant '(2022)浙0302行初123号' --added-on 2022-04-02 \\
            --agency 市人民政府 --role reconsideration
    """
    _record(env, case, "defendant_added", dict(added_on=added_on, agency=agency, role=role), expect_version, as_json)


@cli.command()
@CASE
@click.option("--held-on", required=True, metavar="DATE", help="The hearing date.")
@words_option("--level", default="first", show_default=True, help="The instance the hearing belongs to.")
@words_option("--attendance", required=True, help="The highest-ranked person attending for the agency.")
@click.option("--official", help="Who attended, e.g. 王某.")
@click.option("--title", help="Their post (职务), e.g. 副局长.")
@click.option("--spoke/--silent", default=None, help="Whether the head spoke (required when a head attended).")
@words_option("--excuse", help="Why the head did not attend.")
@click.option("--excuse-rejected", is_flag=True, help="The court found the excuse invalid (不成立).")
@click.option("--agency", shell_complete=_complete_agencies,
              help="The defendant whose attendance this records (required when the case has several).")
@click.option("--left-early", is_flag=True, help="The head left before the end without leave (中途退庭).")
@click.option("--refused-to-explain", is_flag=True, help="The head refused to explain when the court asked.")
@clerk_options
@pass_env
def hearing(env: Env, case: str, held_on: str, level: str, attendance: str, official: str | None,
            title: str | None, spoke: bool | None, excuse: str | None, excuse_rejected: bool, agency: str | None,
            left_early: bool, refused_to_explain: bool, expect_version: int | None, as_json: bool) -> None:
    """Log a hearing and who attended for a defendant (hearing_held).

    \b
    Example:
        caselog hearing '(2022)浙0302行初123号' --held-on 2022-05-10 \\
            --attendance deputy --official 王某 --title 副局长 --silent
    """
    _record(env, case, "hearing_held", dict(held_on=held_on, level=level, attendance=attendance, official=official,
                                            title=title, spoke=spoke, excuse=excuse, agency=agency,
                                            excuse_rejected=excuse_rejected or None, left_early=left_early or None,
                                            refused_to_explain=refused_to_explain or None),
            expect_version, as_json)


def disposition_option(required: bool) -> Callable:
    def options(fn: Callable) -> Callable:
        fn = click.option("--outcome", "outcomes", multiple=True, metavar="AGENCY=NAME",
                          help="A defendant whose outcome differs from --disposition (repeatable), e.g. "
                               "市人民政府=撤销" + ("." if required else "; only with --result reversed."))(fn)
        return words_option("--disposition", required=required,
                            help="The outcome (裁判结果)" + ("." if required else ", only with --result reversed."))(fn)
    return options


def _outcomes(values: tuple[str, ...], problems: list[tuple[str | None, str]]) -> dict[str, str] | None:
    """--outcome AGENCY=NAME options as the event's ``dispositions``, each disposition read as a word."""
    out: dict[str, str] = {}
    for item in values:
        agency, sep, disposition = item.rpartition("=")
        if not sep or not agency.strip() or not disposition.strip():
            problems.append(("dispositions", f"{item!r} is not AGENCY=DISPOSITION"))
            continue
        try:
            out[agency.strip()] = vocabulary.word("disposition", disposition.strip())
        except ValueError as error:
            problems.append(("dispositions", f"{agency.strip()}: {error}"))
    return out or None


@cli.command()
@CASE
@click.option("--decided-on", required=True, metavar="DATE")
@disposition_option(required=True)
@clerk_options
@pass_env
def conclude(env: Env, case: str, decided_on: str, disposition: str, outcomes: tuple[str, ...],
             expect_version: int | None, as_json: bool) -> None:
    """Log the first-instance conclusion (case_concluded).

    \b
    Example:
        caselog conclude '(2022)浙0302行初123号' --decided-on 2022-08-01 --disposition revoked
        caselog conclude '(2022)浙0302行初124号' --decided-on 2022-08-01 \\
            --disposition claims_dismissed --outcome 市人民政府=revoked
    """
    problems: list[tuple[str | None, str]] = []
    _record(env, case, "case_concluded", dict(decided_on=decided_on, disposition=disposition,
                                              dispositions=_outcomes(outcomes, problems)), expect_version, as_json,
            problems)


@cli.command()
@CASE
@click.option("--filed-on", required=True, metavar="DATE")
@click.option("--appeal-case", required=True, metavar="NUMBER", help="The second-instance case number (行终).")
@words_option("--appellant", required=True, help="Who appealed.")
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
    @words_option("--result", required=True, help="The decision on the case.")
    @disposition_option(required=False)
    @clerk_options
    @pass_env
    def command(env: Env, case: str, decided_on: str, result: str, disposition: str | None,
                outcomes: tuple[str, ...], expect_version: int | None, as_json: bool) -> None:
        problems: list[tuple[str | None, str]] = []
        _record(env, case, type_, dict(decided_on=decided_on, result=result, disposition=disposition,
                                       dispositions=_outcomes(outcomes, problems)), expect_version, as_json, problems)


_decision_command("appeal-decision", "appeal_decided", "Log the decision on the pending appeal (appeal_decided).",
                  "caselog appeal-decision '(2022)浙0302行初123号' --decided-on 2022-11-02 --result reversed --disposition claims_dismissed")
_decision_command("retrial-decision", "retrial_decided", "Log a retrial's decision (retrial_decided).",
                  "caselog retrial-decision '(2022)浙0302行初123号' --decided-on 2023-06-01 --result upheld")


_BOOLEAN_FIELDS = ("spoke", "left_early", "refused_to_explain", "excuse_rejected")
_JSON_FIELDS = {"co_defendants": '[{"agency": "市人民政府", "role": "reconsideration"}]',
                "dispositions": '{"市人民政府": "revoked"}'}


def _target(env: Env, event_id: str, problems: list[tuple[str | None, str]]) -> Any:
    """The logged event an id or a unique prefix of it names, or None with the problem noted."""
    from caselog import lookup
    from caselog.errors import InputError

    try:
        return lookup.event(env.conn(), event_id)
    except InputError as error:
        problems.append(("target", str(error)))
        return None


def _parse_set(values: tuple[str, ...], target: Any, problems: list[tuple[str | None, str]]) -> dict:
    """--set FIELD=VALUE as a correction's changes, each read as the target's own field is read."""
    from caselog import events as ev

    changes: dict = {}
    for item in values:
        field, sep, value = item.partition("=")
        field = field.strip()
        if not sep or not field:
            problems.append(("changes", f"{item!r} is not FIELD=VALUE"))
        elif value == "":
            changes[field] = None
        elif field in _BOOLEAN_FIELDS:
            try:
                changes[field] = vocabulary.truth(value)
            except ValueError as error:
                problems.append((f"--set {field}", str(error)))
        elif field in _JSON_FIELDS:
            try:
                changes[field] = json.loads(value)
            except ValueError:
                problems.append((f"--set {field}", f"takes JSON, e.g. {_JSON_FIELDS[field]}"))
        else:
            changes[field] = value
    if target is None or target.type in ev.META_TYPES or not set(changes) <= set(ev.FIELDS[target.type]):
        return changes  # the rules refuse what is left, naming it
    try:
        corrected = vocabulary.read(target.type, {k: v for k, v in {**ev.payload(target.event), **changes}.items()
                                                  if v is not None})
    except vocabulary.EntryError as error:
        # Whether the fields agree is news only when each --set value was good.
        problems += [(f"--set {field}", why) if field else (None, f"the corrected {target.type} would be invalid: {why}")
                     for field, why in error.problems if field or not problems]
        return changes
    return {field: None if value is None else getattr(corrected, field) for field, value in changes.items()}


@cli.command()
@click.argument("event_id")
@click.option("--set", "sets", multiple=True, required=True, metavar="FIELD=VALUE",
              help="A field's new value, as its option takes it (attendance=副职, held_on=2022/5/10); "
                   "FIELD= removes an optional field; spoke=true|false (是|否), likewise left_early, "
                   "refused_to_explain, excuse_rejected; co_defendants and dispositions take JSON.")
@click.option("--reason", required=True, help="Why the correction is needed.")
@clerk_options
@pass_env
def correct(env: Env, event_id: str, sets: tuple[str, ...], reason: str, expect_version: int | None,
            as_json: bool) -> None:
    """Correct a logged event (event_corrected); the log itself never changes.

    EVENT_ID may be the first 8 or more characters of the id, if no other event's id begins with them.

    \b
    Example:
        caselog correct 01a2420e-b9ee --set attendance=staff --set spoke= --reason 录入有误
    """
    problems: list[tuple[str | None, str]] = []
    target = _target(env, event_id, problems)
    changes = _parse_set(sets, target, problems)
    _record(env, target and target.case, "event_corrected",
            dict(target=target.event_id if target else event_id, changes=changes, reason=reason),
            expect_version, as_json, problems)


@cli.command()
@click.argument("event_id")
@click.option("--reason", required=True, help="Why the event should not count.")
@clerk_options
@pass_env
def retract(env: Env, event_id: str, reason: str, expect_version: int | None, as_json: bool) -> None:
    """Retract a logged event (event_retracted): it stays in the log but no longer counts.

    EVENT_ID may be the first 8 or more characters of the id, if no other event's id begins with them.

    \b
    Example:
        caselog retract 01a2420e-b9ee --reason 重复录入
    """
    problems: list[tuple[str | None, str]] = []
    target = _target(env, event_id, problems)
    _record(env, target and target.case, "event_retracted",
            dict(target=target.event_id if target else event_id, reason=reason), expect_version, as_json, problems)


@cli.command()
@click.argument("event_id")
@click.option("--field", required=True, help="The personal name to remove: plaintiff (case_filed) or official (hearing_held).")
@click.option("--reason", required=True, help="Why, e.g. the plaintiff's request for deletion.")
@pass_env
def redact(env: Env, event_id: str, field: str, reason: str) -> None:
    """Remove a personal name from a logged event for good (payload_redacted); an administrator's act.

    The value leaves the event, the projections and the file; the chain, the event's other fields
    and the signatures still verify.  A log with keys needs an administrator's --key.  An event
    logged before redaction existed (schema version 1) was committed to as a whole: its other
    fields are then checked against the redaction instead.  EVENT_ID may be a unique prefix.

    \b
    Example:
        caselog --key admin.key redact 01a2420e-b9ee --field plaintiff --reason 当事人申请删除个人信息
    """
    from caselog import lookup, redaction, signing

    conn = env.conn(create=False)
    admin = env.private_key() if signing.has_keys(conn) else None
    if admin is not None:  # as for every signed write: --clerk, if given, must name the key's holder
        signing.signer_name(conn, admin, env.clerk if env.clerk_given else None)
    done = redaction.redact(conn, lookup.event(conn, event_id).event_id, field, reason, env.clerk, admin)
    whole = (" (schema version 1: its payload was committed to as a whole, so its other fields are now checked "
             "against the redaction, not the original hash)") if done.whole else ""
    message(f"redacted the {done.field} of event {done.target}{whole}; logged as event {done.event_id}")
    if not done.wal_cleared:
        message(f"warning: another connection is reading the log, so {env.db}-wal may keep the old value until "
                "every connection to the log has closed")


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
@click.option("--case", shell_complete=_complete_cases, help="Only this case.")
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
@click.option("--anchor", metavar="POSITION:HASH|FILE",
              help="A head printed earlier, or a file holding one or a signed checkpoint (`caselog checkpoint`): "
                   "prove the log still holds that history.")
@click.option("--chain-only", is_flag=True, help="Skip comparing the projections with a fresh rebuild.")
@pass_env
def verify(env: Env, anchor: str | None, chain_only: bool) -> None:
    """Recompute the hash chain, check every signature (and the projections); exit 1 at the first mismatch.

    \b
    Examples:
        caselog verify --anchor 1200:3f5c…
        caselog verify --anchor checkpoint-2023-01.json
    """
    from caselog import audit

    if anchor is not None and os.path.isfile(anchor):
        with open(anchor, encoding="utf-8") as file:
            anchor = file.read().strip()
    head = audit.verify(env.conn(create=False), anchor, check_projections=not chain_only, notes=message)
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


# --- keys and checkpoints ---------------------------------------------------------------


@cli.group(cls=Group)
def keys() -> None:
    """Who may write: the administrator's and the clerks' signing keys, kept in the log itself.

    \b
    Example:
        caselog --clerk 张管理 keys init --out ~/keys/admin.key
        caselog --key ~/keys/admin.key keys add 李书记员 --out /media/usb/li.key --passphrase
    """


def new_key_options(fn: Callable) -> Callable:
    fn = click.option("--passphrase", "ask", is_flag=True,
                      help="Protect the new key file with a passphrase (asked twice).")(fn)
    fn = click.option("--out", required=True, type=click.Path(dir_okay=False), metavar="FILE",
                      help="Where to write the new private key (created with mode 0600; never overwritten).")(fn)
    return fn


def _new_key(out: str, ask: bool) -> Any:
    from caselog import signing

    passphrase = click.prompt(f"passphrase for {out}", hide_input=True, confirmation_prompt=True, err=True) if ask else None
    return signing.new_key_file(out, passphrase)


@keys.command(name="init")
@click.option("--name", metavar="NAME", help="The administrator's name (default: --clerk).")
@new_key_options
@pass_env
def keys_init(env: Env, name: str | None, out: str, ask: bool) -> None:
    """Make the administrator's key and record its public key as the log's first key.

    Once a log has keys, every write must be signed by a clerk's key (--key).

    \b
    Example:
        caselog --clerk 张管理 keys init --out ~/keys/admin.key --passphrase
    """
    from caselog import signing

    entry = signing.init(env.conn(), name or env.clerk, lambda: _new_key(out, ask))
    message(f"{entry['name']} is the administrator of {env.db}; key {signing.fingerprint(entry['key'])} in {out}")


@keys.command(name="add")
@click.argument("name")
@click.option("--role", type=_choice(("clerk", "admin")), default="clerk", show_default=True)
@new_key_options
@pass_env
def keys_add(env: Env, name: str, role: str, out: str, ask: bool) -> None:
    """An administrator (--key) makes NAME's key and records its public key in the log.

    \b
    Example:
        caselog --key ~/keys/admin.key keys add 李书记员 --out li.key --passphrase
    """
    from caselog import signing

    entry = signing.add(env.conn(create=False), env.private_key(), name, lambda: _new_key(out, ask), role)
    message(f"added {entry['name']} ({role}), key {signing.fingerprint(entry['key'])} in {out}")


@keys.command(name="revoke")
@click.argument("name")
@pass_env
def keys_revoke(env: Env, name: str) -> None:
    """An administrator (--key) revokes NAME's key: it signs nothing from now on.

    \b
    Example:
        caselog --key ~/keys/admin.key keys revoke 李书记员
    """
    from caselog import signing

    signing.revoke(env.conn(create=False), env.private_key(), name)
    message(f"revoked the key of {name}")


@keys.command(name="list")
@output_options
@pass_env
def keys_list(env: Env, fmt: str | None) -> None:
    """List the log's keys: holder, role, fingerprint, when added and revoked.

    \b
    Example:
        caselog keys list --json
    """
    from caselog import signing

    emit_rows(signing.keys(env.conn(create=False)), fmt, ("name", "role", "fingerprint", "added_at", "revoked_at"))


@cli.command()
@pass_env
def checkpoint(env: Env) -> None:
    """Sign the log's head with your key (--key) and print it as one JSON line for the committee.

    `caselog verify --anchor FILE` later proves the log still holds that history, signed by that key.

    \b
    Example:
        caselog --key ~/keys/li.key checkpoint > checkpoint-2023-01.json
    """
    from caselog import signing

    click.echo(json.dumps(signing.checkpoint(env.conn(create=False), env.private_key()), ensure_ascii=False))


@cli.command(name="import")
@click.argument("file", type=click.File("rb"))
@pass_env
def import_(env: Env, file: io.BufferedReader) -> None:
    """Import events from a JSON Lines file (or - for stdin), all or nothing.

    Lines keep the recorded_by they give (historical records); the import is signed by your key.

    \b
    Example:
        caselog import events.jsonl
    """
    from caselog import chain, parallel, signing

    conn = env.conn()
    seal = env.seal(signing.IMPORT)
    if _size(file) > 1_000_000:
        with click.progressbar(length=_size(file), label="importing", file=sys.stderr) as bar:
            def all_read() -> None:
                bar.render_finish()
                message("every line checked and appended; refreshing the projections before the commit")

            done = parallel.import_file(conn, file, env.clerk, lambda read: bar.update(read - bar.pos), all_read, seal)
    else:
        done = parallel.import_file(conn, file, env.clerk, seal=seal)
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


# --- the case sheet ------------------------------------------------------------------------


@cli.group(cls=Group)
def sheet() -> None:
    """The case sheet (台账) clerks keep in Excel: one row a case, Chinese headers.

    \b
    Example:
        caselog sheet template 台账.xlsx
        caselog sheet import 台账-2023-03.xlsx --dry-run
        caselog sheet export 台账.xlsx
    """


@sheet.command(name="template")
@click.argument("file", type=click.Path(dir_okay=False))
def sheet_template(file: str) -> None:
    """Write an empty case sheet: headers, dropdowns and a sheet (取值) of every allowed value.

    \b
    Example:
        caselog sheet template 台账.xlsx
    """
    from caselog import sheet as case_sheet

    case_sheet.write(file, [])
    message(f"wrote the case sheet template {file}")


@sheet.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="List every bad cell and every cell that contradicts the log, "
                                              "one a line; write nothing (exit 1 if it lists any).")
@click.option("--correct", is_flag=True, help="Correct the events the contradicting cells show (event_corrected).")
@click.option("--reason", help="Why, for --correct.")
@pass_env
def sheet_import(env: Env, file: str, dry_run: bool, correct: bool, reason: str | None) -> None:
    """Import a case sheet (.xlsx or .csv), all or nothing: what the log lacks becomes events.

    Rows whose cells the log already holds add nothing, so a sheet sent again every month adds only
    what is new; cells that differ from the log are listed (on stderr), and corrected with --correct.

    \b
    Example:
        caselog sheet import 台账-2023-03.xlsx --dry-run
        caselog sheet import 台账-2023-03.xlsx --correct --reason 法院回函更正
    """
    from caselog import chain, signing, writer
    from caselog import sheet as case_sheet

    if correct != (reason is not None):
        raise click.UsageError("--correct and --reason go together")
    rows = case_sheet.read(file)
    conn = env.conn()
    plan = case_sheet.plan(conn, rows, env.clerk, reason)
    if dry_run:
        for line in [*plan.problems, *([] if correct else plan.contradictions)]:
            click.echo(str(line))
        message(f"{file}: {plan.rows} rows; would add {len(plan.items)} events "
                f"({plan.corrections} corrections); nothing written (dry run)")
        if plan.problems or (plan.contradictions and not correct):
            raise SystemExit(1)
        return
    refused = case_sheet.refusal(plan)
    if refused is not None:
        raise refused
    if plan.items:
        writer.import_events(conn, plan.items, seal=env.seal(signing.IMPORT))
    if not correct:
        for contradiction in plan.contradictions:
            message(f"contradicts the log: {contradiction}")
    message(f"{file}: {plan.rows} rows; added {len(plan.items)} events ({plan.corrections} corrections); "
            f"head {chain.head(conn)}")
    if plan.contradictions and not correct:
        message(f"{len(plan.contradictions)} cell(s) contradict the log and were left as logged: "
                "check them, then run again with --correct --reason TEXT")


@sheet.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_env
def sheet_export(env: Env, file: str) -> None:
    """Write the log's cases as a case sheet, in the layout of the template.

    \b
    Example:
        caselog sheet export 台账.xlsx
    """
    from caselog import sheet as case_sheet

    count = case_sheet.write(file, case_sheet.rows_of(env.conn(create=False)))
    message(f"wrote {count} cases to {file}")


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
@click.option("--year", type=int, help="The year to report (default: the latest complete year).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="A period's first day (with --to).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="A period's last day; compared with the same dates a year earlier.")
@click.option("--level", type=_choice(("all", "first")), default="all", show_default=True,
              help="Which hearings count for the appearance figures.")
@click.option("--agency", shell_complete=_complete_agencies, help="Only this agency.")
@click.option("--as-of", metavar="TIME", help="Compute from the events recorded at or before this time (UTC; a date means its end).")
@click.option("--format", "fmt", type=_choice(("text", "markdown", "json", "csv")), default="text", show_default=True)
@click.option("--lang", type=_choice(("zh", "en")), default="zh", show_default=True, help="Language of text and Markdown.")
@pass_env
def summary(env: Env, year: int | None, start: dt.datetime | None, end: dt.datetime | None, level: str,
            agency: str | None, as_of: str | None, fmt: str, lang: str) -> None:
    """The yearly rate summary: appearance, speaking and loss rates, by agency.

    \b
    Examples:
        caselog summary
        caselog summary --year 2022
        caselog summary --year 2022 --format json --as-of 2023-01-15
        caselog summary --from 2022-01-01 --to 2022-06-30 --format markdown
    """
    from caselog import report
    from caselog import summary as summaries

    if (start is None) != (end is None):
        raise click.UsageError("--from and --to go together")
    conn = env.conn(create=False)
    if year is None and start is None:
        year = summaries.latest_complete_year(conn)
        if year is None:
            raise click.ClickException("the log has no figures yet: log a case first, or give --year")
    result = summaries.summary(conn, year=year, start=start and start.date(),
                               end=end and end.date(), level=level, agency=agency, as_of=as_of)
    click.echo(report.render(result, fmt, lang), nl=False)


# --- the agency registry ----------------------------------------------------------


@cli.group(cls=Group)
def agency() -> None:
    """The agency registry (机构名录): each defendant's one name, its aliases, level and region.

    The registry is kept as events in the log.  Once an agency is registered, a case event naming an
    agency that is neither registered nor an alias is refused; an alias is logged as its agency.

    \b
    Example:
        caselog agency add 市公安局 --level 市级部门 --region 市本级 --alias 公安局
    """


def _registered(env: Env, type_: str, payload: dict, as_json: bool) -> None:
    from caselog import events as ev

    _record(env, ev.REGISTRY, type_, payload, None, as_json)


def registry_json_option(fn: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print the recorded event as JSON.")(fn)


@agency.command(name="add")
@click.argument("agency")
@words_option("--level", "agency_level", required=True, help="被告级别.")
@click.option("--region", required=True, help="区县: its district or county (市本级 for the city's own).")
@click.option("--alias", "aliases", multiple=True, metavar="NAME", help="Another name it goes by (repeatable).")
@registry_json_option
@pass_env
def agency_add(env: Env, agency: str, agency_level: str, region: str, aliases: tuple[str, ...], as_json: bool) -> None:
    """Register an agency (agency_registered).

    \b
    Example:
        caselog agency add 市公安局 --level city_dept --region 市本级 --alias 公安局
    """
    _registered(env, "agency_registered", dict(agency=agency, agency_level=agency_level, region=region,
                                               aliases=list(aliases) or None), as_json)


@agency.command(name="alias")
@click.argument("agency", shell_complete=_complete_agencies)
@click.argument("alias")
@registry_json_option
@pass_env
def agency_alias(env: Env, agency: str, alias: str, as_json: bool) -> None:
    """Record another name a registered agency goes by (agency_aliased).

    \b
    Example:
        caselog agency alias 市公安局 市公安
    """
    _registered(env, "agency_aliased", dict(agency=agency, alias=alias), as_json)


@agency.command(name="rename")
@click.argument("agency", shell_complete=_complete_agencies)
@click.argument("new_name", metavar="NEW")
@click.option("--on", "renamed_on", required=True, metavar="DATE", help="The date the new name took effect.")
@registry_json_option
@pass_env
def agency_rename(env: Env, agency: str, new_name: str, renamed_on: str, as_json: bool) -> None:
    """Rename an agency (agency_renamed, 机构改革): its figures under the old name stay its own.

    \b
    Example:
        caselog agency rename 市国土资源局 市自然资源和规划局 --on 2019-01-10
    """
    _registered(env, "agency_renamed", dict(agency=agency, new_name=new_name, renamed_on=renamed_on), as_json)


@agency.command(name="update")
@click.argument("agency", shell_complete=_complete_agencies)
@words_option("--level", "agency_level", help="Its new level (被告级别).")
@click.option("--region", help="Its new region (区县).")
@registry_json_option
@pass_env
def agency_update(env: Env, agency: str, agency_level: str | None, region: str | None, as_json: bool) -> None:
    """Change a registered agency's level or region (agency_updated).

    \b
    Example:
        caselog agency update 城东区人民政府 --region 城东区
    """
    _registered(env, "agency_updated", dict(agency=agency, agency_level=agency_level, region=region), as_json)


@agency.command(name="list")
@click.option("--as-of", metavar="TIME", help="The registry as it was at this time (UTC; a date means its end).")
@output_options
@pass_env
def agency_list(env: Env, as_of: str | None, fmt: str | None) -> None:
    """List the registered agencies: name, level, region, aliases, former names.

    \b
    Example:
        caselog agency list --csv > agencies.csv
    """
    from caselog import audit

    emit_rows(audit.agencies_listed(env.conn(create=False), as_of), fmt, audit.AGENCY_COLUMNS)


@agency.command(name="show")
@click.argument("agency", shell_complete=_complete_agencies)
@click.option("--json", "as_json", is_flag=True, help="Print the agency and its registry events as one JSON object.")
@pass_env
def agency_show(env: Env, agency: str, as_json: bool) -> None:
    """Show a registered agency, by any of its names, and the registry events that made it.

    \b
    Example:
        caselog agency show 公安局
    """
    from caselog import audit

    found = audit.agency_detail(env.conn(create=False), agency)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    click.echo("\n".join(f"{key}: {value}" for key, value in found.items() if key != "events"))
    emit_rows(found["events"], None, ("position", "recorded_at", "recorded_by", "type", "payload"))


@agency.command(name="import")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@pass_env
def agency_import(env: Env, path: str) -> None:
    """Register the agencies of a CSV or XLSX sheet, all or nothing.

    The first row names the columns 名称, 级别, 区县 and optionally 别名 (several separated by 、 or ;);
    级别 is a code (city_dept) or its label (市级部门).  A refusal names every bad row.

    \b
    Example:
        caselog agency import 机构名录.xlsx
    """
    from caselog import agencies, chain, signing, writer
    from caselog import events as ev

    conn = env.conn()
    seal = env.seal(signing.IMPORT)
    rows = agencies.sheet_events(agencies.read_table(path), writer.registry_of(conn))
    writer.append(conn, [writer.Proposed(event, ev.REGISTRY, env.clerk, source=f"row {number}")
                         for number, event in rows], seal=seal)
    message(f"registered {len(rows)} agencies; head {chain.head(conn)}")


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
                      help="The address to listen on; the default keeps the server on this machine. "
                           "Any other needs accounts (`caselog accounts add`).")(fn)
    return fn


def _serve(path: str, host: str, port: int, settings: Iterable[tuple[str, str]], base_url: str | None) -> None:
    from caselog import opening
    from caselog.reviewer import serve as serving

    chosen = serving.settings(settings, base_url)  # refuse a bad setting before anything starts
    # Refuse a missing or foreign file before starting, and stale projections Datasette would show.
    opening.open_log(path, create=False, elsewhere=False).close()
    people = serving.people(path, host)
    root = f"http://{host}:{port}{chosen['base_url']}"
    message(f"serving {path} read-only at {root} (dashboard: {root}-/caselog/dashboard)"
            + (f"; sign in at {root}-/login ({len(people)} accounts)" if people else "") + "; Ctrl-C stops")
    serving.run(path, host, port, people, chosen)


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


@cli.group(cls=Group)
def accounts() -> None:
    """Reviewers' accounts for `caselog serve`, kept in LOG.accounts.json (mode 0600) beside the log.

    A reviewer sees the figures, tables and canned queries with personal names masked (张某); an
    auditor sees everything, the events' payloads and their own SQL included.

    \b
    Example:
        caselog accounts add 评审甲 --role reviewer
    """


@accounts.command(name="add")
@click.argument("name")
@click.option("--role", type=_choice(("reviewer", "auditor")), required=True)
@pass_env
def accounts_add(env: Env, name: str, role: str) -> None:
    """Add an account (or set its role and password); the password, from CASELOG_ACCOUNT_PASSWORD
    or asked twice, is stored hashed.

    \b
    Example:
        caselog accounts add 审计乙 --role auditor
    """
    from caselog.reviewer import accounts as people

    password = os.environ.get("CASELOG_ACCOUNT_PASSWORD") or click.prompt(
        f"password for {name}", hide_input=True, confirmation_prompt=True, err=True)
    people.add(env.db, name, role, password)
    message(f"{name} is a {role} of {env.db}")


@accounts.command(name="remove")
@click.argument("name")
@pass_env
def accounts_remove(env: Env, name: str) -> None:
    """Remove an account: its next request is refused, whatever its cookie says.

    \b
    Example:
        caselog accounts remove 评审甲
    """
    from caselog.reviewer import accounts as people

    people.remove(env.db, name)
    message(f"removed {name}")


@accounts.command(name="list")
@output_options
@pass_env
def accounts_list(env: Env, fmt: str | None) -> None:
    """List the accounts and their roles.

    \b
    Example:
        caselog accounts list
    """
    from caselog.reviewer import accounts as people

    emit_rows(people.listed(env.db), fmt, ("name", "role"))


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
    year = summaries.latest_complete_year(conn)
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


@cli.command()
@click.argument("shell", type=_choice(("bash", "zsh", "fish")))
def completion(shell: str) -> None:
    """Print the shell completion script: commands, options, their words, agencies and case numbers.

    \b
    Examples:
        eval "$(caselog completion bash)"        # in ~/.bashrc
        eval "$(caselog completion zsh)"         # in ~/.zshrc
        caselog completion fish > ~/.config/fish/completions/caselog.fish
    """
    from click.shell_completion import get_completion_class

    script = get_completion_class(shell)(cli, {}, "caselog", "_CASELOG_COMPLETE")
    click.echo(script.source())


if __name__ == "__main__":
    cli()
