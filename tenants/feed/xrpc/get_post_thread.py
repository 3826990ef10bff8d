"""``app.bsky.feed.getPostThread``: threadViewPost with ancestors (``parent``) and ``replies``.

The ``uri`` may name its repository by handle (an at-uri may): the AppView resolves it to the
DID first (``resolveUri``), so links built from a profile URL find the post.
"""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.actors import by_did
from tenants.feed.views.posts import thread
from tenants.feed.xrpc.base import Call, Method, invalid


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    asked = params.required(call.params, "uri", 8192)
    depth = params.integer(call.params, "depth", 6, 0, 1000)
    height = params.integer(call.params, "parentHeight", 80, 0, 1000)
    async with acquire(call.av.ctx) as conn:
        uri = await by_did(conn, params.post_uri_any_authority(asked))
        if uri is None:
            raise invalid(f"Post not found: {asked}", "NotFound")
        doc = await thread(conn, uri, viewer, depth, height)
    if doc is None:
        raise invalid(f"Post not found: {uri}", "NotFound")
    return raw_json_response(doc)


METHOD = Method("query", handle)
