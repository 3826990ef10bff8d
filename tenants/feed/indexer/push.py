"""Web push of new notifications to members' subscribed devices (VAPID, aes128gcm).

Best effort, after commit: a bounded queue (new notices are dropped and counted when it is
full), and a subscription the push service calls gone (404/410) is deleted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import orjson

from shared.http.addresses import public_only_connector
from tenants.feed.indexer.processors.base import Notice
from tenants.feed.indexer.stats import Stats
from tenants.feed.push_endpoints import deliverable
from tenants.feed.settings import FeedSettings

log = logging.getLogger("onebox.feed.push")

GONE = {404, 410}
TTL_S = 24 * 3600
# A notice's recipient's devices; none when either account blocks the other (the notification
# list hides those, so their pushes would show what the member can't find).
SUBSCRIPTIONS = """
SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE member_did = $1 AND NOT feed_blocked($1, $2)
"""


def load_vapid(key: str) -> Any:
    """A py_vapid key from PEM text or from base64url raw/DER text."""
    from py_vapid import Vapid

    if key.lstrip().startswith("-----BEGIN"):
        return Vapid.from_pem(key.encode())
    return Vapid.from_string(key)


def payload(notice: Notice) -> bytes:
    """The JSON the member's service worker receives."""
    return orjson.dumps(
        {
            "type": notice.type,
            "id": notice.id,
            "actor": notice.actor,
            "uri": notice.record_uri,
            "subject": notice.subject_uri,
        }
    )


class PushSender:
    """Sends each notice to every subscription of its recipient."""

    def __init__(self, pool: asyncpg.Pool, feed: FeedSettings, stats: Stats) -> None:
        self.pool = pool
        self.feed = feed
        self.stats = stats
        self.queue: asyncio.Queue[Notice] = asyncio.Queue(feed.feed_push_queue)

    @property
    def enabled(self) -> bool:
        """Push needs a VAPID private key (``ONEBOX_VAPID_PRIVATE_KEY``)."""
        return self.feed.vapid_private_key is not None

    def offer(self, notice: Notice) -> None:
        """Queue a notice unless push is off or the queue is full."""
        if not self.enabled:
            return
        try:
            self.queue.put_nowait(notice)
        except asyncio.QueueFull:
            self.stats.push_dropped += 1

    async def run(self) -> None:
        """Deliver queued notices forever."""
        # pywebpush pulls in aiohttp and requests: imported only when push is configured.
        import aiohttp
        from pywebpush import WebPushException, webpush_async

        assert self.feed.vapid_private_key is not None
        vapid = load_vapid(self.feed.vapid_private_key.get_secret_value())
        claims = {"sub": self.feed.vapid_subject}
        timeout = aiohttp.ClientTimeout(total=self.feed.feed_http_timeout)
        trusted = self.feed.feed_push_trusted_hosts
        async with aiohttp.ClientSession(timeout=timeout, connector=public_only_connector(trusted)) as session:
            while True:
                notice = await self.queue.get()
                subscriptions = await self.pool.fetch(SUBSCRIPTIONS, notice.recipient, notice.actor)
                body = payload(notice).decode()
                for sub in subscriptions:
                    if not await deliverable(sub["endpoint"], trusted):
                        log.warning("push subscription %s names an address we won't send to; skipped", sub["id"])
                        self.stats.push_failed += 1
                        continue
                    info = {"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}
                    try:
                        await webpush_async(
                            info, body, vapid_private_key=vapid, vapid_claims=dict(claims), ttl=TTL_S,
                            aiohttp_session=session,
                        )  # fmt: skip
                    except WebPushException as exc:
                        await self._failed(sub["id"], exc.status_code)
                    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                        log.warning("push to subscription %s failed: %r", sub["id"], exc)
                        self.stats.push_failed += 1
                    else:
                        self.stats.push_sent += 1
                        await self.pool.execute(
                            "UPDATE push_subscriptions SET last_success_at = now() WHERE id = $1", sub["id"]
                        )

    async def _failed(self, subscription: int, status: int | None) -> None:
        self.stats.push_failed += 1
        if status in GONE:
            await self.pool.execute("DELETE FROM push_subscriptions WHERE id = $1", subscription)
            log.info("push subscription %s is gone (HTTP %s); deleted", subscription, status)
        else:
            log.warning("push to subscription %s answered HTTP %s", subscription, status)
