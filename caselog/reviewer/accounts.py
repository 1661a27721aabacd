"""Reviewers' accounts: who may sign in to `caselog serve`, and what each role may read.

The accounts live in a JSON file beside the log (``LOG.accounts.json``, mode
0600), never in the log: the log is served, and a password hash is for no
reviewer's eyes.  Passwords are hashed by datasette-auth-passwords (PBKDF2-SHA256,
480,000 rounds, a random salt each), whose ``/-/login`` page signs people in.

- ``reviewer``: the figures, the dashboard, the projection tables and the canned
  queries that show no payload; personal names (plaintiffs, officials) masked
  as 张某; no SQL of their own, no ``events``, no downloads of rows.
- ``auditor``: everything, unmasked, including ``events`` with its payloads,
  arbitrary SQL and the streamed CSV.
"""

from __future__ import annotations

import contextvars
import json
import os
from pathlib import Path
from typing import Any, Callable

from caselog.errors import InputError

ROLES = ("reviewer", "auditor")
PLUGIN = "datasette-auth-passwords"
# What only an auditor may read: the log itself, the trust log, and queries that show payloads.
AUDITOR_TABLES = frozenset({"events", "_caselog_trust", "_sqlite_migrations", "_caselog_salts"})
AUDITOR_QUERIES = frozenset({"case_trail", "corrections"})
# What anyone may fetch before signing in: the form, and the styles it uses.
OPEN_PATHS = ("/-/login", "/-/static/", "/-/static-plugins/")
NAME_COLUMNS = frozenset({"plaintiff", "official", "officials"})


def path_for(db: str | Path) -> Path:
    return Path(f"{db}.accounts.json")


def load(db: str | Path) -> dict[str, dict]:
    """The accounts of the log at ``db``: name -> {"role", "password_hash"}; none if no file."""
    try:
        return json.loads(path_for(db).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        raise InputError(f"{path_for(db)} is not an accounts file") from None


def _save(db: str | Path, accounts: dict[str, dict]) -> None:
    target = path_for(db)
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # private from its first byte
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(accounts, out, ensure_ascii=False, indent=1)
    os.replace(partial, target)


def add(db: str | Path, name: str, role: str, password: str) -> None:
    from datasette_auth_passwords.utils import hash_password

    if role not in ROLES:
        raise InputError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if not name or not name.isprintable() or "_password_hash" in name:
        raise InputError(f"{name!r} cannot be an account name")
    if len(password) < 10:
        raise InputError("a password needs at least 10 characters")
    accounts = load(db)
    accounts[name] = {"role": role, "password_hash": hash_password(password)}
    _save(db, accounts)


def remove(db: str | Path, name: str) -> None:
    accounts = load(db)
    if accounts.pop(name, None) is None:
        raise InputError(f"no account {name!r}")
    _save(db, accounts)


def listed(db: str | Path) -> list[dict]:
    return [{"name": name, "role": account["role"]} for name, account in sorted(load(db).items())]


def plugin_config(accounts: dict[str, dict]) -> dict:
    """datasette-auth-passwords's configuration for these accounts."""
    config: dict[str, Any] = {f"{name}_password_hash": a["password_hash"] for name, a in accounts.items()}
    config["actors"] = {name: {"id": name} for name in accounts}
    return config


def role_of(datasette: Any, actor: dict | None) -> str | None:
    """The actor's role as the accounts say now (a removed account has none, whatever its cookie)."""
    config = datasette.plugin_config(PLUGIN) or {}
    if not actor or f"{actor.get('id')}_password_hash" not in config:
        return None
    return (datasette.plugin_config("caselog") or {}).get("roles", {}).get(actor["id"])


def guarded(datasette: Any) -> bool:
    """Whether this server has accounts: then nobody reads anything without signing in."""
    return bool((datasette.plugin_config("caselog") or {}).get("roles"))


def allowed(datasette: Any, actor: dict | None, action: str, resource: Any) -> bool | None:
    """The permission_allowed hook's answer: None leaves Datasette's default (allow) in place."""
    if not guarded(datasette):
        return None
    role = role_of(datasette, actor)
    if role is None:
        return False
    if role == "auditor":
        return None
    if action == "execute-sql":
        return False
    if action == "view-table" and isinstance(resource, tuple) and resource[1] in AUDITOR_TABLES:
        return False
    if action == "view-query" and isinstance(resource, tuple) and resource[1] in AUDITOR_QUERIES:
        return False
    return None


def masked(value: str) -> str:
    """A personal name as reviewers see it: its first character and 某 (张三 → 张某)."""
    return "、".join(part.strip()[:1] + "某" for part in value.split(",") if part.strip())


def is_download(scope: dict) -> bool:
    """A request for rows in a machine format: JSON or CSV, by extension or ``_format``."""
    path, query = scope["path"], scope.get("query_string", b"").decode("latin-1")
    return path.endswith((".json", ".csv")) or "_format=" in query


# The role of the request being served, for render_cell, which Datasette 0.65 does not give the request.
ROLE: contextvars.ContextVar[str | None] = contextvars.ContextVar("caselog_role", default=None)


def _actor(datasette: Any, scope: dict) -> dict | None:
    from http.cookies import SimpleCookie

    cookie = SimpleCookie()
    for key, value in scope.get("headers", []):
        if key.lower() == b"cookie":
            cookie.load(value.decode("latin-1"))
    if "ds_actor" not in cookie:
        return None
    try:
        return datasette.unsign(cookie["ds_actor"].value, "actor")["a"]
    except Exception:  # itsdangerous's BadSignature, or a cookie of another shape: no one signed in
        return None


def signed_in(datasette: Any, app: Callable) -> Callable:
    """Wrap Datasette's ASGI app: note each request's role; a reviewer gets no rows as JSON or CSV
    (their names would not be masked there)."""
    from datasette.utils.asgi import Response

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not guarded(datasette):
            await app(scope, receive, send)
            return
        role = role_of(datasette, _actor(datasette, scope))
        if role is None and not scope["path"].startswith(OPEN_PATHS):
            await Response.html('<p>Sign in first: <a href="/-/login">/-/login</a></p>', status=403).asgi_send(send)
            return
        if role == "reviewer" and is_download(scope) and not scope["path"].startswith("/-/"):
            await Response.text("rows as JSON or CSV are for auditors; reviewers read the pages", status=403).asgi_send(send)
            return
        token = ROLE.set(role)
        try:
            await app(scope, receive, send)
        finally:
            ROLE.reset(token)

    return wrapped
