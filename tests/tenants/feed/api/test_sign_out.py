"""Signing out: the member's last sign-in takes the stored PDS session with it, ended at the PDS too.

A member may be signed in several times (the community app, an SDK through XRPC): the session
stays while any of those can still refresh, so signing out of one leaves the others working.
"""

from __future__ import annotations

import asyncpg
import httpx

from tests.support.races import committed_under
from tests.support.waiting import wait_for
from tests.tenants.feed.api.fixtures import FeedServer, MemberFactory, bearer, foreign_token

CREATE, DELETE = "/xrpc/com.atproto.server.createSession", "/xrpc/com.atproto.server.deleteSession"
STORED = "SELECT count(*) FROM pds_sessions WHERE did = $1"


async def test_the_last_sign_out_forgets_the_pds_session_and_ends_it_there(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    alice = await member("alice")
    ended_before = feed_server.pds.ended.count(alice.did)  # the fake PDS lives for the whole session
    sdk = (await http.post(CREATE, json={"identifier": alice.handle, "password": "pw-alice"})).json()

    # Out of the app: the SDK's sign-in is left, so the session stays and writes go on.
    assert (await http.post("/api/auth/logout", json={"refresh_token": alice.refresh})).status_code == 204
    assert await feed_db.fetchval(STORED, alice.did) == 1
    post = await http.post("/api/post", json={"text": "still signed in elsewhere"}, headers=alice.auth)
    assert post.status_code == 201, post.text
    assert feed_server.pds.ended.count(alice.did) == ended_before

    # Out of the SDK too, as a PDS answers it: 200 and no body; the session goes, here and at the PDS.
    ended = await http.post(DELETE, headers=bearer(sdk["refreshJwt"]))
    assert (ended.status_code, ended.content) == (200, b""), ended.text
    assert await feed_db.fetchval(STORED, alice.did) == 0
    await wait_for(lambda: feed_server.pds.ended.count(alice.did) == ended_before + 1)
    writes = len(feed_server.pds.writes)
    refused = await http.post("/xrpc/com.atproto.repo.createRecord", headers=bearer(sdk["accessJwt"]),
                              json={"repo": alice.did, "collection": "app.bsky.feed.post",
                                    "record": {"text": "gone", "createdAt": "2026-12-06T00:00:00Z"}})  # fmt: skip
    assert refused.status_code == 401, refused.text
    assert len(feed_server.pds.writes) == writes
    spent = await http.post("/xrpc/com.atproto.server.refreshSession", headers=bearer(sdk["refreshJwt"]))
    assert (spent.status_code, spent.json()["error"]) == (400, "ExpiredToken")
    # Ending an ended sign-in is no error (a client retrying a lost answer).
    assert (await http.post(DELETE, headers=bearer(sdk["refreshJwt"]))).status_code == 200
    assert feed_server.pds.ended.count(alice.did) == ended_before + 1

    # A member again by signing in again, with a session of their own.
    again = await http.post("/api/auth/login", json={"identifier": alice.handle, "password": "pw-alice"})
    assert again.status_code == 200 and await feed_db.fetchval(STORED, alice.did) == 1


async def test_a_pds_that_cannot_be_reached_still_signs_the_member_out_here(
    feed_server: FeedServer, http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    bob = await member("bob")
    ended_before = feed_server.pds.ended.count(bob.did)
    await feed_db.execute("UPDATE pds_sessions SET pds_url = 'http://127.0.0.1:9' WHERE did = $1", bob.did)
    assert (await http.post("/api/auth/logout", json={"refresh_token": bob.refresh})).status_code == 204
    assert await feed_db.fetchval(STORED, bob.did) == 0
    assert feed_server.pds.ended.count(bob.did) == ended_before


async def test_delete_session_needs_a_refresh_jwt_of_this_service(
    http: httpx.AsyncClient, member: MemberFactory
) -> None:
    carol = await member("carol")
    sdk = (await http.post(CREATE, json={"identifier": carol.handle, "password": "pw-carol"})).json()
    for headers, status, error in (
        ({}, 401, "AuthenticationRequired"),
        (bearer(sdk["accessJwt"]), 400, "InvalidToken"),  # an access JWT, not the refresh JWT
        (bearer("not.a.jwt"), 401, "InvalidToken"),
        (bearer(foreign_token(carol.did)), 401, "InvalidToken"),
    ):
        answer = await http.post(DELETE, headers=headers)
        assert (answer.status_code, answer.json()["error"]) == (status, error), answer.text
    assert (await http.get(DELETE, headers=bearer(sdk["refreshJwt"]))).status_code == 400  # a procedure


async def test_a_sign_in_committing_during_the_last_sign_out_keeps_its_session(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection
) -> None:
    dave = await member("dave")
    # What a sign-in in flight holds: the member row, and its refresh family not yet committed.
    sign_in = """WITH family AS (INSERT INTO refresh_tokens (token_hash, family_id, subject, expires_at)
                     VALUES (sha256(gen_random_uuid()::text::bytea), gen_random_uuid(), $1, now() + interval '1 day'))
                 UPDATE members SET last_seen_at = now() WHERE did = $1"""
    sign_out = http.post("/api/auth/logout", json={"refresh_token": dave.refresh})
    answer = await committed_under(feed_db, sign_in, dave.did, request=sign_out)
    assert answer.status_code == 204
    assert await feed_db.fetchval(STORED, dave.did) == 1  # the new sign-in was counted


async def test_a_sign_in_failing_after_the_pds_answered_ends_that_session_there(
    feed_server: FeedServer, http: httpx.AsyncClient, feed_db: asyncpg.Connection
) -> None:
    feed_server.pds.account("did:plc:unlucky", "unlucky.test", "pw")
    # The sign-in's own transaction fails (as a database failing at that moment would).
    await feed_db.execute(
        """CREATE FUNCTION refuse_unlucky() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
           CREATE TRIGGER refuse_unlucky BEFORE INSERT ON members FOR EACH ROW
           WHEN (NEW.did = 'did:plc:unlucky') EXECUTE FUNCTION refuse_unlucky()"""
    )
    try:
        failed = await http.post("/api/auth/login", json={"identifier": "unlucky.test", "password": "pw"})
    finally:
        await feed_db.execute("DROP TRIGGER refuse_unlucky ON members; DROP FUNCTION refuse_unlucky()")
    assert failed.status_code == 500 and set(failed.json()) == {"error"}
    assert await feed_db.fetchval(STORED, "did:plc:unlucky") == 0
    assert feed_server.pds.ended.count("did:plc:unlucky") == 1
