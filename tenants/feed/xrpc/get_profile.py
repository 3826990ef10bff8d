"""``app.bsky.actor.getProfile``: profileViewDetailed with the viewer's follow and block state."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed.db import acquire
from tenants.feed.views.actors import profiles
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    did = await call.actor()
    async with acquire(call.av.ctx) as conn:
        views = await profiles(conn, [did], viewer)
    return raw_json_response(views[1:-1])


METHOD = Method("query", handle)
