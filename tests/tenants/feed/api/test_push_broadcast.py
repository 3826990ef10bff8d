"""An administrator's broadcast reaches every device, and a device that fails is counted, never a 500."""

from __future__ import annotations

import asyncpg
import httpx

from tests.fakes.push import FakePushService, Subscriber, b64url, hanging_up
from tests.tenants.feed.api.fixtures import MemberFactory


async def subscribe(http: httpx.AsyncClient, auth: dict[str, str], device: Subscriber) -> None:
    keys = {"p256dh": device.p256dh, "auth": b64url(device.auth)}
    response = await http.post("/api/push/subscribe", json={"endpoint": device.endpoint, "keys": keys}, headers=auth)
    assert response.status_code == 201, response.text


async def test_broadcast_counts_each_device(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, push_service: FakePushService
) -> None:
    admin, alice, bob = await member("admin"), await member("alice"), await member("bob")
    phone, old = Subscriber(push_service.endpoint("alice-phone")), Subscriber(push_service.endpoint("bob-old"))
    push_service.gone.add("bob-old")
    await subscribe(http, alice.auth, phone)
    await subscribe(http, bob.auth, old)
    async with hanging_up() as flaky:
        await subscribe(http, bob.auth, Subscriber(f"{flaky}/push/bob-laptop"))
        message = {"title": "Maintenance", "body": "Back at noon", "url": "https://feed.example/news"}
        answer = await http.post("/api/push/broadcast", json=message, headers=admin.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sent": 1, "failed": 2, "removed": 1}
    [(_token, _headers, body)] = [r for r in push_service.received if r[0] == "alice-phone"]
    assert phone.decrypt(body) == {"type": "broadcast", **message}
    # The gone device is forgotten; the one that hung up is kept for the next try.
    endpoints = await feed_db.fetch("SELECT endpoint, last_success_at FROM push_subscriptions ORDER BY id")
    assert [row["endpoint"] for row in endpoints] == [phone.endpoint, f"{flaky}/push/bob-laptop"]
    assert endpoints[0]["last_success_at"] is not None and endpoints[1]["last_success_at"] is None
    health = (await http.get("/health")).json()["push"]
    assert health["enabled"] is True


async def test_broadcast_reaches_every_device_once(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, push_service: FakePushService
) -> None:
    admin, alice = await member("admin"), await member("alice")
    devices = [Subscriber(push_service.endpoint(f"alice-{n}")) for n in range(60)]
    for device in devices:
        await subscribe(http, alice.auth, device)
    received = len(push_service.received)
    answer = await http.post("/api/push/broadcast", json={"title": "Hi", "body": "all"}, headers=admin.auth)
    assert answer.json() == {"sent": 60, "failed": 0, "removed": 0}
    tokens = [token for token, _, _ in push_service.received[received:]]
    assert sorted(tokens) == sorted(f"alice-{n}" for n in range(60))
