"""Web push from the gateway: the VAPID key, members' subscriptions, admin broadcasts, and the
notifications that API writes create (the indexer pushes the ones it creates itself).

Delivery (:mod:`tenants.feed.push_delivery`) is best effort and, for notifications, off the
request path. Success and failure counts feed ``/feed/health``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable
from typing import Any

import asyncpg
import orjson
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError
from shared.http.body import read_json
from shared.http.responses import json_response
from tenants.feed.api.schemas import Broadcast, PushSubscribe, PushUnsubscribe
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.indexer.processors.base import Notice
from tenants.feed.indexer.push import SUBSCRIPTIONS, payload
from tenants.feed.push_delivery import PushDelivery
from tenants.feed.push_endpoints import check_endpoint

SUBSCRIBE = """
INSERT INTO push_subscriptions (member_did, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
ON CONFLICT (endpoint) DO UPDATE SET member_did = EXCLUDED.member_did, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
"""


class Pusher:
    """Sends web push messages with the feed's VAPID key."""

    def __init__(self, av: AppView) -> None:
        self.av = av
        self.delivery = PushDelivery(av.feed, self._execute)
        self.sent = 0
        self.failed = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def _execute(self, statement: str, *args: Any) -> None:
        async with acquire(self.av.ctx) as conn:
            await conn.execute(statement, *args)

    @property
    def vapid(self) -> Any:
        """The VAPID key (None when push is not configured)."""
        return self.delivery.vapid

    @property
    def public_key(self) -> str | None:
        """The application server key browsers subscribe with (base64url, uncompressed P-256 point)."""
        if self.vapid is None:
            return None
        point = self.vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(point).rstrip(b"=").decode()

    async def send(self, rows: Iterable[Any], body: bytes) -> dict[str, int]:
        """Deliver ``body`` to each subscription row; counts of sent, failed and removed."""
        done = await self.delivery.deliver(rows, body)
        self.sent += done.sent
        self.failed += done.failed
        return {"sent": done.sent, "failed": done.failed, "removed": done.removed}

    def notify(self, notices: list[Notice]) -> None:
        """Push notifications created by an API write, after its commit, in the background."""
        if self.vapid is None:
            return
        task = asyncio.create_task(self._notify(notices))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self, notices: list[Notice]) -> None:
        for notice in notices:
            async with acquire(self.av.ctx) as conn:
                rows = await conn.fetch(SUBSCRIPTIONS, notice.recipient, notice.actor)
            await self.send(rows, payload(notice))

    async def drain(self) -> None:
        """Wait for the deliveries in flight."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Finish pending deliveries and close the HTTP session."""
        await self.drain()
        await self.delivery.close()


def routes(av: AppView, pusher: Pusher) -> list[Route]:
    """``/api/push/...`` routes."""

    def require_push() -> None:
        if pusher.vapid is None:
            raise ApiError(
                404, "push_disabled", "Web push is not configured on this server (ONEBOX_VAPID_PRIVATE_KEY)."
            )

    async def vapid_key(_request: Request) -> Response:
        """The VAPID application server key to subscribe with."""
        require_push()
        return json_response({"publicKey": pusher.public_key})

    async def subscribe(request: Request) -> Response:
        """Register this device's push subscription for the signed-in member."""
        require_push()
        viewer = await av.viewer(request)
        body = await read_json(request, PushSubscribe)
        await check_endpoint(body.endpoint, av.feed.feed_push_trusted_hosts)
        async with acquire(av.ctx) as conn:
            try:
                await conn.execute(SUBSCRIBE, viewer, body.endpoint, body.keys.p256dh, body.keys.auth)
            except asyncpg.ForeignKeyViolationError:
                # An access token outlives the membership it was issued for by up to its lifetime.
                raise ApiError(401, "not_a_member", "This account is no longer a member; sign in again.") from None
        return json_response({"subscribed": True, "endpoint": body.endpoint}, status=201)

    async def unsubscribe(request: Request) -> Response:
        """Remove one of the member's push subscriptions (by endpoint)."""
        viewer = await av.viewer(request)
        body = await read_json(request, PushUnsubscribe)
        async with acquire(av.ctx) as conn:
            await conn.execute(
                "DELETE FROM push_subscriptions WHERE member_did = $1 AND endpoint = $2", viewer, body.endpoint
            )
        return Response(status_code=204)

    async def broadcast(request: Request) -> Response:
        """Send a message to every subscribed device (admins only)."""
        require_push()
        viewer = await av.viewer(request)
        if viewer not in av.api.feed_admins:
            raise ApiError(403, "forbidden", "Only an administrator can broadcast.")
        body = await read_json(request, Broadcast)
        message = orjson.dumps({"type": "broadcast", "title": body.title, "body": body.body, "url": body.url})
        async with acquire(av.ctx) as conn:
            rows = await conn.fetch("SELECT id, endpoint, p256dh, auth FROM push_subscriptions ORDER BY id")
        return json_response(await pusher.send(rows, message))

    return [
        Route("/api/push/vapid-public-key", vapid_key, methods=["GET"]),
        Route("/api/push/subscribe", subscribe, methods=["POST"]),
        Route("/api/push/subscribe", unsubscribe, methods=["DELETE"]),
        Route("/api/push/broadcast", broadcast, methods=["POST"]),
    ]
