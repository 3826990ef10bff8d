"""``com.atproto.server.getSession``: who the access token belongs to."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import json_response
from tenants.feed.db import acquire
from tenants.feed.xrpc.base import Call, Method, XrpcError


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    async with acquire(call.av.ctx) as conn:
        handle_ = await conn.fetchval("SELECT handle FROM members WHERE did = $1", viewer)
    if handle_ is None:
        # As a PDS answers an access token whose account is gone: the session is over.
        raise XrpcError(401, "InvalidToken", "The account is no longer a member")
    return json_response({"did": viewer, "handle": handle_, "active": True})


METHOD = Method("query", handle)
