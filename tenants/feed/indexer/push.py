"""Web push of new notifications to members' subscribed devices (VAPID, aes128gcm).

Best effort, after commit: a bounded queue (new notices are dropped and counted when it is
full); each message is delivered by :mod:`tenants.feed.push_delivery`.
"""

from __future__ import annotations

import asyncio

import asyncpg
import orjson

from tenants.feed.indexer.processors.base import Notice
from tenants.feed.indexer.stats import Stats
from tenants.feed.push_delivery import Delivered, PushDelivery
from tenants.feed.settings import FeedSettings

# A notice's recipient's devices; none when either account blocks the other, or the actor is
# inactive (the notification list hides those, so their pushes would show what the member can't find).
SUBSCRIPTIONS = """
SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE member_did = $1 AND NOT feed_blocked($1, $2)
AND NOT EXISTS (SELECT 1 FROM profiles ia WHERE ia.did = $2 AND ia.account_status IS NOT NULL)
"""


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
        delivery = PushDelivery(self.feed, self.pool.execute)
        try:
            while True:
                notice = await self.queue.get()
                subscriptions = await self.pool.fetch(SUBSCRIPTIONS, notice.recipient, notice.actor)
                done = Delivered()
                try:
                    await delivery.deliver(subscriptions, payload(notice), done)
                finally:  # a stop mid-delivery still counts what went out
                    self.stats.push_sent += done.sent
                    self.stats.push_failed += done.failed
        finally:
            await delivery.close()
