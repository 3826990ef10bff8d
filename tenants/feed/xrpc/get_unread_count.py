"""``app.bsky.notification.getUnreadCount``: how many notifications the member has not seen."""

from __future__ import annotations

from starlette.responses import Response

from shared.http.responses import json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views.notifications import unread
from tenants.feed.xrpc.base import Call, Method, invalid


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    if "seenAt" in call.params:  # refused by Bluesky's AppView too
        raise invalid("The seenAt parameter is unsupported")
    priority = params.flag(call.params, "priority")
    async with acquire(call.av.ctx) as conn:
        count = await unread(conn, viewer, priority)
    return json_response({"count": count})


METHOD = Method("query", handle)
