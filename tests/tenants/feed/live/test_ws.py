"""``/feed/ws`` and the ``/feed`` Socket.IO namespace: who gets which frames, and when sockets close."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import socketio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.serving import WS_MAX_MESSAGE
from tests.fakes.firehose import BLOCK, POST, Firehose, uri
from tests.support.waiting import wait_for
from tests.tenants.feed.api.fixtures import FeedServer, Member, MemberFactory, foreign_token, index

BOB = "did:plc:bob"


async def next_frame(ws: ClientConnection, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next frame of ``kind`` (pings and other frames in between are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == kind:
                return dict(frame)


async def signed_in(server: FeedServer, who: Member) -> ClientConnection:
    ws = await connect(f"{server.url.replace('http', 'ws')}/feed/ws")
    await ws.send(orjson.dumps({"type": "auth", "token": who.token}).decode())
    assert (await next_frame(ws, "auth_ok"))["did"] == who.did
    return ws


async def bob_post(db: asyncpg.Connection, hose: Firehose) -> str:
    event = hose.post(BOB, "watch me")
    await index(db, [event])
    return uri(BOB, POST, event["commit"]["rkey"])


async def test_two_members_get_post_updated_and_an_anonymous_socket_gets_nothing(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice, carol = await member("alice"), await member("carol")
    post = await bob_post(feed_db, hose)
    first, second = await signed_in(feed_server, alice), await signed_in(feed_server, carol)
    anonymous = await connect(f"{feed_server.url.replace('http', 'ws')}/feed/ws")
    liked = await http.post("/api/like", json={"uri": post}, headers=alice.auth)
    assert liked.status_code == 200
    for ws in (first, second):
        frame = await next_frame(ws, "post_updated")
        assert frame["uri"] == post and frame["likeCount"] == 1 and frame["post"]["likeCount"] == 1
    with pytest.raises(ConnectionClosed) as closed:
        await anonymous.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    await first.close()
    await second.close()


async def test_notifications_reach_only_their_recipient_and_replies_are_hydrated(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice, carol = await member("alice"), await member("carol")
    created = await http.post("/api/post", json={"text": "alice's post"}, headers=alice.auth)
    post = created.json()["uri"]
    alice_ws, carol_ws = await signed_in(feed_server, alice), await signed_in(feed_server, carol)
    reply = await http.post("/api/reply", json={"text": "hi alice", "parentUri": post}, headers=carol.auth)
    assert reply.status_code == 201
    note = await next_frame(alice_ws, "notification")
    assert note["notification"]["reason"] == "reply" and note["notification"]["author"]["did"] == carol.did
    added = await next_frame(carol_ws, "reply_added")
    assert added["parentUri"] == post and added["reply"]["uri"] == reply.json()["uri"]
    await carol_ws.send('{"type": "ping"}')
    await next_frame(carol_ws, "pong")  # carol's socket got no notification frame before its pong
    deleted = await http.delete(f"/api/post/{reply.json()['uri']}", headers=carol.auth)
    assert deleted.status_code == 204
    assert (await next_frame(alice_ws, "post_deleted"))["uri"] == reply.json()["uri"]
    await alice_ws.close()
    await carol_ws.close()


async def test_bad_messages_get_error_frames_and_silent_peers_are_closed(
    feed_server: FeedServer, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    ws = await connect(f"{feed_server.url.replace('http', 'ws')}/feed/ws")
    for bad, code in (("not json", "malformed"), ('{"type": 7}', "malformed"), ('{"type": "dance"}', "unknown_type")):
        await ws.send(bad)
        assert (await next_frame(ws, "error"))["error"] == code
    await ws.send(orjson.dumps({"type": "auth", "token": foreign_token(alice.did)}).decode())
    assert (await next_frame(ws, "error"))["error"] == "unauthorized"
    await ws.send(orjson.dumps({"type": "auth", "token": alice.token}).decode())
    assert (await next_frame(ws, "auth_ok"))["did"] == alice.did
    await ws.send('{"type": "subscribe", "uris": "nope"}')
    assert (await next_frame(ws, "error"))["error"] == "malformed"
    # Answer one ping, then fall silent: the server decides the peer is dead.
    await next_frame(ws, "ping")
    await ws.send('{"type": "pong"}')
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
    hub = feed_server.app.state.contexts["feed"].state["feed_api"].hub
    await wait_for(lambda: hub.stats()["connections"] == 0)


async def test_an_oversized_message_closes_the_socket_before_it_is_held(
    feed_server: FeedServer, member: MemberFactory
) -> None:
    # uvicorn would assemble messages of up to 16 MB per socket; the gateway takes 64 KB at most.
    alice = await member("alice")
    url = f"{feed_server.url.replace('http', 'ws')}/feed/ws"
    async with connect(url, max_size=None) as ws:
        await ws.send("x" * (WS_MAX_MESSAGE + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
    async with connect(url) as ws:  # a message at the limit is read (and answered) as usual
        await ws.send(orjson.dumps({"type": "auth", "token": alice.token, "pad": "x" * 60_000}).decode())
        assert (await next_frame(ws, "error"))["error"] == "malformed"  # over the feed's own 16 KB


async def test_socketio_namespace_gets_the_same_frames(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice = await member("alice")
    post = await bob_post(feed_db, hose)
    client = socketio.AsyncClient()
    received: list[dict[str, Any]] = []
    client.on("post_updated", received.append, namespace="/feed")
    refused = socketio.AsyncClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(feed_server.url, namespaces=["/feed"], auth={"token": foreign_token(alice.did)},
                              transports=["websocket"], wait_timeout=5)  # fmt: skip
    await client.connect(
        feed_server.url, namespaces=["/feed"], auth={"token": alice.token}, transports=["websocket"], wait_timeout=5
    )
    try:
        assert (await http.post("/api/repost", json={"uri": post}, headers=alice.auth)).status_code == 200
        await wait_for(lambda: received)
        assert received[0]["uri"] == post and received[0]["repostCount"] == 1
    finally:
        await client.disconnect()


def open_sockets(metrics: str) -> float:
    line = next(line for line in metrics.splitlines() if line.startswith('onebox_websocket_connections{tenant="feed"}'))
    return float(line.split()[-1])


async def test_open_sockets_are_counted_in_the_metrics(
    feed_server: FeedServer, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    async with httpx.AsyncClient(base_url=feed_server.url) as box:
        before = open_sockets((await box.get("/metrics")).text)
        sockets = [await signed_in(feed_server, alice) for _ in range(3)]
        assert open_sockets((await box.get("/metrics")).text) == before + 3
        for ws in sockets:
            await ws.close()
        await wait_for(lambda: _count_is(box, before))
        assert "onebox_db_pool_waiting" in (await box.get("/metrics")).text


async def _count_is(box: httpx.AsyncClient, expected: float) -> bool:
    return open_sockets((await box.get("/metrics")).text) == expected


async def test_a_block_made_while_connected_hides_the_blocked_accounts_replies(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection,
    hose: Firehose,
) -> None:  # fmt: skip
    alice, carol, dave = await member("alice"), await member("carol"), await member("dave")
    post = (await http.post("/api/post", json={"text": "dave's post"}, headers=dave.auth)).json()["uri"]
    before = await signed_in(feed_server, alice)  # connected before the block
    try:
        await index(feed_db, [hose.follow(alice.did, carol.did, collection=BLOCK)])
        assert await feed_db.fetchval(
            "SELECT blocking_uri IS NOT NULL FROM viewer_actor_state WHERE viewer_did = $1 AND subject_did = $2",
            alice.did, carol.did,
        )  # fmt: skip
        after = await signed_in(feed_server, alice)  # connected after the block
        watcher = await signed_in(feed_server, dave)
        reply = await http.post("/api/reply", json={"text": "carol here", "parentUri": post}, headers=carol.auth)
        assert reply.status_code == 201
        await next_frame(watcher, "reply_added")
        await after.send('{"type": "ping"}')
        await next_frame(after, "pong")  # the rule: a socket opened after the block gets no reply_added first
        await before.send('{"type": "ping"}')
        frames: list[str] = []
        async with asyncio.timeout(5):
            while (kind := orjson.loads(await before.recv())["type"]) != "pong":
                frames.append(kind)
        assert "reply_added" not in frames, "a socket opened before the block still gets the blocked account's replies"
    finally:
        for ws in (before, locals().get("after"), locals().get("watcher")):
            if ws is not None:
                await ws.close()


def hub_of(server: FeedServer) -> Any:
    return server.ctx.state["feed_api"].hub


async def test_one_socket_cannot_make_the_server_hold_megabytes_of_topics(
    feed_server: FeedServer, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    # Each message is capped (16 KB); what subscriptions accumulate is too.
    alice = await member("alice")
    hub = hub_of(feed_server)
    known = set(hub.peers)
    ws = await signed_in(feed_server, alice)
    try:
        (peer,) = hub.peers - known
        for n in range(40):  # 80 KB of URIs of the longest length taken
            uris = [f"at://did:plc:x/app.bsky.feed.post/{n}-{i}-" + "a" * 960 for i in range(2)]
            await ws.send(orjson.dumps({"type": "subscribe", "uris": uris}).decode())
        long = ["at://did:plc:x/app.bsky.feed.post/long-" + "a" * 8000]
        await ws.send(orjson.dumps({"type": "subscribe", "uris": long}).decode())
        await ws.send('{"type": "ping"}')
        await next_frame(ws, "pong")
        held = sum(len(t) for t in peer.topics or ())
        assert held <= 64 * 1024, f"one socket holds {held / 1e3:.0f} KB of subscribed URIs"
    finally:
        await ws.close()


async def frames_until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every frame before the answer to a ping sent now (what the server had queued for this socket)."""
    await ws.send('{"type": "ping"}')
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while (frame := orjson.loads(await ws.recv()))["type"] != "pong":
            frames.append(frame)
    return frames


async def test_blocks_either_way_hide_profile_changes_and_deletes_of_the_account(
    feed_server: FeedServer, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    # Alice follows Bob and Carol but blocks Bob; Carol blocks Alice. Follow records stay when
    # a block is made, so following is not what decides who hears about an account.
    alice, carol = await member("alice"), await member("carol")
    posts = [hose.post(BOB, "bob's post"), hose.post(carol.did, "carol's post")]
    await index(feed_db, [*posts, hose.follow(alice.did, BOB), hose.follow(alice.did, carol.did)])
    await index(
        feed_db, [hose.follow(alice.did, BOB, collection=BLOCK), hose.follow(carol.did, alice.did, collection=BLOCK)]
    )
    watcher, ws = await signed_in(feed_server, carol), await signed_in(feed_server, alice)
    try:
        await index(feed_db, [hose.profile(BOB, "Bob B."), hose.profile(carol.did, "Carol C.")])
        await index(feed_db, [hose.delete(str(p["did"]), POST, p["commit"]["rkey"]) for p in posts])
        for _ in posts:  # Carol hears of both deletes: every event has gone out
            await next_frame(watcher, "post_deleted")
        seen = [(f["type"], f.get("did") or f.get("uri")) for f in await frames_until_pong(ws)]
        leaked = [f for f in seen if f[0] in ("profile_updated", "post_deleted")]
        assert not leaked, f"events of accounts blocked either way reached the socket: {leaked}"
    finally:
        await ws.close()
        await watcher.close()


async def test_replies_to_a_blocked_accounts_post_are_hidden_as_the_feeds_hide_them(
    feed_server: FeedServer, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    # Carol's reply is by an account Alice sees, but it is on Bob's thread, whom Alice blocks:
    # the feeds leave such replies out (as Bluesky's AppView does), so the socket must too.
    alice, carol = await member("alice"), await member("carol")
    post = await bob_post(feed_db, hose)
    await index(feed_db, [hose.follow(alice.did, BOB, collection=BLOCK)])
    watcher, ws = await signed_in(feed_server, carol), await signed_in(feed_server, alice)
    try:
        await index(feed_db, [hose.post(carol.did, "carol replies", reply_to=(post, post))])
        assert (await next_frame(watcher, "reply_added"))["parentUri"] == post  # the event went out
        kinds = [f["type"] for f in await frames_until_pong(ws)]
        assert "reply_added" not in kinds, "a reply on a blocked account's thread reached the socket"
    finally:
        await ws.close()
        await watcher.close()
