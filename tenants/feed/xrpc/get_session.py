"""``com.atproto.server.getSession``: who the access token belongs to."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import json_response
from tenants.feed.db import acquire
from tenants.feed.xrpc.base import Call, Method, invalid


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    async with acquire(call.av.ctx) as conn:
        handle_ = await conn.fetchval("SELECT handle FROM members WHERE did = $1", viewer)
    if handle_ is None:
        raise invalid("The account is no longer a member", "AccountNotFound")
    return json_response({"did": viewer, "handle": handle_, "active": True})


METHOD = Method("query", handle)
