"""Datasette's CSV, with every cell a spreadsheet could run as a formula neutralised.

Datasette 0.65 has no hook for the cells of its CSV (``.csv``, ``?_format=csv``,
the streamed ``?_stream=1``), so the ASGI wrapper rewrites the body as it
streams: it passes on every complete record (a line break outside quotes ends
one) through ``caselog.cells.neutralise`` and keeps the rest for the next chunk.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import Callable
from urllib.parse import parse_qs

from caselog.cells import neutralise


def is_csv(scope: dict) -> bool:
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return scope["path"].endswith(".csv") or params.get("_format") == ["csv"]


def _record_end(text: str) -> int:
    """Where the last complete CSV record in ``text`` ends (0: none yet)."""
    quoted, end = False, 0
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted  # an escaped quote ("") flips twice
        elif char == "\n" and not quoted:
            end = i + 1
    return end


def _rewritten(text: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([neutralise(c) for c in row] for row in csv.reader(io.StringIO(text)))
    return out.getvalue()


def neutralising(app: Callable) -> Callable:
    """Wrap Datasette's ASGI app: CSV responses have their cells ``neutralise``d."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not is_csv(scope):
            await app(scope, receive, send)
            return
        held = ""
        rewrite = False
        decode = codecs.getincrementaldecoder("utf-8")().decode  # a chunk may end inside a character

        async def send_neutralised(message: dict) -> None:
            nonlocal held, rewrite
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                rewrite = message.get("status") == 200
                if rewrite:  # the body's length changes
                    message = {**message, "headers": [(k, v) for k, v in headers if k.lower() != b"content-length"]}
                await send(message)
                return
            if not rewrite or message["type"] != "http.response.body":
                await send(message)
                return
            more = message.get("more_body", False)
            held += decode(message.get("body", b""), final=not more)
            end = len(held) if not more else _record_end(held)
            body, held = _rewritten(held[:end]) if end else "", held[end:]
            await send({**message, "body": body.encode("utf-8")})

        await app(scope, receive, send_neutralised)

    return wrapped
