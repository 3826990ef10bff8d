"""Web push from the gateway: the VAPID key, members' subscriptions, admin broadcasts, and the
notifications that API writes create (the indexer pushes the ones it creates itself).

Delivery is best effort and off the request path; a subscription the push service calls gone
(404/410) is deleted. Success and failure counts feed ``/feed/health``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterable
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError
from shared.http.addresses import public_only_connector
from shared.http.body import read_json
from shared.http.responses import json_response
from tenants.feed.api.schemas import Broadcast, PushSubscribe, PushUnsubscribe
from tenants.feed.appview import AppView
from tenants.feed.db import acquire
from tenants.feed.indexer.processors.base import Notice
from tenants.feed.indexer.push import GONE, SUBSCRIPTIONS, TTL_S, load_vapid, payload
from tenants.feed.push_endpoints import check_endpoint, deliverable

log = logging.getLogger("onebox.feed.push")

SUBSCRIBE = """
INSERT INTO push_subscriptions (member_did, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
ON CONFLICT (endpoint) DO UPDATE SET member_did = EXCLUDED.member_did, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
"""


class Pusher:
    """Sends web push messages with the feed's VAPID key."""

    def __init__(self, av: AppView) -> None:
        self.av = av
        key = av.feed.vapid_private_key
        self.vapid: Any = load_vapid(key.get_secret_value()) if key is not None else None
        self.sent = 0
        self.failed = 0
        self._session: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def public_key(self) -> str | None:
        """The application server key browsers subscribe with (base64url, uncompressed P-256 point)."""
        if self.vapid is None:
            return None
        point = self.vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(point).rstrip(b"=").decode()

    async def _http(self) -> Any:
        # aiohttp (pywebpush's transport) is imported only once push is used.
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.av.feed.feed_http_timeout),
                connector=public_only_connector(self.av.feed.feed_push_trusted_hosts),
            )
        return self._session

    async def send(self, rows: Iterable[Any], body: bytes) -> dict[str, int]:
        """Deliver ``body`` to each subscription row; counts of sent, failed and removed."""
        from pywebpush import WebPushException, webpush_async

        result = {"sent": 0, "failed": 0, "removed": 0}
        session = await self._http()
        claims = {"sub": self.av.feed.vapid_subject}
        for row in rows:
            if not await deliverable(row["endpoint"], self.av.feed.feed_push_trusted_hosts):
                log.warning("push subscription %s names an address we won't send to; skipped", row["id"])
                result["failed"] += 1
                continue
            info = {"endpoint": row["endpoint"], "keys": {"p256dh": row["p256dh"], "auth": row["auth"]}}
            try:
                await webpush_async(
                    info, body.decode(), vapid_private_key=self.vapid, vapid_claims=dict(claims), ttl=TTL_S,
                    aiohttp_session=session,
                )  # fmt: skip
            except WebPushException as exc:
                result["failed"] += 1
                if exc.status_code in GONE:
                    async with acquire(self.av.ctx) as conn:
                        await conn.execute("DELETE FROM push_subscriptions WHERE id = $1", row["id"])
                    result["removed"] += 1
            except (OSError, TimeoutError, ValueError) as exc:
                log.warning("push to subscription %s failed: %r", row["id"], exc)
                result["failed"] += 1
            else:
                result["sent"] += 1
        self.sent += result["sent"]
        self.failed += result["failed"]
        return result

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
        if self._session is not None:
            await self._session.close()


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
            await conn.execute(SUBSCRIBE, viewer, body.endpoint, body.keys.p256dh, body.keys.auth)
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
