"""A tenant's web UI: static files with cache headers (code revalidates, media caches for a day)."""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.middleware.send_error import send_error
from shared.errors import ApiError

RANGE_ERRORS = {
    400: ("bad_range", "The Range header is malformed."),
    416: ("range_not_satisfiable", "The requested range is outside the file."),
}


class CachedStatic:
    def __init__(self, directory: Path) -> None:
        self.app: ASGIApp = StaticFiles(directory=directory, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        refused = False

        async def send_cached(message: Message) -> None:
            nonlocal refused
            if refused:
                return  # the body of the plain-text answer replaced below
            if message["type"] == "http.response.start" and message["status"] in RANGE_ERRORS:
                # FileResponse answers a Range it can't serve itself, in plain text.
                refused = True
                code, text = RANGE_ERRORS[message["status"]]
                content_range = MutableHeaders(scope=message).get("content-range")
                extra = {"Content-Range": content_range} if content_range else {}
                await send_error(scope, send, ApiError(message["status"], code, text, headers=extra))
                return
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                headers = MutableHeaders(scope=message)
                # Pages, scripts and styles revalidate (cheap with ETags) so a deploy never mixes
                # yesterday's scripts with today's API; images and fonts cache for a day.
                kind = headers.get("content-type", "")
                fresh = path.endswith("/") or kind.startswith(("text/", "application/javascript"))
                headers["cache-control"] = "no-cache" if fresh else "public, max-age=86400"
            await send(message)

        await self.app(scope, receive, send_cached)
