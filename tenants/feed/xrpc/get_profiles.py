"""``app.bsky.actor.getProfiles``: up to 25 profiles by handle or DID (unknown ones left out)."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.actors import profiles, resolve
from tenants.feed.xrpc.base import Call, Method


async def handle(call: Call) -> Response:
    viewer = await call.maybe_viewer()
    names = call.params.getlist("actors")
    if not names or len(names) > 25:
        raise params.invalid("actors", "give 1 to 25 handles or DIDs")
    async with acquire(call.av.ctx) as conn:
        dids = [did for did in [await resolve(conn, name) for name in names] if did is not None]
        views = await profiles(conn, dids, viewer)
    return raw_json_response(b'{"profiles":' + views.encode() + b"}")


METHOD = Method("query", handle)
