"""``app.bsky.notification.listNotifications``: the member's notifications, newest first."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views import notifications
from tenants.feed.xrpc.base import Call, Method, invalid


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    limit = call.limit()
    if "seenAt" in call.params:  # refused by Bluesky's AppView too: reads never mark anything seen
        raise invalid("The seenAt parameter is unsupported")
    # An open list: a reason we never store (a newer lexicon's) simply matches nothing, as in Bluesky.
    reasons = params.open_list(call.params, "reasons")
    # No stored preference (putPreferences is not served): the AppView's default, false.
    priority = params.flag(call.params, "priority")
    async with acquire(call.av.ctx) as conn:
        page, seen = await notifications.listing(
            conn, call.av.cursors, viewer, limit, call.params.get("cursor"), reasons, priority
        )
    extra = b'"priority":' + orjson.dumps(priority) + b"," + (b'"seenAt":' + orjson.dumps(seen) + b"," if seen else b"")
    return raw_json_response(page.body("notifications", extra))


METHOD = Method("query", handle)
