"""Delivering one web push message to subscriptions (VAPID, aes128gcm), for the gateway and the indexer.

Devices are sent to a few at a time, each on its own: a push service that refuses, times out
or hangs up counts as a failure of that device only, and one that calls the subscription gone
(404/410) has it deleted. A success stamps the subscription's ``last_success_at``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shared.http.addresses import public_only_connector
from tenants.feed.push_endpoints import deliverable
from tenants.feed.settings import FeedSettings

log = logging.getLogger("onebox.feed.push")

GONE = {404, 410}
TTL_S = 24 * 3600
# Pushes in flight at once: a broadcast to every device finishes in seconds, not minutes.
CONCURRENCY = 16

# Runs one statement on the feed database (``pool.execute``, or a pooled connection's).
Execute = Callable[..., Awaitable[Any]]


def load_vapid(key: str) -> Any:
    """A py_vapid key from PEM text or from base64url raw/DER text."""
    from py_vapid import Vapid

    if key.lstrip().startswith("-----BEGIN"):
        return Vapid.from_pem(key.encode())
    return Vapid.from_string(key)


@dataclass
class Delivered:
    """What one delivery did: devices reached, devices that failed, subscriptions deleted as gone."""

    sent: int = 0
    failed: int = 0
    removed: int = 0


class PushDelivery:
    """One VAPID key and one HTTP session (opened at first use, closed by :meth:`close`)."""

    def __init__(self, feed: FeedSettings, execute: Execute) -> None:
        self.feed = feed
        self.execute = execute
        key = feed.vapid_private_key
        self.vapid: Any = load_vapid(key.get_secret_value()) if key is not None else None
        self._session: Any = None

    async def _http(self) -> Any:
        # aiohttp (pywebpush's transport) is imported only once push is used.
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.feed.feed_http_timeout),
                connector=public_only_connector(self.feed.feed_push_trusted_hosts),
            )
        return self._session

    async def deliver(self, subscriptions: Iterable[Any], body: bytes, result: Delivered | None = None) -> Delivered:
        """Send ``body`` to each subscription row (``id, endpoint, p256dh, auth``), a few at a time.

        Counts go into ``result`` (a new one by default) as each device is done.
        """
        result = result if result is not None else Delivered()
        pending = iter(subscriptions)
        session = await self._http()
        text = body.decode()

        async def worker() -> None:
            # The workers share one iterator, so each row is sent once.
            for sub in pending:
                await self._send(session, sub, text, result)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return result

    async def _send(self, session: Any, sub: Any, text: str, result: Delivered) -> None:
        import aiohttp
        from pywebpush import WebPushException, webpush_async

        if not await deliverable(sub["endpoint"], self.feed.feed_push_trusted_hosts):
            log.warning("push subscription %s names an address we won't send to; skipped", sub["id"])
            result.failed += 1
            return
        info = {"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}
        try:
            await webpush_async(
                info, text, vapid_private_key=self.vapid, vapid_claims={"sub": self.feed.vapid_subject}, ttl=TTL_S,
                aiohttp_session=session,
            )  # fmt: skip
        except WebPushException as exc:
            result.failed += 1
            if exc.status_code in GONE:
                await self.execute("DELETE FROM push_subscriptions WHERE id = $1", sub["id"])
                log.info("push subscription %s is gone (HTTP %s); deleted", sub["id"], exc.status_code)
                result.removed += 1
            else:
                log.warning("push to subscription %s was refused: %s", sub["id"], exc)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            log.warning("push to subscription %s failed: %r", sub["id"], exc)
            result.failed += 1
        else:
            result.sent += 1
            await self.execute("UPDATE push_subscriptions SET last_success_at = now() WHERE id = $1", sub["id"])

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
