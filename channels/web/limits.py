"""Request bodies: a limit on their size, whether they say how long they are or come chunked,
and JSON read within bounds (UTF-8, nesting depth) with a Vietnamese error for what is refused."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

MAX_BODY = 64 * 1024
"""No chat payload needs more; uploads to the admin pages have their own, larger limit."""
MAX_DEPTH = 64
"""Nesting of arrays and objects a body may have. A Telegram update nests about ten deep; Python's
JSON reader would otherwise go to its recursion limit (about a thousand) and fail there."""

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class BodyTooLarge(HTTPException):
    """A body over its limit, found while it is being received (chunked bodies have no length)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


class UnreadableBody(HTTPException):
    """A body that is no JSON we read: not UTF-8, not JSON, nested too deep."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


NOT_UTF8 = "Nội dung gửi lên không phải văn bản UTF-8 hợp lệ."
NOT_JSON = "Nội dung gửi lên không phải JSON hợp lệ."
TOO_DEEP = f"Nội dung JSON lồng nhau quá sâu (tối đa {MAX_DEPTH} cấp)."
UNREADABLE = "Không đọc được nội dung gửi lên."


def too_large_message(limit: int) -> str:
    return f"Nội dung gửi lên quá lớn (tối đa {limit // 1024} KB)."


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than `limit`, strings aside. Counting brackets
    first keeps ordinary bodies (a few dozen brackets) to one pass in C."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for m in _BRACKETS.finditer(_STRINGS.sub(b'""', raw)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def read_json(raw: bytes) -> Any:
    """The JSON value of a request body; UnreadableBody (400, in Vietnamese) otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableBody(NOT_UTF8) from None
    if too_deep(raw):
        raise UnreadableBody(TOO_DEEP)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise UnreadableBody(NOT_JSON) from None


class BoundedJsonRequest(Request):
    """A request whose `json()` is `read_json`: FastAPI's own body parsing then refuses bad
    bodies with our messages instead of its English "There was an error parsing the body"."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = read_json(await self.body())
        return self._json


class BoundedJsonRoute(APIRoute):
    """A route that reads JSON bodies with `BoundedJsonRequest` (FastAPI's documented way to
    customise the request of a route)."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Any:
            return await handler(BoundedJsonRequest(request.scope, request.receive))

        return bounded


class BodyLimit:
    """ASGI middleware: 413 with a clear message when a request body exceeds its limit, told by
    Content-Length up front or counted while a chunked body arrives."""

    def __init__(self, app: Any, default: int = MAX_BODY, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.overrides = overrides or {}

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An HTTPException, so that the app's handler answers it even where a
                    # framework catches every other error while it reads the body.
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            # Read outside any route (or by code that let the error through): answer here.
            if not started:
                await _too_large(send, limit)


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps({"error": too_large_message(limit)}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
