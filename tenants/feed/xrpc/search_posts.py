"""``app.bsky.feed.searchPosts``: full-text search of stored posts (``sort``: top or latest)."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.search import search
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    q = params.required(call.params, "q", max_length=300)
    latest = params.choice(call.params, "sort", ("top", "latest"), "top") == "latest"
    limit = call.limit(default=25)
    async with acquire(call.av.ctx) as conn:
        page = await search(conn, call.av.cursors, "posts", q, viewer, limit, call.params.get("cursor"), latest)
    return raw_json_response(page.body("posts"))


METHOD = Method("query", handle)
