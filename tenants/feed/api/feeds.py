"""``/api/feed/{global,local,following}``: newest first, keyset-paginated (gap-free)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.views.pages import SKELETONS, feed_page


def routes(av: AppView) -> list[Route]:
    """Community, local and following timelines."""

    async def community(request: Request) -> Response:
        """The community feed (``global``: hashtagged posts) or the members' feed (``local``)."""
        kind = "global" if request.url.path.endswith("/global") else "local"
        viewer = await av.maybe_viewer(request)
        limit = params.limit(request.query_params)
        async with acquire(av.ctx) as conn:
            page = await feed_page(conn, av.cursors, SKELETONS[kind], viewer, limit, request.query_params.get("cursor"))
        return raw_json_response(page.body("feed"))

    async def following(request: Request) -> Response:
        """The signed-in member's timeline: posts and reposts of the accounts they follow, and their own."""
        viewer = await av.viewer(request)
        limit = params.limit(request.query_params)
        cursor = request.query_params.get("cursor")
        async with acquire(av.ctx) as conn:
            page = await feed_page(conn, av.cursors, SKELETONS["timeline"], viewer, limit, cursor, viewer)
        return raw_json_response(page.body("feed"))

    return [
        Route("/api/feed/global", community, methods=["GET"]),
        Route("/api/feed/local", community, methods=["GET"]),
        Route("/api/feed/following", following, methods=["GET"]),
    ]
