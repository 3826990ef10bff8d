"""``app.bsky.feed.getTimeline``: the member's following timeline (feedViewPosts, newest first)."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed.db import acquire
from tenants.feed.views.pages import SKELETONS, feed_page
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    limit = call.limit()
    async with acquire(call.av.ctx) as conn:
        page = await feed_page(
            conn, call.av.cursors, SKELETONS["timeline"], viewer, limit, call.params.get("cursor"), viewer
        )
    return raw_json_response(page.body("feed"))


METHOD = Method("query", handle)
