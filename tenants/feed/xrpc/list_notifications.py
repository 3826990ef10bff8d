"""``app.bsky.notification.listNotifications``: the member's notifications, newest first."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from shared.http.responses import raw_json_response
from tenants.feed.db import acquire
from tenants.feed.views import notifications
from tenants.feed.xrpc.base import Call, Method, invalid

REASONS = {"like", "repost", "follow", "reply", "mention", "quote"}


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    limit = call.limit()
    reasons = call.params.getlist("reasons") or None
    if reasons is not None and not set(reasons) <= REASONS:
        raise invalid(f"reasons: each must be one of {', '.join(sorted(REASONS))}")
    async with acquire(call.av.ctx) as conn:
        page, seen = await notifications.listing(
            conn, call.av.cursors, viewer, limit, call.params.get("cursor"), reasons
        )
    extra = b'"priority":false,' + (b'"seenAt":' + orjson.dumps(seen) + b"," if seen else b"")
    return raw_json_response(page.body("notifications", extra))


METHOD = Method("query", handle)
