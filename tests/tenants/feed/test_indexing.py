"""What the indexer keeps and how it writes it: filtering, counts, deletes, replays, notifications."""

from __future__ import annotations

import asyncpg

from tests.fakes.firehose import POST, REPOST, Firehose, uri
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.pds import FakePds
from tests.support.waiting import wait_for
from tests.tenants.feed.conftest import IndexerFactory, add_member, members_synced, settled, start_at

MEMBER = "did:plc:member"
STRANGER = "did:plc:stranger"
FAN = "did:plc:fan"
NOBODY = "did:plc:nobody"


async def counts(db: asyncpg.Connection, post_uri: str) -> tuple[int, int, int, int] | None:
    row = await db.fetchrow(
        "SELECT like_count, repost_count, reply_count, quote_count FROM posts WHERE uri = $1", post_uri
    )
    return tuple(row) if row else None  # type: ignore[return-value]


async def test_keeps_what_matters_and_counts_it(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    tagged = hose.post(STRANGER, "look #Cannabis today")
    tagged_uri = uri(STRANGER, POST, tagged["commit"]["rkey"])
    mine = hose.post(MEMBER, "hello from a member")
    mine_uri = uri(MEMBER, POST, mine["commit"]["rkey"])
    noise = hose.post(NOBODY, "nothing to see")
    events = [
        tagged,
        mine,
        noise,
        hose.like(FAN, tagged_uri),
        hose.like(FAN, mine_uri),
        hose.like(FAN, uri(NOBODY, POST, noise["commit"]["rkey"])),
        hose.like(NOBODY, mine_uri, collection=REPOST),
        hose.post(FAN, "reply", reply_to=(mine_uri, mine_uri)),
        hose.post(NOBODY, "quoting", quote=tagged_uri),
        hose.post(NOBODY, "hey you", mentions=(MEMBER,)),
        hose.follow(FAN, MEMBER),
    ]
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=10)
        await wait_for(lambda: settled(db, 0), timeout=10)
        jetstream.publish(events)
        await wait_for(lambda: settled(db, events[-1]["time_us"]), timeout=10)
    posts = {r["uri"]: r for r in await db.fetch("SELECT * FROM posts")}
    assert tagged_uri in posts and posts[tagged_uri]["is_community"] and not posts[tagged_uri]["is_local"]
    assert posts[mine_uri]["is_local"] and not posts[mine_uri]["is_community"]
    assert uri(NOBODY, POST, noise["commit"]["rkey"]) not in posts
    assert len(posts) == 5  # tagged, mine, reply to mine, quote of tagged, mention of member
    assert await counts(db, mine_uri) == (1, 1, 1, 0)
    assert await counts(db, tagged_uri) == (1, 0, 0, 1)
    assert await db.fetchval("SELECT count(*) FROM likes") == 2
    notes = await db.fetch("SELECT type, actor_did FROM notifications WHERE recipient_did = $1 ORDER BY id", MEMBER)
    assert sorted(n["type"] for n in notes) == ["follow", "like", "mention", "reply", "repost"]
    profile = await db.fetchrow("SELECT * FROM profiles WHERE did = $1", MEMBER)
    assert profile["is_member"] and profile["followers_count"] == 1 and profile["posts_count"] == 1
    state = await db.fetchrow("SELECT * FROM indexer_state")
    assert state["events_total"] == len(events) and state["stopped_at"] is not None
