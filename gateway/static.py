"""A tenant's web UI: static files with cache headers (code revalidates, media caches for a day)."""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CachedStatic:
    def __init__(self, directory: Path) -> None:
        self.app: ASGIApp = StaticFiles(directory=directory, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]

        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                headers = MutableHeaders(scope=message)
                # Pages, scripts and styles revalidate (cheap with ETags) so a deploy never mixes
                # yesterday's scripts with today's API; images and fonts cache for a day.
                kind = headers.get("content-type", "")
                fresh = path.endswith("/") or kind.startswith(("text/", "application/javascript"))
                headers["cache-control"] = "no-cache" if fresh else "public, max-age=86400"
            await send(message)

        await self.app(scope, receive, send_cached)
