"""``app.bsky.graph.getFollowers``: accounts following the actor, newest follow first, and the subject."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed.db import acquire
from tenants.feed.views.actors import graph, profiles
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    did = await call.actor()
    limit = call.limit()
    async with acquire(call.av.ctx) as conn:
        page = await graph(conn, call.av.cursors, "followers", did, viewer, limit, call.params.get("cursor"))
        subject = await profiles(conn, [did], viewer, level=1)
    return raw_json_response(page.body("followers", b'"subject":' + subject[1:-1].encode() + b","))


METHOD = Method("query", handle)
