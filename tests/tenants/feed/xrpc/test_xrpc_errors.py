"""XRPC bad input: the lexicon-style error shape and status for each method, never a 500."""

from __future__ import annotations

import time

import asyncpg
import httpx
import pytest
from starlette.responses import Response

from tenants.feed.appview import REFRESH_SCOPE
from tenants.feed.db import acquire
from tenants.feed.xrpc.base import Call, Method
from tenants.feed.xrpc.registry import METHODS
from tests.support.refresh import AGE_SPENT
from tests.tenants.feed.api.fixtures import FeedServer, MemberFactory, foreign_token

MISSING = "at://did:plc:nobody/app.bsky.feed.post/3kmissing"
Q = "/xrpc/app.bsky"
# (method, path, json body, status, error name); sent with alice's XRPC session.
CASES = [
    ("GET", "/xrpc/app.bsky.feed.getQuotes?uri=x", None, 501, "MethodNotImplemented"),
    ("GET", "/xrpc/com.atproto.server.createSession", None, 400, "InvalidRequest"),
    ("POST", f"{Q}.feed.getTimeline", {}, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getTimeline?limit=0", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getTimeline?cursor=Zm9vYmFyYmF6cXV4", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getAuthorFeed?actor=nobody.test", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getAuthorFeed?actor=alice.test&filter=" + "x" * 101, None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getAuthorFeed?actor=alice.test&filter=posts_no_replies&filter=x", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getAuthorFeed", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getPostThread?uri=nope", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getPostThread?uri={MISSING}", None, 400, "NotFound"),
    ("GET", f"{Q}.feed.getPostThread?uri=at://nobody.test/app.bsky.feed.post/3kmissing", None, 400, "NotFound"),
    ("GET", f"{Q}.feed.getPostThread?uri={MISSING}&depth=5000", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getPosts", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getPosts?" + "&".join([f"uris={MISSING}"] * 26), None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getLikes?uri=nope", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getLikes?uri={MISSING}&cid=not%20a%20cid", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getRepostedBy?uri={MISSING}&limit=1000", None, 400, "InvalidRequest"),
    # By handle: still a post's at-uri, and a handle (no underscores, no bare label).
    ("GET", f"{Q}.feed.getPosts?uris=at://bob_b.test/app.bsky.feed.post/3kmissing", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getLikes?uri=at://localhost/app.bsky.feed.post/3kmissing", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getRepostedBy?uri=at://bob.test/app.bsky.feed.like/3kmissing", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getPostThread?uri=at://bob.test/app.bsky.feed.post/", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.getAuthorFeed?actor=alice.test&includePins=yes", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.searchPosts", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.searchPosts?q=x&sort=" + "x" * 101, None, 400, "InvalidRequest"),
    ("GET", f"{Q}.feed.searchPosts?q=x&sort=top&sort=latest", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.actor.getProfile?actor=nobody.test", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.actor.getProfiles", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.actor.searchActors?limit=0", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.actor.searchActors?q=" + "x" * 301, None, 400, "InvalidRequest"),
    ("GET", f"{Q}.graph.getFollows?actor=nobody.test", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.graph.getFollowers?actor=alice.test&cursor=xyz", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.notification.listNotifications?reasons=" + "x" * 101, None, 400, "InvalidRequest"),
    ("GET", f"{Q}.notification.listNotifications?" + "&".join(["reasons=like"] * 51), None, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "yesterday"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "1985-04-12"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "1985-04-12T23:20Z"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "1985-04-12 23:20:50Z"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "1985-04-12t23:20:50z"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "1985-04-12T23:20:50"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "1985-04-12T23:20:50-00:00"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "1985-04-12T23:20:50+0000"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "1985-13-12T23:20:50Z"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": "20261201T100000Z"}, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", {"seenAt": 1985}, 400, "InvalidRequest"),
    ("GET", f"{Q}.notification.listNotifications?seenAt=2026-12-01T10:00:00Z", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.notification.listNotifications?priority=yes", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.notification.getUnreadCount?priority=1", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.notification.getUnreadCount?seenAt=2026-12-01T10:00:00Z", None, 400, "InvalidRequest"),
    ("POST", f"{Q}.notification.updateSeen", [1, 2], 400, "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.server.createSession", {"identifier": "alice.test"}, 400, "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.server.createSession", {"identifier": "alice.test", "password": "x"}, 401,
     "AuthenticationRequired"),
    ("POST", "/xrpc/com.atproto.server.createSession", {"identifier": "alice@example.com", "password": "x"}, 401,
     "AuthenticationRequired"),
    ("GET", f"{Q}.feed.searchPosts?q=we%00ed", None, 400, "InvalidRequest"),
    ("GET", f"{Q}.actor.getProfile?actor=alice%00.test", None, 400, "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.repo.createRecord", {"repo": "did:plc:alice", "collection": "app.bsky.feed.post",
     "record": {"text": "nul \u0000", "createdAt": "2025-01-01T00:00:00Z"}}, 400, "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.repo.createRecord", {"repo": "did:plc:bob", "collection": "app.bsky.feed.post",
     "record": {"text": "x", "createdAt": "2025-01-01T00:00:00Z"}}, 403, "Forbidden"),
    ("POST", "/xrpc/com.atproto.repo.createRecord", {"repo": "did:plc:alice", "collection": "app.bsky.feed.post",
     "record": {"text": 5}}, 400, "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.repo.createRecord", {"repo": "did:plc:alice", "collection": "com.example.thing",
     "record": {}}, 400, "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.repo.deleteRecord", {"repo": "alice.test", "collection": "app.bsky.feed.post"}, 400,
     "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.repo.createRecord", {"repo": "did:plc:alice", "collection": "app.bsky.feed.post",
     "record": {"text": "x", "createdAt": "2025-01-01T00:00:00Z"}, "swapCommit": "not a cid!"}, 400, "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.repo.createRecord", {"repo": "did:plc:alice", "collection": "app.bsky.feed.post",
     "record": {"text": "x", "createdAt": "2025-01-01T00:00:00Z"}, "validate": "yes"}, 400, "InvalidRequest"),
    ("POST", "/xrpc/com.atproto.repo.deleteRecord", {"repo": "did:plc:alice", "collection": "app.bsky.feed.post",
     "rkey": "3l1", "swapRecord": 7}, 400, "InvalidRequest"),
]  # fmt: skip
SIGNED_IN_ONLY = [
    ("GET", f"{Q}.feed.getTimeline"),
    ("GET", f"{Q}.notification.listNotifications"),
    ("GET", f"{Q}.notification.getUnreadCount"),
    ("POST", f"{Q}.notification.updateSeen"),
    ("GET", "/xrpc/com.atproto.server.getSession"),
    ("POST", "/xrpc/com.atproto.repo.createRecord"),
    ("POST", "/xrpc/com.atproto.repo.deleteRecord"),
]


async def session(feed_server: FeedServer, http: httpx.AsyncClient) -> dict[str, str]:
    feed_server.pds.account("did:plc:alice", "alice.test", "app-pass")
    response = await http.post(
        "/xrpc/com.atproto.server.createSession", json={"identifier": "alice.test", "password": "app-pass"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"did", "handle", "accessJwt", "refreshJwt", "active"}
    return dict(body)


async def test_xrpc_bad_input(feed_server: FeedServer, http: httpx.AsyncClient, feed_db: asyncpg.Connection) -> None:
    auth = {"Authorization": f"Bearer {(await session(feed_server, http))['accessJwt']}"}
    for method, path, body, status, error in CASES:
        response = await http.request(method, path, json=body, headers=auth)
        assert response.status_code == status, (method, path, response.text)
        assert response.json()["error"] == error, (method, path, response.text)
        assert isinstance(response.json()["message"], str)


async def test_a_deactivated_account_gets_no_session(feed_server: FeedServer, http: httpx.AsyncClient) -> None:
    feed_server.pds.account("did:plc:resting", "resting.test", "pw")
    feed_server.pds.statuses["did:plc:resting"] = "deactivated"
    answer = await http.post(
        "/xrpc/com.atproto.server.createSession", json={"identifier": "resting.test", "password": "pw"}
    )
    assert answer.status_code == 403 and answer.json()["error"] == "Forbidden"
    assert "deactivated" in answer.json()["message"]


async def test_xrpc_tokens(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    pair = await session(feed_server, http)
    claims = feed_server.ctx.tokens.verify(pair["refreshJwt"])
    assert claims.extra["scope"] == REFRESH_SCOPE and claims.expires_at - time.time() > 89 * 24 * 3600
    access = feed_server.ctx.tokens.verify(pair["accessJwt"])
    assert 7190 <= access.expires_at - int(time.time()) <= 7200
    for label, headers, status, error in (
        ("none", {}, 401, "AuthenticationRequired"),
        ("foreign", {"Authorization": f"Bearer {foreign_token('did:plc:alice')}"}, 401, "InvalidToken"),
        ("refresh", {"Authorization": f"Bearer {pair['refreshJwt']}"}, 401, "InvalidToken"),
    ):
        for method, path in SIGNED_IN_ONLY:
            response = await http.request(method, path, json={} if method == "POST" else None, headers=headers)
            assert (response.status_code, response.json()["error"]) == (status, error), (label, path, response.text)
    refresh = "/xrpc/com.atproto.server.refreshSession"
    wrong = await http.post(refresh, headers={"Authorization": f"Bearer {pair['accessJwt']}"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "InvalidToken")
    first = await http.post(refresh, headers={"Authorization": f"Bearer {pair['refreshJwt']}"})
    assert first.status_code == 200 and "didDoc" not in first.json()
    # A retry soon after (a lost answer, two SDK clients) is honoured, as a PDS does; later it is a replay.
    retry = await http.post(refresh, headers={"Authorization": f"Bearer {pair['refreshJwt']}"})
    assert retry.status_code == 200 and retry.json()["refreshJwt"] != first.json()["refreshJwt"]
    await feed_db.execute(AGE_SPENT)
    replay = await http.post(refresh, headers={"Authorization": f"Bearer {pair['refreshJwt']}"})
    assert (replay.status_code, replay.json()["error"]) == (400, "ExpiredToken")
    anonymous = await http.post(refresh)
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "AuthenticationRequired")
    feed_server.pds.account("did:plc:offline", "offline.test", "pw")
    feed_server.pds.endpoints["did:plc:offline"] = "http://127.0.0.1:9"
    down = await http.post(
        "/xrpc/com.atproto.server.createSession", json={"identifier": "offline.test", "password": "pw"}
    )
    assert (down.status_code, down.json()["error"]) == (502, "UpstreamFailure")


async def test_a_call_that_lost_a_race_says_so(
    feed_server: FeedServer, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A method whose transaction PostgreSQL itself aborts with the deadlock and serialization
    # failure SQLSTATEs, which no method can be made to hit on cue.
    async def aborted(call: Call) -> Response:
        state = call.params["state"]
        async with acquire(call.av.ctx) as conn, conn.transaction():
            await conn.execute(f"DO $$ BEGIN RAISE EXCEPTION 'aborted' USING ERRCODE = '{state}'; END $$")
        raise AssertionError("unreachable")

    monkeypatch.setitem(METHODS, "dev.onebox.test.aborted", Method("query", aborted))
    for state in ("40P01", "40001"):
        response = await http.get("/xrpc/dev.onebox.test.aborted", params={"state": state})
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"] == "NotEnoughResources"
        assert "try again" in response.json()["message"].lower()
    # A row the call refers to, deleted by a transaction that committed meanwhile: the caller reloads.
    response = await http.get("/xrpc/dev.onebox.test.aborted", params={"state": "23503"})
    assert response.status_code == 400 and "retry-after" not in response.headers
    assert response.json()["error"] == "InvalidRequest" and "deleted" in response.json()["message"]
    # Any other database error is a bug: the XRPC shape of a 500, without its details.
    response = await http.get("/xrpc/dev.onebox.test.aborted", params={"state": "22012"})
    assert response.status_code == 500
    assert response.json() == {"error": "InternalServerError", "message": "Internal Server Error"}
