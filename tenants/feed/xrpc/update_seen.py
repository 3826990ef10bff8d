"""``app.bsky.notification.updateSeen``: notifications indexed up to ``seenAt`` become read."""

from __future__ import annotations

from starlette.responses import Response

from shared.instants import as_utc
from tenants.feed import params
from tenants.feed.db import acquire
from tenants.feed.views import notifications
from tenants.feed.xrpc.base import Call, Method, invalid


async def handle(call: Call) -> Response:
    viewer = await call.viewer()
    body = await call.body()
    parsed = params.lexicon_datetime(body.get("seenAt"))
    if parsed is None:
        raise invalid("seenAt must be an atproto datetime with seconds and a time zone (2026-12-01T10:00:00Z)")
    try:
        seen = as_utc(parsed)
    except ValueError as exc:
        raise invalid(f"seenAt: {exc}") from None
    async with acquire(call.av.ctx) as conn, conn.transaction():
        await conn.execute(notifications.MARK_READ, viewer, None, seen)
        await conn.execute(notifications.SEEN, viewer, seen)
    return Response(status_code=200)


METHOD = Method("procedure", handle)
