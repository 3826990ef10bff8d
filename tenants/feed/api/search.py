"""``/api/search?q=&type=posts|users``: PostgreSQL full-text search, ranked (posts take the searchPosts filters)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.http.responses import raw_json_response
from tenants.feed import params, search_filters
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.views.search import search_actors, search_posts


def routes(av: AppView) -> list[Route]:
    """The search route."""

    async def find(request: Request) -> Response:
        """Posts (``postView``s) or users (``profileView``s) matching ``q``, best first.

        ``q`` takes Bluesky's operators for posts (``from:``, ``#tag``, ``since:``...), see search_filters.
        """
        query = request.query_params
        q = params.required(query, "q", max_length=300)
        kind = params.choice(query, "type", ("posts", "users"), "posts")
        viewer = await av.maybe_viewer(request)
        limit = params.limit(query, default=25)
        async with acquire(av.ctx) as conn:
            if kind == "posts":
                words, filters = search_filters.parse(query, q)
                page = await search_posts(conn, av.cursors, words, filters, viewer, limit, query.get("cursor"))
            else:
                page = await search_actors(conn, av.cursors, q, viewer, limit, query.get("cursor"))
        return raw_json_response(page.body(kind))

    return [Route("/api/search", find, methods=["GET"])]
