"""A tenant's web UI: pages and scripts stamped with the build's version, and cache headers.

Pages revalidate (cheap with ETags). Styles, scripts and media asked for with the current
build's ``?v=`` are cached for good, since a new build changes the URLs (``gateway/static_build.py``);
unstamped, code revalidates so a deploy never mixes yesterday's scripts with today's API, and
images and fonts cache for a day.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from gateway.middleware.send_error import send_error
from gateway.static_build import Build, Text, scan, signature
from shared.errors import ApiError

RANGE_ERRORS = {
    400: ("bad_range", "The Range header is malformed."),
    416: ("range_not_satisfiable", "The requested range is outside the file."),
}
FOREVER = "public, max-age=31536000, immutable"


def _stamped(scope: Scope, build: Build) -> bool:
    """Whether the request names the current build (``?v=<version>``)."""
    return parse_qs(scope["query_string"].decode("latin-1")).get("v") == [build.version]


def cache_control(scope: Scope, media_type: str, build: Build) -> str:
    """The Cache-Control of a file of ``build`` served as ``media_type``."""
    if media_type.startswith("text/html"):
        return "no-cache"
    if _stamped(scope, build):
        return FOREVER
    if media_type.startswith(("text/", "application/javascript")):
        return "no-cache"
    return "public, max-age=86400"


class CachedStatic:
    """Serve ``directory``: stamped pages and scripts from memory, every other file from disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = StaticFiles(directory=directory, html=True)
        self._build: Build | None = None

    def build(self) -> Build:
        """The current build, read again when a file's size or modification time changed."""
        seen = signature(self.directory)
        if self._build is None or self._build.signature != seen:
            self._build = scan(self.directory)
        return self._build

    def _text(self, scope: Scope, build: Build) -> Text | None:
        """The stamped page or script the request names, if it names one."""
        if scope["method"] not in ("GET", "HEAD"):
            return None
        name = self.files.get_path(scope)
        if name in build.texts:
            return build.texts[name]
        if scope["path"].endswith("/"):
            return build.texts.get(posixpath.normpath(posixpath.join(name, "index.html")))
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        build = await anyio.to_thread.run_sync(self.build)
        text = self._text(scope, build)
        if text is not None:
            await _send_text(scope, send, text, cache_control(scope, text.media_type, build))
            return
        refused = False

        async def send_cached(message: Message) -> None:
            nonlocal refused
            if refused:
                return  # the body of the plain-text answer replaced below
            if message["type"] == "http.response.start" and message["status"] in RANGE_ERRORS:
                # FileResponse answers a Range it can't serve itself, in plain text.
                refused = True
                code, sentence = RANGE_ERRORS[message["status"]]
                content_range = MutableHeaders(scope=message).get("content-range")
                extra = {"Content-Range": content_range} if content_range else {}
                await send_error(scope, send, ApiError(message["status"], code, sentence, headers=extra))
                return
            if message["type"] == "http.response.start" and message["status"] in (200, 206, 304):
                headers = MutableHeaders(scope=message)
                headers["cache-control"] = cache_control(scope, headers.get("content-type", ""), build)
            await send(message)

        await self.files(scope, receive, send_cached)


async def _send_text(scope: Scope, send: Send, text: Text, control: str) -> None:
    """Answer with ``text`` (no body for HEAD), or 304 when the client holds it already."""
    held = Headers(scope=scope).get("if-none-match", "")
    fresh = text.etag in (tag.strip().removeprefix("W/") for tag in held.split(",")) or held.strip() == "*"
    headers = [(b"etag", text.etag.encode()), (b"cache-control", control.encode())]
    if fresh:
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    headers += [(b"content-type", text.media_type.encode()), (b"content-length", str(len(text.body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else text.body})
