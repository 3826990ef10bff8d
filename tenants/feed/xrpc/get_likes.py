"""``app.bsky.feed.getLikes``: who liked a post, newest first."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.posts import engagers
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    uri = params.post_uri_any_authority(params.required(call.params, "uri", 8192))
    # The subject's cid is echoed, as the AppView does (which, as here, lists every version's).
    cid = params.optional_cid(call.params)
    subject = {"uri": uri} | ({"cid": cid} if cid else {})
    limit = call.limit()
    async with acquire(call.av.ctx) as conn:
        page = await engagers(conn, call.av.cursors, "likes", uri, viewer, limit, call.params.get("cursor"))
    return raw_json_response(page.body("likes", orjson.dumps(subject)[1:-1] + b","))


METHOD = Method("query", handle)
