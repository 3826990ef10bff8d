"""Account events from Jetstream: an account taken down (or deactivated, suspended, deleted) is hidden
from every REST and XRPC view, and its profile answers the lexicon's error; reactivating it brings
everything back (nothing was deleted). XRPC reads go through the real ``atproto`` SDK.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from atproto import AsyncClient, models
from atproto.exceptions import BadRequestError
from websockets.asyncio.client import ClientConnection, connect

from tests.fakes.firehose import POST, REPOST, Firehose, uri
from tests.tenants.feed.api.fixtures import FeedServer, Member, MemberFactory, index, name_accounts

BOB, CAROL = "did:plc:bob", "did:plc:carol"
NOT_FOUND = "app.bsky.feed.defs#notFoundPost"


async def next_frame(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next frame of ``kind`` (other frames skipped)."""
    async with asyncio.timeout(10):
        while (frame := orjson.loads(await ws.recv()))["type"] != kind:
            pass
    return dict(frame)


async def seed(db: asyncpg.Connection, hose: Firehose, alice: str) -> dict[str, str]:
    """Alice follows Bob and Carol; they post (a word "zebra"), reply to each other, repost, like,
    quote, and Bob follows and likes Alice (her notifications)."""
    uris: dict[str, str] = {}

    async def post(name: str, did: str, **kwargs: Any) -> None:
        event = hose.post(did, f"{name} zebra", tags=("cannabis",), **kwargs)
        await index(db, [event])
        uris[name] = uri(did, POST, event["commit"]["rkey"])

    await index(db, [hose.follow(alice, BOB), hose.follow(alice, CAROL)])
    await post("alice", alice)
    await post("bob", BOB)
    await post("carol", CAROL)
    await post("carol_to_bob", CAROL, reply_to=(uris["bob"], uris["bob"]))
    await post("bob_to_carol", BOB, reply_to=(uris["carol"], uris["carol"]))
    await post("carol_quotes_bob", CAROL, quote=uris["bob"])
    await index(db, [
        hose.like(BOB, uris["carol"], collection=REPOST), hose.like(BOB, uris["alice"]),
        hose.like(CAROL, uris["alice"]), hose.follow(BOB, alice),
    ])  # fmt: skip
    await name_accounts(db, {BOB: "bob.test", CAROL: "carol.test"})
    return uris


async def rest_get(http: httpx.AsyncClient, alice: Member, path: str) -> Any:
    response = await http.get(path, headers=alice.auth)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def authors(items: list[dict[str, Any]]) -> set[str]:
    """Every account a page of feedViewPosts shows: authors and reposters."""
    return {i["post"]["author"]["did"] for i in items} | {i["reason"]["by"]["did"] for i in items if "reason" in i}


async def rest_views(http: httpx.AsyncClient, alice: Member, uris: dict[str, str]) -> dict[str, Any]:
    """What Alice sees of Bob through REST."""
    following = (await rest_get(http, alice, "/api/feed/following"))["feed"]
    reply = next(i for i in following if i["post"]["uri"] == uris["carol_to_bob"])
    quote = next(i for i in following if i["post"]["uri"] == uris["carol_quotes_bob"])
    carol_thread = (await rest_get(http, alice, f"/api/post/{uris['carol']}/thread"))["thread"]
    notifications = (await rest_get(http, alice, "/api/notifications"))["notifications"]
    return {
        "following": authors(following),
        "global": authors((await rest_get(http, alice, "/api/feed/global"))["feed"]),
        "parent": reply["reply"]["parent"].get("$type"),
        "quote": quote["post"]["embed"]["record"]["$type"],
        "replies": {r["post"]["author"]["did"] for r in carol_thread.get("replies", [])},
        "followers": {
            a["did"] for a in (await rest_get(http, alice, f"/api/profile/{alice.did}/followers"))["followers"]
        },
        "notifications": {n["author"]["did"] for n in notifications},
        "unread": (await rest_get(http, alice, "/api/notifications/count"))["count"],
        "search": {p["author"]["did"] for p in (await rest_get(http, alice, "/api/search?q=zebra"))["posts"]},
        "users": {u["did"] for u in (await rest_get(http, alice, "/api/search?q=bob&type=users"))["users"]},
    }


async def xrpc_views(client: AsyncClient, uris: dict[str, str]) -> dict[str, Any]:
    """What Alice sees of Bob through XRPC, parsed by the SDK's lexicon models."""
    timeline = (await client.get_timeline(limit=100)).feed
    seen = {i.post.author.did for i in timeline}
    seen |= {i.reason.by.did for i in timeline if isinstance(i.reason, models.AppBskyFeedDefs.ReasonRepost)}
    reply = next(i for i in timeline if i.post.uri == uris["carol_to_bob"])
    assert reply.reply is not None
    posts = (await client.get_posts([uris["bob"], uris["carol"]])).posts
    likes = (await client.get_likes(uris["alice"])).likes
    reposters = (await client.get_reposted_by(uris["carol"])).reposted_by
    followers = (await client.get_followers(client.me.did if client.me else "")).followers
    notifications = (await client.app.bsky.notification.list_notifications()).notifications
    found = (await client.app.bsky.feed.search_posts({"q": "zebra"})).posts
    carol_thread = (await client.get_post_thread(uris["carol"])).thread
    assert isinstance(carol_thread, models.AppBskyFeedDefs.ThreadViewPost)
    return {
        "timeline": seen,
        "parent": type(reply.reply.parent).__name__,
        "posts": {p.author.did for p in posts},
        "profiles": {p.did for p in (await client.get_profiles([BOB, CAROL])).profiles},
        "likes": {like.actor.did for like in likes},
        "reposters": {a.did for a in reposters},
        "followers": {a.did for a in followers},
        "notifications": {n.author.did for n in notifications},
        "search": {p.author.did for p in found},
        "replies": {r.post.author.did for r in carol_thread.replies or [] if hasattr(r, "post")},
    }


async def xrpc_error(call: Any) -> str:
    """The XRPC error name a call answers (a 400)."""
    with pytest.raises(BadRequestError) as caught:
        await call
    assert caught.value.response is not None and caught.value.response.status_code == 400
    content = caught.value.response.content
    return str(content.error)  # type: ignore[union-attr]


async def test_a_takedown_hides_the_account_everywhere_until_it_is_reactivated(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice = await member("alice")
    client = AsyncClient(base_url=f"{feed_server.url}/feed/xrpc")
    await client.login("alice.test", "pw-alice")
    uris = await seed(feed_db, hose, alice.did)
    before_rest, before_xrpc = await rest_views(http, alice, uris), await xrpc_views(client, uris)
    assert BOB in before_rest["following"] and BOB in before_rest["global"] and BOB in before_rest["notifications"]
    assert before_rest["parent"] == "app.bsky.feed.defs#postView"
    assert before_rest["quote"] == "app.bsky.embed.record#viewRecord"
    assert {BOB} <= before_xrpc["timeline"] & before_xrpc["likes"] & before_xrpc["reposters"] & before_xrpc["search"]

    await index(feed_db, [hose.account(BOB, False, "takendown")])

    rest = await rest_views(http, alice, uris)
    for key in ("following", "global", "replies", "followers", "notifications", "search", "users"):
        assert BOB not in rest[key], key
    assert CAROL in rest["following"] and CAROL in rest["search"]
    assert rest["parent"] == NOT_FOUND  # Carol's reply stays, its parent is not found
    assert rest["quote"] == "app.bsky.embed.record#viewNotFound"
    assert rest["unread"] == before_rest["unread"] - 2  # Bob's like and follow
    for path in ("/api/profile/bob.test", f"/api/profile/{BOB}/posts", f"/api/profile/{BOB}/followers"):
        answer = await http.get(path, headers=alice.auth)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "account_inactive"
        assert answer.json()["error"]["details"] == {"status": "takendown"}
    for path in (f"/api/post/{uris['bob']}", f"/api/post/{uris['bob']}/thread"):
        assert (await http.get(path, headers=alice.auth)).status_code == 404, path
    reply_thread = await rest_get(http, alice, f"/api/post/{uris['carol_to_bob']}/thread")
    assert reply_thread["thread"]["parent"]["$type"] == NOT_FOUND

    xrpc = await xrpc_views(client, uris)
    for key in ("timeline", "posts", "profiles", "likes", "reposters", "followers", "notifications", "search",
                "replies"):  # fmt: skip
        assert BOB not in xrpc[key], key
    assert CAROL in xrpc["profiles"] and CAROL in xrpc["posts"] and CAROL in xrpc["likes"]
    assert xrpc["parent"] == "NotFoundPost"
    assert await xrpc_error(client.get_profile(BOB)) == "AccountTakedown"
    assert await xrpc_error(client.get_profile("bob.test")) == "AccountTakedown"
    assert await xrpc_error(client.get_author_feed(BOB)) == "InvalidRequest"
    assert await xrpc_error(client.get_post_thread(uris["bob"])) == "NotFound"
    unread = await client.app.bsky.notification.get_unread_count()
    assert unread.count == before_rest["unread"] - 2

    await index(feed_db, [hose.account(BOB, True)])

    assert await rest_views(http, alice, uris) == before_rest
    assert await xrpc_views(client, uris) == before_xrpc
    assert (await client.get_profile(BOB)).did == BOB
    assert (await http.get("/api/profile/bob.test", headers=alice.auth)).status_code == 200


@pytest.mark.parametrize(
    ("status", "error"),
    [("suspended", "AccountTakedown"), ("deactivated", "AccountDeactivated"), ("deleted", "InvalidRequest")],
)
async def test_each_inactive_status_answers_its_profile_error(
    feed_server: FeedServer, http: httpx.AsyncClient, feed_db: asyncpg.Connection, hose: Firehose, status: str,
    error: str,
) -> None:  # fmt: skip
    await index(feed_db, [hose.post(BOB, "hi")])
    await name_accounts(feed_db, {BOB: "bob.test"})
    await index(feed_db, [hose.account(BOB, False, status)])
    answer = await http.get("/xrpc/app.bsky.actor.getProfile?actor=bob.test")
    assert answer.status_code == 400 and answer.json()["error"] == error
    rest = await http.get("/api/profile/bob.test")
    assert rest.status_code == 404 and rest.json()["error"]["details"] == {"status": status}


async def test_statuses_that_leave_the_repository_hosted_change_nothing(
    feed_server: FeedServer, http: httpx.AsyncClient, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    """``throttled`` and ``desynchronized`` are not acted on (as Bluesky's AppView)."""
    await index(feed_db, [hose.post(BOB, "hi")])
    await name_accounts(feed_db, {BOB: "bob.test"})
    await index(feed_db, [hose.account(BOB, False, "throttled"), hose.account(BOB, False, "desynchronized")])
    assert await feed_db.fetchval("SELECT account_status FROM profiles WHERE did = $1", BOB) is None
    assert (await http.get("/xrpc/app.bsky.actor.getProfile?actor=bob.test")).status_code == 200
    await index(feed_db, [hose.account(BOB, False, "takendown"), hose.account(BOB, False, "throttled")])
    assert await feed_db.fetchval("SELECT account_status FROM profiles WHERE did = $1", BOB) == "takendown"


async def test_live_frames_skip_an_inactive_account(
    feed_server: FeedServer, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    """Bob is taken down: his like and reply reach Alice's socket as nothing; Carol's that follow do."""
    alice = await member("alice")
    mine = hose.post(alice.did, "alice's post")
    post = uri(alice.did, POST, mine["commit"]["rkey"])
    await index(feed_db, [mine, hose.post(BOB, "bob was here")])  # an account event updates a stored account
    await index(feed_db, [hose.account(BOB, False, "takendown")])
    ws = await connect(f"{feed_server.url.replace('http', 'ws')}/feed/ws")
    await ws.send(orjson.dumps({"type": "auth", "token": alice.token}).decode())
    assert (await next_frame(ws, "auth_ok"))["did"] == alice.did
    await index(feed_db, [hose.like(BOB, post), hose.post(BOB, "from bob", reply_to=(post, post))])
    await index(feed_db, [hose.like(CAROL, post), hose.post(CAROL, "from carol", reply_to=(post, post))])
    reasons: list[str] = []
    async with asyncio.timeout(10):
        while len(reasons) < 3:  # Carol's like and reply notifications, and her reply_added
            frame = orjson.loads(await ws.recv())
            if frame["type"] in ("notification", "reply_added"):
                view = frame["notification"]["author"] if frame["type"] == "notification" else frame["reply"]["author"]
                assert view["did"] == CAROL, frame
                reasons.append(frame["notification"]["reason"] if frame["type"] == "notification" else "reply_added")
    assert sorted(reasons) == ["like", "reply", "reply_added"]
    await ws.close()
