"""Writes through the community API: PDS first, local index at once, the Jetstream echo merges."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx

from tests.fakes.firehose import LIKE, POST, Firehose, uri
from tests.fakes.jetstream import FakeJetstream
from tests.support.refresh import AGE_SPENT
from tests.support.waiting import wait_for
from tests.tenants.feed.api.fixtures import FeedServer, MemberFactory, echo, index, name_accounts
from tests.tenants.feed.conftest import IndexerFactory, members_synced, settled, start_at

BOB = "did:plc:bob"


async def bobs_post(feed_db: asyncpg.Connection, hose: Firehose) -> str:
    """The URI of a post by Bob, indexed."""
    event = hose.post(BOB, "like me")
    await index(feed_db, [event])
    return uri(BOB, POST, event["commit"]["rkey"])


async def written_elsewhere(feed_server: FeedServer, feed_db: asyncpg.Connection, event: dict[str, Any]) -> str:
    """A record the member's other app wrote: in their repository and indexed; its rkey."""
    commit = event["commit"]
    feed_server.pds.put(str(event["did"]), commit["collection"], commit["rkey"], commit["cid"], commit["record"])
    await index(feed_db, [event])
    return str(commit["rkey"])


def deleted_since(feed_server: FeedServer, before: int) -> set[str]:
    """The rkeys the PDS was asked to delete after its first ``before`` writes."""
    return {w[2]["rkey"] for w in feed_server.pds.writes[before:] if w[0] == "com.atproto.repo.deleteRecord"}


async def post_state(http: httpx.AsyncClient, auth: dict[str, str], post: str) -> dict[str, Any]:
    response = await http.get(f"/api/post/{post}", headers=auth)
    assert response.status_code == 200, response.text
    return dict(response.json()["post"])


async def test_like_reaches_pds_counts_at_once_and_echo_changes_nothing(
    feed_server: FeedServer,
    http: httpx.AsyncClient,
    member: MemberFactory,
    feed_db: asyncpg.Connection,
    hose: Firehose,
    jetstream: FakeJetstream,
    indexer: IndexerFactory,
) -> None:
    alice = await member("alice")
    post = await bobs_post(feed_db, hose)
    liked = await http.post("/api/like", json={"uri": post}, headers=alice.auth)
    assert liked.status_code == 200, liked.text
    nsid, did, body = feed_server.pds.writes[-1]
    assert (nsid, did, body["collection"]) == ("com.atproto.repo.createRecord", alice.did, LIKE)
    assert body["record"]["subject"]["uri"] == post
    assert liked.json()["post"]["likeCount"] == 1 and liked.json()["post"]["viewer"]["like"] == liked.json()["uri"]
    state = await post_state(http, alice.auth, post)
    assert state["likeCount"] == 1 and state["viewer"]["like"] == liked.json()["uri"]
    again = await http.post("/api/like", json={"uri": post}, headers=alice.auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_done"

    # The same record arrives from Jetstream through the real indexer: nothing changes.
    rkey = liked.json()["uri"].rsplit("/", 1)[-1]
    cid, record = feed_server.pds.repos[alice.did][LIKE][rkey]
    await start_at(feed_db, hose.time_us)
    event = echo(alice.did, LIKE, rkey, cid, record, hose.time_us + 1000)
    async with indexer():
        await wait_for(lambda: members_synced(feed_db), timeout=10)
        jetstream.publish([event])
        await wait_for(lambda: settled(feed_db, event["time_us"]), timeout=10)
    assert await feed_db.fetchval("SELECT count(*) FROM likes") == 1
    assert await feed_db.fetchval("SELECT like_count FROM posts WHERE uri = $1", post) == 1
    assert await feed_db.fetchval("SELECT count(*) FROM viewer_post_state WHERE viewer_did = $1", alice.did) == 1
    assert (await post_state(http, alice.auth, post))["viewer"]["like"] == liked.json()["uri"]

    unliked = await http.post("/api/unlike", json={"uri": post}, headers=alice.auth)
    assert unliked.status_code == 200 and unliked.json()["post"]["likeCount"] == 0
    assert "like" not in unliked.json()["post"]["viewer"]
    assert feed_server.pds.writes[-1][0] == "com.atproto.repo.deleteRecord"


async def test_the_echo_of_a_like_undone_here_brings_nothing_back(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice, bob = await member("alice"), await member("bob")
    event = hose.post(bob.did, "like me")
    await index(feed_db, [event])
    post = uri(bob.did, POST, event["commit"]["rkey"])
    liked = await http.post("/api/like", json={"uri": post}, headers=alice.auth)
    assert liked.status_code == 200, liked.text
    like_uri = liked.json()["uri"]
    rkey = like_uri.rsplit("/", 1)[-1]
    cid, record = feed_server.pds.repos[alice.did][LIKE][rkey]
    assert (await http.post("/api/unlike", json={"uri": post}, headers=alice.auth)).status_code == 200
    assert await feed_db.fetchval("SELECT count(*) FROM notifications WHERE recipient_did = $1", bob.did) == 0

    # Jetstream delivers the create afterwards: it is older than the delete, so it stays undone.
    rev = feed_server.pds.revs[like_uri]
    await index(feed_db, [echo(alice.did, LIKE, rkey, cid, record, hose.time_us + 1000, rev=rev)])
    assert await feed_db.fetchval("SELECT count(*) FROM likes") == 0
    assert await feed_db.fetchval("SELECT like_count FROM posts WHERE uri = $1", post) == 0
    assert await feed_db.fetchval("SELECT count(*) FROM notifications WHERE recipient_did = $1", bob.did) == 0


async def test_the_echo_of_a_post_made_here_merges_into_its_row(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    # The local row carries the revision the PDS answered; its echo (same revision and CID) is
    # the same row, and a replay of it after Bob's reply changes nothing either.
    alice = await member("alice")
    created = await http.post("/api/post", json={"text": "hello #cannabis"}, headers=alice.auth)
    assert created.status_code == 201, created.text
    mine = created.json()["uri"]
    rkey = mine.rsplit("/", 1)[-1]
    cid, record = feed_server.pds.repos[alice.did][POST][rkey]
    rev = feed_server.pds.revs[mine]
    own_echo = echo(alice.did, POST, rkey, cid, record, hose.time_us + 1000, rev=rev)
    await index(feed_db, [own_echo, hose.post(BOB, "welcome", reply_to=(mine, mine)), own_echo])
    row = await feed_db.fetchrow("SELECT cid, rev, reply_count FROM posts WHERE uri = $1", mine)
    assert row == (cid, rev, 1)
    assert await feed_db.fetchval("SELECT posts_count FROM profiles WHERE did = $1", alice.did) == 1
    assert await feed_db.fetchval("SELECT count(*) FROM feed_items WHERE post_uri = $1", mine) == 1


async def test_post_reply_repost_follow_and_delete(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice = await member("alice")
    older = hose.post(BOB, "bob's older post")
    await index(feed_db, [older])
    await name_accounts(feed_db, {BOB: "bob.test"})
    created = await http.post("/api/post", json={"text": "hello #cannabis"}, headers=alice.auth)
    assert created.status_code == 201, created.text
    mine = created.json()["uri"]
    assert created.json()["post"]["author"]["did"] == alice.did
    local = (await http.get("/api/feed/local")).json()["feed"]
    assert [item["post"]["uri"] for item in local] == [mine]
    assert [i["post"]["uri"] for i in (await http.get("/api/feed/global")).json()["feed"]] == [mine]

    reply = await http.post("/api/reply", json={"text": "and more", "parentUri": mine}, headers=alice.auth)
    assert reply.status_code == 201, reply.text
    assert reply.json()["post"]["record"]["reply"]["root"]["uri"] == mine
    thread = (await http.get(f"/api/post/{mine}/thread")).json()["thread"]
    assert [r["post"]["uri"] for r in thread["replies"]] == [reply.json()["uri"]]
    replies = (await http.get(f"/api/post/{mine}/replies")).json()["replies"]
    assert [r["post"]["uri"] for r in replies] == [reply.json()["uri"]]

    bob_post = uri(BOB, POST, older["commit"]["rkey"])
    reposted = await http.post("/api/repost", json={"uri": bob_post}, headers=alice.auth)
    assert reposted.status_code == 200 and reposted.json()["post"]["repostCount"] == 1
    followed = await http.post("/api/follow", json={"did": BOB}, headers=alice.auth)
    assert followed.status_code == 200 and followed.json()["profile"]["viewer"]["following"] == followed.json()["uri"]
    timeline = (await http.get("/api/feed/following", headers=alice.auth)).json()["feed"]
    kinds = [(item["post"]["uri"], "reason" in item) for item in timeline]
    assert (bob_post, False) in kinds and (bob_post, True) in kinds and (mine, False) in kinds

    unfollowed = await http.post("/api/unfollow", json={"did": BOB}, headers=alice.auth)
    assert unfollowed.status_code == 200 and "following" not in unfollowed.json()["profile"]["viewer"]
    timeline = (await http.get("/api/feed/following", headers=alice.auth)).json()["feed"]
    assert (bob_post, False) not in [(i["post"]["uri"], "reason" in i) for i in timeline]
    unreposted = await http.post("/api/unrepost", json={"uri": bob_post}, headers=alice.auth)
    assert unreposted.json()["post"]["repostCount"] == 0

    deleted = await http.delete(f"/api/post/{mine}", headers=alice.auth)
    assert deleted.status_code == 204
    assert (await http.get(f"/api/post/{mine}")).status_code == 404
    forbidden = await http.delete(f"/api/post/{bob_post}", headers=alice.auth)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"


async def test_expired_pds_session_is_refreshed(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    feed_server.pds.expire_sessions(alice.did)
    created = await http.post("/api/post", json={"text": "after expiry"}, headers=alice.auth)
    assert created.status_code == 201, created.text
    sealed = await feed_db.fetchval("SELECT access_jwt FROM pds_sessions WHERE did = $1", alice.did)
    assert b"eyJ" not in sealed  # tokens are stored sealed, never in clear
    feed_server.pds.refresh.clear()
    feed_server.pds.expire_sessions(alice.did)
    failed = await http.post("/api/post", json={"text": "no session"}, headers=alice.auth)
    assert failed.status_code == 401 and failed.json()["error"]["code"] == "pds_session_expired"


async def test_login_refresh_logout_and_failures(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    assert await feed_db.fetchval("SELECT count(*) FROM members WHERE did = $1", alice.did) == 1
    refreshed = await http.post("/api/auth/refresh", json={"refresh_token": alice.refresh})
    assert refreshed.status_code == 200 and refreshed.json()["user"]["did"] == alice.did
    await feed_db.execute(AGE_SPENT)
    replay = await http.post("/api/auth/refresh", json={"refresh_token": alice.refresh})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "refresh_token_reused"
    logout = await http.post("/api/auth/logout", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert logout.status_code == 204

    wrong = await http.post("/api/auth/login", json={"identifier": "alice.test", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == {
        "code": "invalid_credentials",
        "message": "Invalid identifier or password",
    }
    unknown = await http.post("/api/auth/login", json={"identifier": "ghost.test", "password": "x"})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_credentials"
    feed_server.pds.account("did:plc:offline", "offline.test", "pw")
    feed_server.pds.endpoints["did:plc:offline"] = "http://127.0.0.1:9"
    down = await http.post("/api/auth/login", json={"identifier": "offline.test", "password": "pw"})
    assert down.status_code == 502 and down.json()["error"]["code"] == "pds_unreachable"
    feed_server.pds.account("did:plc:resting", "resting.test", "pw")
    feed_server.pds.statuses["did:plc:resting"] = "deactivated"
    inactive = await http.post("/api/auth/login", json={"identifier": "resting.test", "password": "pw"})
    assert inactive.status_code == 403 and inactive.json()["error"]["code"] == "account_inactive"
    assert inactive.json()["error"]["details"] == {"status": "deactivated"}
    assert await feed_db.fetchval("SELECT count(*) FROM members WHERE did = 'did:plc:resting'") == 0
    assert "did:plc:resting" in feed_server.pds.ended  # the session the PDS issued is not left open
    malformed = await http.post("/api/auth/login", content=b"{")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    missing = await http.post("/api/auth/login", json={"identifier": "alice.test"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "validation_error"


async def test_a_double_click_writes_one_record(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice = await member("alice")
    post = await bobs_post(feed_db, hose)
    writes = feed_server.pds.writes
    for path, body in (("/api/like", {"uri": post}), ("/api/repost", {"uri": post}), ("/api/follow", {"did": BOB})):
        before = len(writes)
        answers = await asyncio.gather(*[http.post(path, json=body, headers=alice.auth) for _ in range(5)])
        assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409], path
        assert len(writes) == before + 1, path
    counts = await feed_db.fetchrow("SELECT like_count, repost_count FROM posts WHERE uri = $1", post)
    assert tuple(counts) == (1, 1)
    assert await feed_db.fetchval("SELECT followers_count FROM profiles WHERE did = $1", BOB) == 1
    before = len(writes)
    undone = await asyncio.gather(*[http.post("/api/unlike", json={"uri": post}, headers=alice.auth) for _ in range(3)])
    assert [a.status_code for a in undone] == [200, 200, 200]
    assert [w[0] for w in writes[before:]] == ["com.atproto.repo.deleteRecord"]
    assert await feed_db.fetchval("SELECT like_count FROM posts WHERE uri = $1", post) == 0


async def test_undoing_deletes_the_records_another_client_made_too(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice = await member("alice")
    post = await bobs_post(feed_db, hose)
    liked = await http.post("/api/like", json={"uri": post}, headers=alice.auth)
    assert liked.status_code == 200, liked.text
    # The member's other app liked it as well: a second record of the pair, waiting aside.
    other_app = await written_elsewhere(feed_server, feed_db, hose.like(alice.did, post))
    assert await feed_db.fetchval("SELECT like_count FROM posts WHERE uri = $1", post) == 1
    before = len(feed_server.pds.writes)
    unliked = await http.post("/api/unlike", json={"uri": post}, headers=alice.auth)
    assert unliked.status_code == 200 and unliked.json()["post"]["likeCount"] == 0
    assert "like" not in unliked.json()["post"]["viewer"]
    deleted = deleted_since(feed_server, before)
    assert deleted == {other_app, liked.json()["uri"].rsplit("/", 1)[-1]}
    assert not deleted & set(feed_server.pds.repos[alice.did][LIKE])
    assert await feed_db.fetchval("SELECT count(*) FROM record_duplicates") == 0

    followed = await http.post("/api/follow", json={"did": BOB}, headers=alice.auth)
    assert followed.status_code == 200, followed.text
    again = await written_elsewhere(feed_server, feed_db, hose.follow(alice.did, BOB))
    before = len(feed_server.pds.writes)
    unfollowed = await http.post("/api/unfollow", json={"did": BOB}, headers=alice.auth)
    assert unfollowed.status_code == 200 and "following" not in unfollowed.json()["profile"].get("viewer", {})
    assert deleted_since(feed_server, before) == {again, followed.json()["uri"].rsplit("/", 1)[-1]}
    assert await feed_db.fetchval("SELECT followers_count FROM profiles WHERE did = $1", BOB) == 0
    assert await feed_db.fetchval("SELECT count(*) FROM record_duplicates") == 0


async def test_post_routes_take_at_uris_naming_the_repository_by_handle(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    """An at-uri may name its repository by handle (as links people paste do); every route resolves it."""
    alice = await member("alice")
    bobs = await bobs_post(feed_db, hose)
    await name_accounts(feed_db, {BOB: "bob.test"})
    by_handle = bobs.replace(BOB, "bob.test")

    read = await http.get(f"/api/post/{by_handle}", headers=alice.auth)
    assert read.status_code == 200 and read.json()["post"]["uri"] == bobs
    liked = await http.post("/api/like", json={"uri": by_handle}, headers=alice.auth)
    assert liked.status_code == 200 and liked.json()["post"]["viewer"]["like"] == liked.json()["uri"]
    assert feed_server.pds.writes[-1][2]["record"]["subject"]["uri"] == bobs
    reply = await http.post("/api/reply", json={"text": "yes", "parentUri": by_handle}, headers=alice.auth)
    assert reply.status_code == 201, reply.text
    assert reply.json()["post"]["record"]["reply"] == {
        "root": {"uri": bobs, "cid": read.json()["post"]["cid"]},
        "parent": {"uri": bobs, "cid": read.json()["post"]["cid"]},
    }
    thread = (await http.get(f"/api/post/{by_handle}/thread")).json()["thread"]
    assert thread["post"]["uri"] == bobs and [r["post"]["uri"] for r in thread["replies"]] == [reply.json()["uri"]]
    replies = (await http.get(f"/api/post/{by_handle}/replies")).json()["replies"]
    assert [r["post"]["uri"] for r in replies] == [reply.json()["uri"]]
    unliked = await http.post("/api/unlike", json={"uri": by_handle}, headers=alice.auth)
    assert unliked.status_code == 200 and "like" not in unliked.json()["post"]["viewer"]

    mine = reply.json()["uri"].replace(alice.did, alice.handle)
    assert (await http.delete(f"/api/post/{by_handle}", headers=alice.auth)).status_code == 403
    assert (await http.delete(f"/api/post/{mine}", headers=alice.auth)).status_code == 204
    assert (await http.get(f"/api/post/{mine}")).status_code == 404

    unknown = by_handle.replace("bob.test", "nobody.test")
    for response in (
        await http.get(f"/api/post/{unknown}"),
        await http.get(f"/api/post/{unknown}/thread"),
        await http.get(f"/api/post/{unknown}/replies"),
        await http.post("/api/like", json={"uri": unknown}, headers=alice.auth),
        await http.post("/api/reply", json={"text": "x", "parentUri": unknown}, headers=alice.auth),
        await http.post("/api/reply", json={"text": "x", "parentUri": bobs, "rootUri": unknown}, headers=alice.auth),
        await http.delete(f"/api/post/{unknown}", headers=alice.auth),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", response.text
