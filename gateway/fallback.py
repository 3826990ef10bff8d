"""``/<tenant>/api/...`` paths no route takes answer JSON 404 (or 405), not the web UI's files."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def api_fallback(routes: Sequence[BaseRoute]) -> Route:
    """A catch-all under ``/api``: 405 with ``Allow`` when another method would match, else 404.

    Without it an unmatched API path falls through to the static files mounted at ``/``, which
    answer a ``PUT`` or ``DELETE`` with 405 rather than 404.
    """

    async def fallback(request: Request) -> Response:
        allowed: set[str] = set()
        for route in routes:
            match, _ = route.matches(request.scope)
            if match is Match.PARTIAL and isinstance(route, Route):
                allowed |= route.methods or set()
        if allowed:
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
        raise HTTPException(404)

    return Route("/api/{path:path}", fallback, methods=METHODS, include_in_schema=False)
