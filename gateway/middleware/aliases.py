"""Path aliases such as ``/api/wishlist/...`` → ``/wishlist/api/...`` for existing front-ends."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class AliasMiddleware:
    def __init__(self, app: ASGIApp, aliases: dict[str, str]) -> None:
        self.app = app
        # Longest prefix first so nested aliases resolve to the most specific one.
        self.aliases = sorted(aliases.items(), key=lambda item: -len(item[0]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            for alias, target in self.aliases:
                if path == alias or path.startswith(alias + "/"):
                    new_path = target + path[len(alias) :]
                    scope = {**scope, "path": new_path, "raw_path": new_path.encode()}
                    break
        await self.app(scope, receive, send)
