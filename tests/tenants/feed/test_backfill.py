"""Backfill from the account's own PDS: on follow, on sign-up, after long downtime, resumable."""

from __future__ import annotations

import time

import asyncpg

from tests.fakes.firehose import FOLLOW, POST, PROFILE, Firehose, uri
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.pds import FakePds
from tests.support.waiting import wait_for
from tests.tenants.feed.conftest import IndexerFactory, add_member, members_synced, settled, start_at

MEMBER = "did:plc:member"
AUTHOR = "did:plc:author"
FRIEND = "did:plc:friend"


def store(pds: FakePds, event: dict[str, object]) -> None:
    """Put a stream event's record in its author's repository (what the PDS would list)."""
    commit = event["commit"]
    assert isinstance(commit, dict)
    pds.put(str(event["did"]), commit["collection"], commit["rkey"], commit["cid"], commit["record"])


async def test_follow_during_stream_backfills_older_posts_once_each(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    old = [hose.post(AUTHOR, f"old {i}") for i in range(5)]  # before the stream we read
    before = [hose.post(AUTHOR, f"before follow {i}") for i in range(2)]
    follow = hose.follow(MEMBER, AUTHOR)
    after = [hose.post(AUTHOR, f"after follow {i}") for i in range(3)]
    for event in (*old, *before, after[0]):  # the PDS already lists the first live post too
        store(pds, event)
    pds.put(AUTHOR, PROFILE, "self", "bafyprofile", {"$type": PROFILE, "displayName": "The Author"})
    pds.handles[AUTHOR] = "author.test"
    pds.failures[AUTHOR] = [429, 503]  # the PDS is busy at first
    async with indexer(feed_backfill_page=2):
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([*before, follow, *after])
        await wait_for(lambda: settled(db, after[-1]["time_us"]), timeout=20)
    expected = {uri(AUTHOR, POST, e["commit"]["rkey"]) for e in (*old, *before, *after)}
    stored = [r["uri"] for r in await db.fetch("SELECT uri FROM posts WHERE author_did = $1", AUTHOR)]
    assert sorted(stored) == sorted(expected)  # every post, one row each
    timeline = await db.fetch(
        "SELECT f.post_uri, p.created_at FROM feed_items f JOIN posts p ON p.uri = f.post_uri "
        "WHERE f.originator_did IN (SELECT subject_did FROM follows WHERE author_did = $1) "
        "ORDER BY f.sort_at DESC, f.uri DESC",
        MEMBER,
    )
    assert len(timeline) == len(expected)
    assert [r["created_at"] for r in timeline] == sorted((r["created_at"] for r in timeline), reverse=True)
    author = await db.fetchrow("SELECT * FROM profiles WHERE did = $1", AUTHOR)
    assert author["handle"] == "author.test" and author["display_name"] == "The Author"
    assert author["posts_count"] == len(expected) and author["followers_count"] == 1
    job = await db.fetchrow("SELECT * FROM backfill_jobs WHERE did = $1", AUTHOR)
    assert job["state"] == "done" and job["reason"] == "follow"
    post_calls = [c for c in pds.list_calls if c[0] == AUTHOR and c[1] == POST]
    assert len(post_calls) >= 4  # paginated: 8 posts, 2 per page
    assert await db.fetchval("SELECT follow_uri FROM viewer_actor_state WHERE viewer_did = $1", MEMBER)


async def test_sign_up_backfills_the_member_and_whom_they_follow(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    await start_at(db, hose.time_us)
    mine = [hose.post(MEMBER, f"my post {i}") for i in range(3)]
    follow = hose.follow(MEMBER, FRIEND)
    theirs = [hose.post(FRIEND, f"friend post {i}") for i in range(4)]
    for event in (*mine, follow, *theirs):
        store(pds, event)
    async with indexer():
        await add_member(db, MEMBER)
        await wait_for(lambda: members_synced(db), timeout=20)
        await wait_for(lambda: settled(db, 0), timeout=20)
    local = await db.fetch("SELECT uri FROM posts WHERE is_local")
    assert len(local) == 3
    assert await db.fetchval("SELECT count(*) FROM posts WHERE author_did = $1", FRIEND) == 4
    assert await db.fetchval("SELECT count(*) FROM follows WHERE author_did = $1", MEMBER) == 1
    jobs = {r["did"]: r["reason"] for r in await db.fetch("SELECT did, reason FROM backfill_jobs")}
    assert jobs == {MEMBER: "member", FRIEND: "follow"}


async def test_backfill_resumes_at_the_saved_page(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    await start_at(db, hose.time_us)
    posts = [hose.post(AUTHOR, f"post {i}") for i in range(6)]
    for event in posts:
        store(pds, event)
    # Newest first, two per page: the page [5, 4] was written before a crash, its cursor saved.
    resume_at = posts[4]["commit"]["rkey"]
    await db.execute(
        "INSERT INTO backfill_jobs (did, reason, collections, collection_index, page_cursor, state) "
        "VALUES ($1, 'follow', $2, 1, $3, 'running')",
        AUTHOR,
        [PROFILE, POST],
        resume_at,
    )
    async with indexer(feed_backfill_page=2):
        await wait_for(lambda: settled(db, 0), timeout=20)
    assert pds.list_calls[0] == (AUTHOR, POST, resume_at)
    assert not [c for c in pds.list_calls if c[1] == PROFILE]
    assert await db.fetchval("SELECT count(*) FROM posts") == 4  # posts 0..3, below the saved cursor


async def test_cursor_older_than_the_replay_window_rebackfills(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    await db.execute("INSERT INTO members (did) VALUES ($1)", MEMBER)
    await db.execute("INSERT INTO profiles (did, is_member) VALUES ($1, true), ($2, false)", MEMBER, FRIEND)
    await db.execute(
        "INSERT INTO follows (uri, cid, author_did, subject_did, created_at) VALUES ($1, 'c', $2, $3, now())",
        uri(MEMBER, FOLLOW, "f1"),
        MEMBER,
        FRIEND,
    )
    await db.execute(
        "INSERT INTO backfill_jobs (did, reason, collections, state) VALUES ($1, 'follow', $2, 'done')",
        FRIEND,
        [POST],
    )
    missed = [hose.post(FRIEND, f"while we were down {i}") for i in range(3)]
    for event in missed:
        store(pds, event)
    await start_at(db, int((time.time() - 100 * 3600) * 1_000_000))  # 100 h ago; Jetstream keeps 72 h
    async with indexer(jetstream_replay_hours=72):
        await wait_for(lambda: jetstream.requests, timeout=20)
        await wait_for(lambda: settled(db, 0), timeout=20)
    assert await db.fetchval("SELECT count(*) FROM posts WHERE author_did = $1", FRIEND) == 3
    asked = int(jetstream.requests[0]["cursor"][0]) / 1_000_000
    assert abs((time.time() - asked) / 3600 - 72) < 0.1  # resumes at the oldest replayable event


async def test_did_web_accounts_resolve_through_their_well_known_document(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    web = pds.web_did
    for event in [hose.post(web, f"self-hosted {i}") for i in range(3)]:
        store(pds, event)
    follow = hose.follow(MEMBER, web)
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([follow])
        await wait_for(lambda: settled(db, follow["time_us"]), timeout=20)
    assert await db.fetchval("SELECT count(*) FROM posts WHERE author_did = $1", web) == 3
    assert await db.fetchval("SELECT pds_url FROM profiles WHERE did = $1", web) == pds.url


async def test_a_handle_a_did_document_claims_is_kept_only_if_it_resolves_back(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    impostor = "did:plc:impostor"
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    pds.account(AUTHOR, "author.test", "pw")
    pds.account(impostor, "author.test", "pw")  # its DID document says so; author.test resolves to AUTHOR
    follows = [hose.follow(MEMBER, AUTHOR), hose.follow(MEMBER, impostor)]
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish(follows)
        await wait_for(lambda: _backfilled(db, AUTHOR, impostor), timeout=20)
    handles = dict(await db.fetch("SELECT did, handle FROM profiles WHERE did = ANY($1)", [AUTHOR, impostor]))
    assert handles == {AUTHOR: "author.test", impostor: "handle.invalid"}


async def _backfilled(db: asyncpg.Connection, *dids: str) -> bool:
    done = await db.fetchval("SELECT count(*) FROM backfill_jobs WHERE did = ANY($1) AND state = 'done'", list(dids))
    return bool(done == len(dids))
