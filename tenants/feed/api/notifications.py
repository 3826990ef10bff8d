"""``/api/notifications``: the member's notifications, marking them read, the unread count."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.http.body import read_json
from shared.http.responses import json_response, raw_json_response
from tenants.feed import params
from tenants.feed.api.schemas import MarkRead
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.views import notifications as views


def routes(av: AppView) -> list[Route]:
    """Notification routes."""

    async def listing(request: Request) -> Response:
        """Newest first; ``type`` narrows to one reason (one not stored, such as a newer lexicon's, matches nothing)."""
        viewer = await av.viewer(request)
        query = request.query_params
        limit = params.limit(query)
        reason = params.open_value(query, "type")
        reasons = None if reason is None else [reason]
        async with acquire(av.ctx) as conn:
            page, _seen = await views.listing(conn, av.cursors, viewer, limit, query.get("cursor"), reasons)
        return raw_json_response(page.body("notifications"))

    async def mark_read(request: Request) -> Response:
        """Mark the given ``ids`` read, or all of them when no ids are sent."""
        viewer = await av.viewer(request)
        body = await read_json(request, MarkRead) if await request.body() else MarkRead()
        now = datetime.now(UTC)
        async with acquire(av.ctx) as conn, conn.transaction():
            status = await conn.execute(views.MARK_READ, viewer, body.ids, now)
            if body.ids is None:
                await conn.execute(views.SEEN, viewer, now)
        return json_response({"updated": int(status.split()[-1])})

    async def count(request: Request) -> Response:
        """How many notifications are unread."""
        viewer = await av.viewer(request)
        async with acquire(av.ctx) as conn:
            unread = await views.unread(conn, viewer)
        return json_response({"count": unread})

    return [
        Route("/api/notifications", listing, methods=["GET"]),
        Route("/api/notifications/read", mark_read, methods=["POST"]),
        Route("/api/notifications/count", count, methods=["GET"]),
    ]
