"""``app.bsky.feed.getPosts``: postViews of up to 25 URIs (unknown ones are left out).

A URI may name its repository by handle; it is resolved among stored accounts first (an unknown
handle is one more unknown URI).
"""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.actors import by_did
from tenants.feed.views.posts import posts
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    uris = params.uri_list(call.params, "uris")
    async with acquire(call.av.ctx) as conn:
        resolved = [uri for uri in [await by_did(conn, asked) for asked in uris] if uri is not None]
        views = await posts(conn, resolved, viewer)
    return raw_json_response(b'{"posts":' + views.encode() + b"}")


METHOD = Method("query", handle)
