"""Lexicon ``knownValues`` are open lists: an unknown getAuthorFeed ``filter`` or searchPosts ``sort``
falls back to the default and an unknown notification reason matches nothing, as in Bluesky's
AppView (the REST ``type`` of notifications too). Repeated or oversized values stay 400s (the cases
of test_xrpc_errors.py and api/test_bad_input.py).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tests.fakes.firehose import POST, Firehose, uri
from tests.tenants.feed.api.fixtures import Member, MemberFactory, index, name_accounts

BOB = "did:plc:bob"


async def seed(db: asyncpg.Connection, hose: Firehose, alice: str) -> None:
    """Bob posts, replies to himself, likes Alice's post and follows her."""
    first = hose.post(BOB, "first zebra")
    first_uri = uri(BOB, POST, first["commit"]["rkey"])
    mine = hose.post(alice, "alice zebra")
    await index(db, [first, mine, hose.post(BOB, "second zebra", reply_to=(first_uri, first_uri))])
    await index(db, [hose.like(BOB, uri(alice, POST, mine["commit"]["rkey"])), hose.follow(BOB, alice)])
    await name_accounts(db, {BOB: "bob.test"})


async def get(http: httpx.AsyncClient, alice: Member, path: str) -> Any:
    response = await http.get(path, headers=alice.auth)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def test_unknown_known_values_fall_back_or_match_nothing(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    alice = await member("alice")
    await seed(feed_db, hose, alice.did)
    feed = "/xrpc/app.bsky.feed.getAuthorFeed?actor=bob.test"
    default = await get(http, alice, feed)
    assert len(default["feed"]) == 2
    assert await get(http, alice, f"{feed}&filter=posts_with_everything") == default
    assert len((await get(http, alice, f"{feed}&filter=posts_no_replies"))["feed"]) == 1

    search = "/xrpc/app.bsky.feed.searchPosts?q=zebra"
    latest = await get(http, alice, f"{search}&sort=latest")
    assert len(latest["posts"]) == 3
    assert await get(http, alice, f"{search}&sort=relevance") == latest

    notifications = "/xrpc/app.bsky.notification.listNotifications"
    assert {n["reason"] for n in (await get(http, alice, notifications))["notifications"]} == {"like", "follow"}
    assert (await get(http, alice, f"{notifications}?reasons=hug"))["notifications"] == []
    mixed = await get(http, alice, f"{notifications}?reasons=hug&reasons=like")
    assert [n["reason"] for n in mixed["notifications"]] == ["like"]

    assert (await get(http, alice, "/api/notifications?type=hug"))["notifications"] == []
    assert [n["reason"] for n in (await get(http, alice, "/api/notifications?type=follow"))["notifications"]] == [
        "follow"
    ]


async def test_search_actors_without_words_finds_nobody(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    # The lexicon requires neither q nor its deprecated name term; the AppView answers, not refuses.
    alice = await member("alice")
    await seed(feed_db, hose, alice.did)
    for query in ("", "?q=", "?term=%20"):
        assert await get(http, alice, f"/xrpc/app.bsky.actor.searchActors{query}") == {"actors": []}
    assert [a["did"] for a in (await get(http, alice, "/xrpc/app.bsky.actor.searchActors?term=bob"))["actors"]] == [BOB]
