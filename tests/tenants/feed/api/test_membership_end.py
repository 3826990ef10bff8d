"""An account whose membership ended (its ``members`` row removed) can't refresh its sign-ins or write."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from tests.support.refresh import AGE_SPENT
from tests.support.waiting import wait_for
from tests.tenants.feed.api.fixtures import FeedServer, MemberFactory, bearer

REFRESH = "/xrpc/com.atproto.server.refreshSession"


async def test_refresh_is_refused_once_membership_ends(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    signed = await http.post(
        "/xrpc/com.atproto.server.createSession", json={"identifier": alice.handle, "password": "pw-alice"}
    )
    assert signed.status_code == 200, signed.text
    rest = (await http.post("/api/auth/refresh", json={"refresh_token": alice.refresh})).json()["refresh_token"]
    xrpc = await http.post(REFRESH, headers=bearer(signed.json()["refreshJwt"]))
    assert xrpc.status_code == 200, xrpc.text

    # Membership ends by removing the row (the indexer then unmarks the profile); the stored PDS
    # session goes with it, so an access token issued before can't write any more.
    assert await feed_db.execute("DELETE FROM members WHERE did = $1", alice.did) == "DELETE 1"
    assert await feed_db.fetchval("SELECT count(*) FROM pds_sessions WHERE did = $1", alice.did) == 0
    writes = len(feed_server.pds.writes)
    post = await http.post("/api/post", json={"text": "still here?"}, headers=alice.auth)
    assert post.status_code == 401 and post.json()["error"]["code"] == "pds_session_missing", post.text
    assert len(feed_server.pds.writes) == writes
    keys = {
        "p256dh": "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "auth": "AAAAAAAAAAAAAAAAAAAAAA",
    }
    device = await http.post(
        "/api/push/subscribe", json={"endpoint": "https://push.example/send/alice", "keys": keys}, headers=alice.auth
    )
    assert device.status_code == 401 and device.json()["error"]["code"] == "not_a_member", device.text

    # Refused in the shared shapes. The refused token is spent: a retry soon after gets the same
    # answer, and once its grace is over a retry counts as a replay.
    for code, error in (
        ("invalid_refresh_token", "InvalidToken"),
        ("invalid_refresh_token", "InvalidToken"),
        ("refresh_token_reused", "ExpiredToken"),
    ):
        if code == "refresh_token_reused":
            await feed_db.execute(AGE_SPENT)
        refused = await http.post("/api/auth/refresh", json={"refresh_token": rest})
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == code and set(refused.json()) == {"error"}
        denied = await http.post(REFRESH, headers=bearer(xrpc.json()["refreshJwt"]))
        assert (denied.status_code, denied.json()["error"]) == (400, error), denied.text
        assert set(denied.json()) == {"error", "message"}
    session = await http.get("/xrpc/com.atproto.server.getSession", headers=bearer(xrpc.json()["accessJwt"]))
    assert (session.status_code, session.json()["error"]) == (401, "InvalidToken")

    # Signing in again makes a member again, with working refresh tokens.
    again = await http.post("/api/auth/login", json={"identifier": alice.handle, "password": "pw-alice"})
    assert again.status_code == 200, again.text
    renewed = await http.post("/api/auth/refresh", json={"refresh_token": again.json()["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["user"]["did"] == alice.did


async def test_a_session_refreshed_while_membership_ends_is_not_stored_again(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    pds = feed_server.pds
    pds.expire_sessions(alice.did)
    pds.refresh_gate, ended = asyncio.Event(), pds.ended.count(alice.did)
    try:
        # A write refreshes the expired session; the membership ends while the PDS is answering.
        write = asyncio.create_task(http.post("/api/post", json={"text": "racing"}, headers=alice.auth))
        await wait_for(lambda: alice.did in pds.refreshing)
        assert await feed_db.execute("DELETE FROM members WHERE did = $1", alice.did) == "DELETE 1"
        pds.refresh_gate.set()
        post = await write
    finally:
        pds.refresh_gate = None
    assert post.status_code == 401 and post.json()["error"]["code"] == "pds_session_missing", post.text
    # The fresh session was neither stored for someone no longer a member nor left open at the PDS.
    assert await feed_db.fetchval("SELECT count(*) FROM pds_sessions WHERE did = $1", alice.did) == 0
    assert pds.ended.count(alice.did) == ended + 1
