"""``/api/search?q=&type=posts|users``: PostgreSQL full-text search, ranked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.views.search import search


def routes(av: AppView) -> list[Route]:
    """The search route."""

    async def find(request: Request) -> Response:
        """Posts (``postView``s) or users (``profileView``s) matching ``q``, best first."""
        query = request.query_params
        q = params.required(query, "q", max_length=300)
        kind = params.choice(query, "type", ("posts", "users"), "posts")
        viewer = await av.maybe_viewer(request)
        limit = params.limit(query, default=25)
        async with acquire(av.ctx) as conn:
            page = await search(
                conn, av.cursors, "posts" if kind == "posts" else "actors", q, viewer, limit, query.get("cursor")
            )
        return raw_json_response(page.body(kind))

    return [Route("/api/search", find, methods=["GET"])]
