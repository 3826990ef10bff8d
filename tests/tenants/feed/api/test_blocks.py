"""Blocks from real ``app.bsky.graph.block`` records, both ways: the member's own (written through
XRPC to the PDS, then indexed) and one aimed at the member (indexed from Jetstream). Timelines
drop the accounts' posts and reposts, threads show ``blockedPost``, profiles show the viewer
state, live notifications skip them; deleting the block records brings everything back.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import orjson
from atproto import AsyncClient, models
from websockets.asyncio.client import ClientConnection, connect

from tests.fakes.firehose import BLOCK, LIKE, POST, REPOST, Firehose, uri
from tests.tenants.feed.api.fixtures import FeedServer, Member, MemberFactory, index, name_accounts

BOB, CAROL, DAVE, ERIN = "did:plc:bob", "did:plc:carol", "did:plc:dave", "did:plc:erin"
BLOCKED_POST = "app.bsky.feed.defs#blockedPost"


async def seed(db: asyncpg.Connection, hose: Firehose, alice: str) -> dict[str, str]:
    """Alice follows Bob, Carol and Dave; they post, reply and repost; Erin (not followed) replies."""
    await index(db, [hose.follow(alice, did) for did in (BOB, CAROL, DAVE)])
    uris: dict[str, str] = {}

    async def post(name: str, did: str, reply_to: str | None = None) -> None:
        event = hose.post(did, name, reply_to=(reply_to, reply_to) if reply_to else None)
        await index(db, [event])
        uris[name] = uri(did, POST, event["commit"]["rkey"])

    for name, did in (("alice", alice), ("bob", BOB), ("carol", CAROL), ("dave", DAVE)):
        await post(name, did)
    await post("carol_to_dave", CAROL, uris["dave"])
    await post("erin_to_dave", ERIN, uris["dave"])
    await post("erin_to_bob", ERIN, uris["bob"])
    await post("dave_to_bob", DAVE, uris["bob"])
    await index(
        db, [hose.like(DAVE, uris["bob"], collection=REPOST), hose.like(CAROL, uris["dave"], collection=REPOST)]
    )
    await name_accounts(db, {BOB: "bob.test", CAROL: "carol.test", DAVE: "dave.test", ERIN: "erin.test"})
    return uris


async def rest_timeline(http: httpx.AsyncClient, alice: Member) -> set[tuple[str, str | None]]:
    """(post uri, reposter or None) of each item of ``/api/feed/following``."""
    response = await http.get("/api/feed/following", headers=alice.auth)
    assert response.status_code == 200, response.text
    return {(i["post"]["uri"], i["reason"]["by"]["did"] if "reason" in i else None) for i in response.json()["feed"]}


async def xrpc_timeline(client: AsyncClient) -> set[tuple[str, str | None]]:
    """The same from ``app.bsky.feed.getTimeline``, parsed by the SDK's lexicon models."""
    feed = (await client.get_timeline(limit=100)).feed
    return {(i.post.uri, i.reason.by.did if isinstance(i.reason, models.AppBskyFeedDefs.ReasonRepost) else None)
            for i in feed}  # fmt: skip


async def profile_viewer(client: AsyncClient, http: httpx.AsyncClient, alice: Member, did: str) -> dict[str, Any]:
    """getProfile's viewer state (SDK), checked equal to ``/api/profile``'s."""
    viewer = (await client.get_profile(did)).viewer
    assert viewer is not None
    rest = (await http.get(f"/api/profile/{did}", headers=alice.auth)).json()["viewer"]
    assert rest.get("blocking") == viewer.blocking and rest["blockedBy"] == viewer.blocked_by
    return {"blocking": viewer.blocking, "blockedBy": viewer.blocked_by}


async def next_frame(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next frame of ``kind`` (other frames skipped)."""
    async with asyncio.timeout(10):
        while (frame := orjson.loads(await ws.recv()))["type"] != kind:
            pass
    return dict(frame)


async def test_blocks_hide_both_ways_until_the_records_are_deleted(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice = await member("alice")
    client = AsyncClient(base_url=f"{feed_server.url}/feed/xrpc")
    await client.login(alice.handle, "pw-alice")
    uris = await seed(feed_db, hose, alice.did)
    everything = {(uris["alice"], None), (uris["bob"], None), (uris["carol"], None), (uris["dave"], None),
                  (uris["carol_to_dave"], None), (uris["dave_to_bob"], None), (uris["bob"], DAVE),
                  (uris["dave"], CAROL)}  # fmt: skip
    assert await rest_timeline(http, alice) == everything == await xrpc_timeline(client)

    record = models.AppBskyGraphBlock.Record(subject=BOB, created_at=client.get_current_time_iso())
    blocked = await client.app.bsky.graph.block.create(alice.did, record)
    assert feed_server.pds.writes[-1][2]["collection"] == BLOCK
    carols = hose.follow(CAROL, alice.did, collection=BLOCK)
    await index(feed_db, [carols])

    # Bob's and Carol's posts and reposts are gone, and so are Dave's repost of and reply to Bob's post.
    visible = {(uris["alice"], None), (uris["dave"], None)}
    assert await rest_timeline(http, alice) == visible == await xrpc_timeline(client)
    assert await profile_viewer(client, http, alice, BOB) == {"blocking": blocked.uri, "blockedBy": False}
    assert await profile_viewer(client, http, alice, CAROL) == {"blocking": None, "blockedBy": True}

    bobs = (await client.get_post_thread(uris["bob"])).thread
    assert isinstance(bobs, models.AppBskyFeedDefs.BlockedPost)
    assert bobs.uri == uris["bob"] and bobs.blocked and bobs.author.did == BOB
    assert bobs.author.viewer is not None and bobs.author.viewer.blocking == blocked.uri
    carol_thread = (await client.get_post_thread(uris["carol"])).thread
    assert isinstance(carol_thread, models.AppBskyFeedDefs.BlockedPost)
    assert carol_thread.author.viewer is not None and carol_thread.author.viewer.blocked_by
    rest_thread = (await http.get(f"/api/post/{uris['bob']}/thread", headers=alice.auth)).json()["thread"]
    assert rest_thread["$type"] == BLOCKED_POST and rest_thread["author"]["viewer"]["blocking"] == blocked.uri
    erins = (await client.get_post_thread(uris["erin_to_bob"])).thread
    assert isinstance(erins, models.AppBskyFeedDefs.ThreadViewPost)
    assert isinstance(erins.parent, models.AppBskyFeedDefs.BlockedPost) and erins.parent.uri == uris["bob"]
    daves = (await client.get_post_thread(uris["dave"])).thread
    assert isinstance(daves, models.AppBskyFeedDefs.ThreadViewPost) and daves.replies is not None
    assert [r.post.uri for r in daves.replies if isinstance(r, models.AppBskyFeedDefs.ThreadViewPost)] == [
        uris["erin_to_dave"]
    ]
    assert len(daves.replies) == 1  # Carol's reply is left out, not shown as blocked

    # Live notifications follow the list: Bob's like reaches no socket, Dave's (after it) does.
    ws = await connect(f"{feed_server.url.replace('http', 'ws')}/feed/ws")
    await ws.send(orjson.dumps({"type": "auth", "token": alice.token}).decode())
    await next_frame(ws, "auth_ok")
    await index(feed_db, [hose.like(BOB, uris["alice"])])
    await index(feed_db, [hose.like(DAVE, uris["alice"])])
    assert (await next_frame(ws, "notification"))["notification"]["author"]["did"] == DAVE
    await ws.close()
    listed = (await http.get("/api/notifications", headers=alice.auth)).json()["notifications"]
    assert [n["author"]["did"] for n in listed] == [DAVE]
    assert (await http.get("/api/notifications/count", headers=alice.auth)).json() == {"count": 1}
    assert (await client.app.bsky.notification.get_unread_count()).count == 1

    # Unblocking is deleting the records: Alice's through the API, Carol's from Jetstream.
    assert await client.app.bsky.graph.block.delete(alice.did, blocked.uri.rsplit("/", 1)[-1])
    assert feed_server.pds.writes[-1][0] == "com.atproto.repo.deleteRecord"
    await index(feed_db, [hose.delete(CAROL, BLOCK, carols["commit"]["rkey"])])
    assert await feed_db.fetchval("SELECT count(*) FROM blocks") == 0
    assert await rest_timeline(http, alice) == everything == await xrpc_timeline(client)
    for did in (BOB, CAROL):
        assert await profile_viewer(client, http, alice, did) == {"blocking": None, "blockedBy": False}
    bobs = (await client.get_post_thread(uris["bob"])).thread
    assert isinstance(bobs, models.AppBskyFeedDefs.ThreadViewPost) and bobs.post.author.did == BOB
    erins = (await client.get_post_thread(uris["erin_to_bob"])).thread
    assert isinstance(erins, models.AppBskyFeedDefs.ThreadViewPost)
    assert isinstance(erins.parent, models.AppBskyFeedDefs.ThreadViewPost)
    daves = (await client.get_post_thread(uris["dave"])).thread
    assert isinstance(daves, models.AppBskyFeedDefs.ThreadViewPost) and daves.replies is not None
    replies = {r.post.uri for r in daves.replies if isinstance(r, models.AppBskyFeedDefs.ThreadViewPost)}
    assert replies == {uris["erin_to_dave"], uris["carol_to_dave"]}
    listed = (await http.get("/api/notifications", headers=alice.auth)).json()["notifications"]
    assert sorted(n["author"]["did"] for n in listed) == [BOB, DAVE]  # stored all along, shown again
    assert (await http.get("/api/notifications/count", headers=alice.auth)).json() == {"count": 2}


async def test_likers_and_reposters_lists_leave_out_accounts_blocked_either_way(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    # As Bluesky's AppView does for getLikes and getRepostedBy, and as followers lists do here.
    alice = await member("alice")
    event = hose.post(DAVE, "liked by many")
    post = uri(DAVE, POST, event["commit"]["rkey"])
    engage = [hose.like(did, post, collection=kind) for did in (BOB, CAROL, ERIN) for kind in (LIKE, REPOST)]
    await index(feed_db, [event, *engage])
    await index(
        feed_db, [hose.follow(alice.did, BOB, collection=BLOCK), hose.follow(CAROL, alice.did, collection=BLOCK)]
    )
    auth = alice.auth
    likes = (await http.get(f"/xrpc/app.bsky.feed.getLikes?uri={post}", headers=auth)).json()["likes"]
    assert [like["actor"]["did"] for like in likes] == [ERIN]
    reposted = (await http.get(f"/xrpc/app.bsky.feed.getRepostedBy?uri={post}", headers=auth)).json()["repostedBy"]
    assert [actor["did"] for actor in reposted] == [ERIN]
    anonymous = (await http.get(f"/xrpc/app.bsky.feed.getLikes?uri={post}")).json()["likes"]
    assert len(anonymous) == 3
