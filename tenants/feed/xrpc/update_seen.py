"""``app.bsky.notification.updateSeen``: notifications indexed up to ``seenAt`` become read."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response

from shared.instants import as_utc
from tenants.feed.db import acquire
from tenants.feed.views import notifications
from tenants.feed.xrpc.base import Call, Method, invalid


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    body = await call.body()
    raw = body.get("seenAt")
    try:
        parsed = datetime.fromisoformat(raw) if isinstance(raw, str) and len(raw) <= 64 else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise invalid("seenAt must be a datetime with a time zone")
    try:
        seen = as_utc(parsed)
    except ValueError as exc:
        raise invalid(f"seenAt: {exc}") from None
    async with acquire(call.av.ctx) as conn, conn.transaction():
        await conn.execute(notifications.MARK_READ, viewer, None, seen)
        await conn.execute(notifications.SEEN, viewer, seen)
    return Response(status_code=200)


METHOD = Method("procedure", handle)
