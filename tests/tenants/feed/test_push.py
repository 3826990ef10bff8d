"""Web push: a notification reaches a member's device encrypted; a gone subscription is removed."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import jwt
from py_vapid import Vapid

from tests.fakes.firehose import POST, Firehose, uri
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.push import FakePushService, Subscriber, b64url, hanging_up
from tests.support.waiting import wait_for
from tests.tenants.feed.conftest import IndexerFactory, add_member, members_synced, start_at

MEMBER = "did:plc:member"
FAN = "did:plc:fan"


async def subscribe(db: asyncpg.Connection, sub: Subscriber) -> None:
    await db.execute(
        "INSERT INTO push_subscriptions (member_did, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)",
        MEMBER,
        sub.endpoint,
        sub.p256dh,
        b64url(sub.auth),
    )


async def member_with(
    db: asyncpg.Connection, hose: Firehose, subs: list[Subscriber]
) -> tuple[Vapid, list[dict[str, Any]]]:
    """A fresh VAPID key, the member with ``subs`` subscribed, and a post of theirs and a like of it."""
    vapid = Vapid()
    vapid.generate_keys()
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    for sub in subs:
        await subscribe(db, sub)
    mine = hose.post(MEMBER, "push me")
    return vapid, [mine, hose.like(FAN, uri(MEMBER, POST, mine["commit"]["rkey"]))]


async def test_push_reaches_good_subscriptions_and_drops_gone_ones(
    db: asyncpg.Connection,
    jetstream: FakeJetstream,
    push_service: FakePushService,
    hose: Firehose,
    indexer: IndexerFactory,
) -> None:
    phone, old_laptop = Subscriber(push_service.endpoint("phone")), Subscriber(push_service.endpoint("laptop"))
    push_service.gone.add("laptop")
    vapid, (mine, like) = await member_with(db, hose, [phone, old_laptop])
    async with indexer(vapid_private_key=vapid.private_pem().decode(), vapid_subject="mailto:ops@example.test"):
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([mine, like])
        await wait_for(lambda: push_service.received, timeout=20)
        await wait_for(lambda: _count(db, old_laptop.endpoint, 0), timeout=20)
    token, headers, body = push_service.received[0]
    assert token == "phone" and headers["content-encoding"] == "aes128gcm"
    message = phone.decrypt(body)
    assert message["type"] == "like" and message["actor"] == FAN and message["uri"] == like_uri(like)
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.split("=", 1) for part in params.split(","))
    claims = jwt.decode(fields["t"], vapid.public_key, algorithms=["ES256"], options={"verify_aud": False})
    assert claims["aud"] == push_service.url and claims["sub"] == "mailto:ops@example.test"
    assert await _count(db, phone.endpoint, 1)
    state = await db.fetchrow("SELECT push_sent, push_failed FROM indexer_state")
    assert state["push_sent"] == 1 and state["push_failed"] == 1


def like_uri(event: dict[str, object]) -> str:
    commit = event["commit"]
    assert isinstance(commit, dict)
    return uri(str(event["did"]), commit["collection"], commit["rkey"])


async def _count(db: asyncpg.Connection, endpoint: str, expected: int) -> bool:
    return await db.fetchval("SELECT count(*) FROM push_subscriptions WHERE endpoint = $1", endpoint) == expected


async def test_a_subscription_naming_the_box_itself_is_never_sent_to(
    db: asyncpg.Connection,
    jetstream: FakeJetstream,
    push_service: FakePushService,
    hose: Firehose,
    indexer: IndexerFactory,
) -> None:
    # Stored before the subscribe-time check existed, or by a name that now resolves to loopback:
    # "localhost" is not the trusted 127.0.0.1, and the fake listens there.
    sneaky = Subscriber(push_service.endpoint("sneaky").replace("127.0.0.1", "localhost"))
    phone = Subscriber(push_service.endpoint("phone"))
    vapid, (mine, like) = await member_with(db, hose, [sneaky, phone])
    async with indexer(vapid_private_key=vapid.private_pem().decode()):
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([mine, like])
        await wait_for(lambda: push_service.received, timeout=20)
        await wait_for(lambda: _pushes_settled(db), timeout=20)
    assert [token for token, _, _ in push_service.received] == ["phone"]
    state = await db.fetchrow("SELECT push_sent, push_failed FROM indexer_state")
    assert (state["push_sent"], state["push_failed"]) == (1, 1)
    assert await _count(db, sneaky.endpoint, 1)  # kept: refusing to send is not the service saying gone


async def _pushes_settled(db: asyncpg.Connection) -> bool:
    return bool(await db.fetchval("SELECT push_sent + push_failed = 2 FROM indexer_state"))


async def test_a_push_service_that_hangs_up_fails_that_device_only(
    db: asyncpg.Connection,
    jetstream: FakeJetstream,
    push_service: FakePushService,
    hose: Firehose,
    indexer: IndexerFactory,
) -> None:
    phone = Subscriber(push_service.endpoint("phone"))
    async with hanging_up() as flaky:
        tablet = Subscriber(f"{flaky}/push/tablet")
        vapid, (mine, like) = await member_with(db, hose, [tablet, phone])
        async with indexer(vapid_private_key=vapid.private_pem().decode()):
            await wait_for(lambda: members_synced(db), timeout=20)
            jetstream.publish([mine, like])
            await wait_for(lambda: _pushes_settled(db), timeout=20)
            # The indexer carries on: the next notification is pushed too.
            jetstream.publish([hose.like("did:plc:fan2", uri(MEMBER, POST, mine["commit"]["rkey"]))])
            await wait_for(lambda: len(push_service.received) == 2, timeout=20)
    assert [token for token, _, _ in push_service.received] == ["phone", "phone"]
    assert await _count(db, tablet.endpoint, 1)  # kept for the next try


async def test_notices_dropped_on_a_full_queue_are_counted_and_lower_the_success_rate(
    db: asyncpg.Connection,
    jetstream: FakeJetstream,
    push_service: FakePushService,
    hose: Firehose,
    indexer: IndexerFactory,
    client: httpx.AsyncClient,
) -> None:
    # A push service that stalls: one notice is out, one waits in a queue of one, the rest are dropped.
    phone = Subscriber(push_service.endpoint("phone"))
    vapid, (mine, like) = await member_with(db, hose, [phone])
    post_uri = uri(MEMBER, POST, mine["commit"]["rkey"])
    likes = [like, *(hose.like(f"did:plc:fan{n}", post_uri) for n in range(4))]
    push_service.hold()
    try:
        async with indexer(vapid_private_key=vapid.private_pem().decode(), feed_push_queue=1):
            await wait_for(lambda: members_synced(db), timeout=20)
            jetstream.publish([mine, *likes])
            await wait_for(lambda: push_service.waiting == 1, timeout=20)
            await wait_for(lambda: _all_offered(db, len(likes)), timeout=20)
            push_service.release()
            await wait_for(lambda: _all_offered(db, len(likes), settled=True), timeout=20)
        state = await db.fetchrow("SELECT push_sent, push_failed, push_dropped FROM indexer_state")
        assert state["push_dropped"] >= len(likes) - 2 and state["push_sent"] == len(push_service.received)
        push = (await client.get("/feed/health")).json()["push"]
        assert push["dropped"] == state["push_dropped"]
        assert push["success_rate"] == round(push["sent"] / (push["sent"] + push["failed"] + push["dropped"]), 4)
        metrics = (await client.get("/metrics")).text
        assert f'onebox_feed_indexer_push_dropped_total{{tenant="feed"}} {float(state["push_dropped"])}' in metrics
    finally:
        push_service.release()
        await db.execute("DELETE FROM indexer_state")


async def _all_offered(db: asyncpg.Connection, notices: int, settled: bool = False) -> bool:
    """Whether every notice is counted as dropped or, with ``settled``, as sent or failed too."""
    row = await db.fetchrow("SELECT push_sent + push_failed AS done, push_dropped FROM indexer_state")
    if row is None:
        return False
    return bool(row["done"] + row["push_dropped"] == notices if settled else row["push_dropped"] >= notices - 2)
