"""Web push of notifications that API writes create: delivered encrypted at once, and only once
when the Jetstream echo of the same records reaches the indexer (which pushes what it creates);
never from an account the recipient blocks, whichever process creates the notification.
"""

from __future__ import annotations

import base64
from typing import Any

import asyncpg
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from tenants.feed.app import services
from tests.fakes.firehose import BLOCK, REPOST, Firehose, uri
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.push import FakePushService, Subscriber, b64url
from tests.support.waiting import wait_for
from tests.tenants.feed.api.fixtures import FeedServer, MemberFactory, echo, index
from tests.tenants.feed.conftest import IndexerFactory, members_synced, settled, start_at

CAROL = "did:plc:carol"


def public_key(point: str) -> ec.EllipticCurvePublicKey:
    """The VAPID public key from its base64url uncompressed point."""
    raw = base64.urlsafe_b64decode(point + "=" * (-len(point) % 4))
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def signer(headers: dict[str, str], audience: str) -> str:
    """The VAPID public key a push was signed with, once its JWT verifies for ``audience``."""
    fields = dict(part.split("=", 1) for part in headers["authorization"].removeprefix("vapid ").split(","))
    claims = jwt.decode(fields["t"], public_key(fields["k"]), algorithms=["ES256"], options={"verify_aud": False})
    assert claims["aud"] == audience
    return fields["k"]


def echoed(server: FeedServer, written: dict[str, Any], time_us: int) -> dict[str, Any]:
    """The Jetstream event of a record an API write stored at the fake PDS."""
    did, collection, rkey = written["uri"].removeprefix("at://").split("/")
    cid, record = server.pds.repos[did][collection][rkey]
    return echo(did, collection, rkey, cid, record, time_us)


async def test_like_and_reply_through_the_api_push_to_the_author_once(
    feed_server: FeedServer,
    http: httpx.AsyncClient,
    member: MemberFactory,
    feed_db: asyncpg.Connection,
    hose: Firehose,
    jetstream: FakeJetstream,
    indexer: IndexerFactory,
    push_service: FakePushService,
) -> None:
    alice, bob, mallory = await member("alice"), await member("bob"), await member("mallory")
    phone = Subscriber(push_service.endpoint("bob-phone"))
    keys = {"p256dh": phone.p256dh, "auth": b64url(phone.auth)}
    subscribed = await http.post(
        "/api/push/subscribe", json={"endpoint": phone.endpoint, "keys": keys}, headers=bob.auth
    )
    assert subscribed.status_code == 201, subscribed.text
    post = (await http.post("/api/post", json={"text": "push me"}, headers=bob.auth)).json()["uri"]
    await index(feed_db, [hose.follow(bob.did, mallory.did, collection=BLOCK)])

    shunned = await http.post("/api/like", json={"uri": post}, headers=mallory.auth)
    assert shunned.status_code == 200, shunned.text
    liked = await http.post("/api/like", json={"uri": post}, headers=alice.auth)
    assert liked.status_code == 200, liked.text
    replied = await http.post("/api/reply", json={"text": "nice one", "parentUri": post}, headers=alice.auth)
    assert replied.status_code == 201, replied.text
    await wait_for(lambda: len(push_service.received) == 2)
    await services(feed_server.ctx).pusher.drain()
    assert len(push_service.received) == 2  # nothing for Mallory's like: Bob blocks her

    rows = await feed_db.fetch(
        "SELECT id, type, actor_did, record_uri, subject_uri FROM notifications WHERE recipient_did = $1 "
        "AND actor_did = $2",
        bob.did,
        alice.did,
    )
    expected = {r["type"]: {"type": r["type"], "id": r["id"], "actor": r["actor_did"], "uri": r["record_uri"],
                            "subject": r["subject_uri"]} for r in rows}  # fmt: skip
    assert sorted(expected) == ["like", "reply"]
    assert expected["like"]["uri"] == liked.json()["uri"] and expected["reply"]["uri"] == replied.json()["uri"]
    assert expected["like"]["subject"] == post and expected["like"]["actor"] == alice.did
    messages: dict[str, Any] = {}
    point = (await http.get("/api/push/vapid-public-key")).json()["publicKey"]
    for token, headers, body in push_service.received:
        assert token == "bob-phone" and headers["content-encoding"] == "aes128gcm"
        message = phone.decrypt(body)
        messages[message["type"]] = message
        # Signed with the key browsers were told to subscribe with, for this push service.
        assert signer(headers, push_service.url) == point
    assert messages == expected

    # The echoes change nothing, so the indexer pushes nothing for them, nor for Mallory's repost;
    # Carol's repost, last in the stream, is pushed and proves the push queue got past the rest.
    await start_at(feed_db, hose.time_us)
    events = [echoed(feed_server, liked.json(), hose.time_us + 1000),
              echoed(feed_server, replied.json(), hose.time_us + 2000)]  # fmt: skip
    hose.time_us += 2000
    events.append(hose.like(mallory.did, post, collection=REPOST))
    reposted = hose.like(CAROL, post, collection=REPOST)
    # The indexer signs with the gateway's key, as one ONEBOX_VAPID_PRIVATE_KEY configures both.
    key = services(feed_server.ctx).av.feed.vapid_private_key
    assert key is not None
    async with indexer(vapid_private_key=key.get_secret_value()):
        await wait_for(lambda: members_synced(feed_db), timeout=10)
        jetstream.publish([*events, reposted])
        await wait_for(lambda: settled(feed_db, reposted["time_us"]), timeout=10)
        await wait_for(lambda: len(push_service.received) >= 3, timeout=10)
    assert len(push_service.received) == 3
    _, headers, body = push_service.received[2]
    assert signer(headers, push_service.url) == point
    last = phone.decrypt(body)
    assert (last["type"], last["actor"], last["subject"]) == ("repost", CAROL, post)
    assert last["uri"] == uri(CAROL, REPOST, reposted["commit"]["rkey"])
    # Mallory's notifications are stored (the list hides them while the block lasts).
    assert await feed_db.fetchval("SELECT count(*) FROM notifications WHERE recipient_did = $1", bob.did) == 5
    assert await feed_db.fetchval("SELECT push_sent FROM indexer_state") == 1
