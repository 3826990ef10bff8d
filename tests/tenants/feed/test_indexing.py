"""What the indexer keeps and how it writes it: filtering, counts, deletes, replays, notifications."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.fakes.firehose import FOLLOW, LIKE, POST, REPOST, Firehose, uri
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.pds import FakePds
from tests.support.waiting import wait_for
from tests.tenants.feed.conftest import IndexerFactory, add_member, members_synced, settled, start_at

MEMBER = "did:plc:member"
STRANGER = "did:plc:stranger"
FAN = "did:plc:fan"
NOBODY = "did:plc:nobody"
OTHER = "did:plc:othermember"


async def two_members(db: asyncpg.Connection, hose: Firehose) -> str:
    """MEMBER and OTHER are members and the stream starts now; returns OTHER."""
    await add_member(db, MEMBER)
    await add_member(db, OTHER)
    await start_at(db, hose.time_us)
    return OTHER


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
        await wait_for(lambda: members_synced(db), timeout=20)
        await wait_for(lambda: settled(db, 0), timeout=20)
        jetstream.publish(events)
        await wait_for(lambda: settled(db, events[-1]["time_us"]), timeout=20)
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


async def test_deletes_undo_every_effect(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    mine = hose.post(MEMBER, "mine")
    mine_uri = uri(MEMBER, POST, mine["commit"]["rkey"])
    like = hose.like(FAN, mine_uri)
    repost = hose.like(FAN, mine_uri, collection=REPOST)
    reply = hose.post(FAN, "reply", reply_to=(mine_uri, mine_uri))
    follow = hose.follow(FAN, MEMBER)
    own_like = hose.like(MEMBER, mine_uri)
    created = [mine, like, repost, reply, follow, own_like]
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish(created)
        await wait_for(lambda: settled(db, created[-1]["time_us"]), timeout=20)
        assert await counts(db, mine_uri) == (2, 1, 1, 0)
        assert await db.fetchval("SELECT count(*) FROM notifications") == 4  # not for the member's own like
        assert await db.fetchval("SELECT like_uri FROM viewer_post_state WHERE viewer_did = $1", MEMBER)
        assert await db.fetchval("SELECT count(*) FROM feed_items") == 3  # two posts and a repost
        deletes = [hose.delete(e["did"], e["commit"]["collection"], e["commit"]["rkey"]) for e in created[1:]]
        jetstream.publish(deletes)
        await wait_for(lambda: settled(db, deletes[-1]["time_us"]), timeout=20)
        assert await counts(db, mine_uri) == (0, 0, 0, 0)
        for table in ("notifications", "viewer_post_state", "viewer_actor_state", "likes", "reposts", "follows"):
            assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table
        assert await db.fetchval("SELECT count(*) FROM feed_items") == 1
        assert await db.fetchval("SELECT followers_count FROM profiles WHERE did = $1", MEMBER) == 0
        gone = hose.delete(MEMBER, POST, mine["commit"]["rkey"])
        jetstream.publish([gone])
        await wait_for(lambda: settled(db, gone["time_us"]), timeout=20)
    assert await db.fetchval("SELECT count(*) FROM posts") == 0
    assert await db.fetchval("SELECT count(*) FROM feed_items") == 0
    assert await db.fetchval("SELECT count(*) FROM tombstones WHERE uri = $1", mine_uri) == 1
    assert await db.fetchval("SELECT posts_count FROM profiles WHERE did = $1", MEMBER) == 0


async def test_duplicates_replays_and_out_of_order_events_converge(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    rkey = hose.rkey()
    mine_uri = uri(MEMBER, POST, rkey)
    early_like = hose.like(FAN, mine_uri)  # arrives before the post it likes
    early_reply = hose.post(NOBODY, "first!", reply_to=(mine_uri, mine_uri))
    mine = hose.post(MEMBER, "late post", rkey=rkey)
    repost = hose.like(NOBODY, mine_uri, collection=REPOST)
    events = [early_like, early_reply, mine, repost]
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish(events)
        # The same events again (a relay resending them), with later timestamps.
        again = [{**e, "time_us": hose._next()} for e in events]
        jetstream.publish(again)
        await wait_for(lambda: settled(db, again[-1]["time_us"]), timeout=20)
        assert await counts(db, mine_uri) == (1, 1, 1, 0)
    # A restart on another endpoint replays the last seconds: nothing may count twice.
    async with FakeJetstream().running() as other:
        other.publish([*events, *again])
        async with indexer(jetstream_url=[other.url], jetstream_rewind_s=3600):
            await wait_for(lambda: len(other.requests) > 0 and other.sent >= len(events) * 2, timeout=20)
            await wait_for(lambda: settled(db, again[-1]["time_us"]), timeout=20)
        assert "cursor" in other.requests[0]
    assert await counts(db, mine_uri) == (1, 1, 1, 0)
    assert await db.fetchval("SELECT count(*) FROM notifications") == 3
    assert await db.fetchval("SELECT count(*) FROM posts") == 2


async def test_malformed_events_are_counted_and_skipped(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    bad_shape = hose.like(FAN, "at://did:plc:member/app.bsky.feed.post/x")
    bad_shape["commit"]["record"]["subject"] = "not a strong ref"
    long_post = hose.post(MEMBER, "x" * 3001)
    bad_date = hose.post(MEMBER, "when?")
    bad_date["commit"]["record"]["createdAt"] = "yesterday"
    # Jetstream filters by wantedCollections, so an unknown collection comes only from a broken server.
    unknown = hose.commit(MEMBER, POST, "abc", {"text": "?"})
    del unknown["commit"]["collection"]
    huge = hose.post(MEMBER, "huge")
    huge["commit"]["record"]["embed"] = {"$type": "app.bsky.embed.external", "junk": "x" * 150_000}
    good = hose.post(MEMBER, "still fine")
    frames = [
        '{"did": "did:plc:x", "time_us": -5, "kind": "identity"}',
        "not json at all",
        '{"did": 42}',
        '["a", "list"]',
        '{"did": "did:plc:x", "time_us": 1, "kind": "mystery"}',
        bad_shape,
        long_post,
        bad_date,
        unknown,
        huge,
        good,
    ]
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish(frames)
        await wait_for(lambda: settled(db, good["time_us"]), timeout=20)
    assert [r["text"] for r in await db.fetch("SELECT text FROM posts")] == ["still fine"]
    state = await db.fetchrow("SELECT malformed_total, malformed::text AS reasons FROM indexer_state")
    assert state["malformed_total"] == 10
    for reason in ("bad_json", "missing_fields", "bad_event", "unknown_kind", "bad_subject", "text_too_long",
                   "bad_datetime", "unknown_collection", "too_large", "bad_time"):  # fmt: skip
        assert reason in state["reasons"], reason


async def test_dropped_connection_fails_over_and_resumes(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    mine = hose.post(MEMBER, "popular")
    mine_uri = uri(MEMBER, POST, mine["commit"]["rkey"])
    likes = [hose.like(f"did:plc:fan{i}", mine_uri) for i in range(300)]
    async with FakeJetstream().running() as backup:
        backup.publish([mine, *likes])
        jetstream.publish([mine, *likes])
        jetstream.drop_after = 120  # the first endpoint dies mid-stream
        async with indexer(jetstream_url=[jetstream.url, backup.url]):
            await wait_for(lambda: settled(db, likes[-1]["time_us"]), timeout=20)
        assert backup.requests and "cursor" in backup.requests[0]
    assert await counts(db, mine_uri) == (300, 0, 0, 0)
    assert await db.fetchval("SELECT count(*) FROM notifications") == 300


async def test_unfollow_stops_tracking_only_when_no_member_follows(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    other = await two_members(db, hose)
    # What the identity event says, and resolving it agrees: settled() waits for that check.
    pds.handles[STRANGER] = "stranger.example"
    mine, theirs = hose.follow(MEMBER, STRANGER), hose.follow(other, STRANGER)
    first = hose.post(STRANGER, "seen: two members follow me")
    unfollow_one = hose.delete(MEMBER, "app.bsky.graph.follow", mine["commit"]["rkey"])
    second = hose.post(STRANGER, "seen: one member still follows me")
    unfollow_two = hose.delete(other, "app.bsky.graph.follow", theirs["commit"]["rkey"])
    third = hose.post(STRANGER, "unseen: nobody follows me")
    renamed = hose.identity(STRANGER, "stranger.example")
    suspended = hose.account(STRANGER, active=False, status="suspended")
    events = [mine, theirs, first, unfollow_one, second, unfollow_two, third, renamed, suspended]
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish(events)
        await wait_for(lambda: settled(db, events[-1]["time_us"]), timeout=20)
    texts = sorted(r["text"] for r in await db.fetch("SELECT text FROM posts"))
    assert texts == ["seen: one member still follows me", "seen: two members follow me"]
    profile = await db.fetchrow("SELECT * FROM profiles WHERE did = $1", STRANGER)
    assert profile["handle"] == "stranger.example" and profile["account_status"] == "suspended"
    assert profile["followers_count"] == 0 and profile["posts_count"] == 2
    assert await db.fetchval("SELECT count(*) FROM viewer_actor_state") == 0


async def test_an_identity_events_handle_is_shown_only_once_verified(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    # Anyone can write any handle into their own DID document, and a relay may pass it through.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    pds.handles[MEMBER] = "member.test"
    impostor = "did:plc:impostor"
    pds.handles[impostor] = "member.test"  # claims the member's handle; DNS says it is the member's
    seen = hose.post(impostor, "hello #cannabis")  # stored: a community post
    claim = hose.identity(impostor, "member.test")
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([seen])
        await wait_for(lambda: settled(db, seen["time_us"]), timeout=20)
        jetstream.publish([claim])
        await wait_for(lambda: settled(db, claim["time_us"]), timeout=20)
    assert await db.fetchval("SELECT handle FROM profiles WHERE did = $1", impostor) == "handle.invalid"


async def test_a_nul_character_is_dropped_not_the_record(
    db: asyncpg.Connection, jetstream: FakeJetstream, pds: FakePds, hose: Firehose, indexer: IndexerFactory
) -> None:
    # PostgreSQL can't store U+0000; a post that has one (from the stream or a backfill) keeps the rest.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    nul = hose.post(MEMBER, "nul \u0000 byte #cannabis")
    nul["commit"]["record"]["langs"] = ["en\u0000"]
    escaped = hose.post(MEMBER, 'code: "\\u0000" is a NUL')  # a backslash in the text, no NUL at all
    listed = hose.post(STRANGER, "listed \u0000 too")
    commit = listed["commit"]
    pds.put(STRANGER, commit["collection"], commit["rkey"], commit["cid"], commit["record"])
    follow = hose.follow(MEMBER, STRANGER)
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([nul, escaped, follow])
        await wait_for(lambda: settled(db, follow["time_us"]), timeout=20)
        listed_uri = uri(STRANGER, POST, commit["rkey"])
        await wait_for(lambda: db.fetchval("SELECT count(*) FROM posts WHERE uri = $1", listed_uri), timeout=20)
    rows = {r["uri"]: r for r in await db.fetch("SELECT uri, text, langs, record::text AS record FROM posts")}
    stored = rows[uri(MEMBER, POST, nul["commit"]["rkey"])]
    assert stored["text"] == "nul  byte #cannabis" and stored["langs"] == ["en"]
    assert "\\u0000" not in stored["record"]
    assert rows[uri(MEMBER, POST, escaped["commit"]["rkey"])]["text"] == 'code: "\\u0000" is a NUL'
    assert rows[listed_uri]["text"] == "listed  too"
    assert await db.fetchval("SELECT malformed_total FROM indexer_state") == 0


async def test_a_second_record_of_a_pair_waits_and_takes_over_when_the_first_goes(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    # An account liking, reposting or following twice counts once, notifies once, shows one item;
    # deleting one of the two records leaves it liking (reposting, following) with the other.
    other = await two_members(db, hose)
    mine = hose.post(MEMBER, "like me twice")
    mine_uri = uri(MEMBER, POST, mine["commit"]["rkey"])
    pairs = {
        LIKE: [hose.like(other, mine_uri), hose.like(other, mine_uri)],
        REPOST: [hose.like(other, mine_uri, collection=REPOST), hose.like(other, mine_uri, collection=REPOST)],
        FOLLOW: [hose.follow(other, MEMBER), hose.follow(other, MEMBER)],
    }
    first, second = ({c: uri(other, c, p[n]["commit"]["rkey"]) for c, p in pairs.items()} for n in (0, 1))
    replayed = {**pairs[LIKE][1], "time_us": hose._next()}
    events = [mine, *(e for p in pairs.values() for e in p), replayed]

    async def state() -> tuple[Any, ...]:
        viewer = "SELECT {} FROM {} WHERE viewer_did = $1"
        return (
            await counts(db, mine_uri),
            await db.fetchval("SELECT followers_count FROM profiles WHERE did = $1", MEMBER),
            await db.fetchval(viewer.format("like_uri", "viewer_post_state"), other),
            await db.fetchval(viewer.format("follow_uri", "viewer_actor_state"), other),
            await db.fetchval("SELECT followed_by_uri FROM viewer_actor_state WHERE viewer_did = $1", MEMBER),
            await db.fetchval("SELECT count(*) FROM notifications WHERE recipient_did = $1", MEMBER),
            await db.fetchval("SELECT count(*) FROM feed_items WHERE type = 'repost'"),
            await db.fetchval("SELECT count(*) FROM timeline_items WHERE member_did = $1", other),
            await db.fetchval("SELECT count(*) FROM record_duplicates"),
        )

    def deletes(records: dict[str, str]) -> list[dict[str, Any]]:
        return [hose.delete(other, c, u.rsplit("/", 1)[1]) for c, u in records.items()]

    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish(events)
        await wait_for(lambda: settled(db, events[-1]["time_us"]), timeout=20)
        # Timeline: the member's post and the repost of it.
        assert await state() == ((1, 1, 0, 0), 1, first[LIKE], first[FOLLOW], first[FOLLOW], 3, 1, 2, 3)
        gone = deletes(first)
        jetstream.publish(gone)
        await wait_for(lambda: settled(db, gone[-1]["time_us"]), timeout=20)
        # The waiting records took over, with the effects of an insert.
        assert await state() == ((1, 1, 0, 0), 1, second[LIKE], second[FOLLOW], second[FOLLOW], 3, 1, 2, 0)
        last = deletes(second)
        jetstream.publish(last)
        await wait_for(lambda: settled(db, last[-1]["time_us"]), timeout=20)
    assert await state() == ((0, 0, 0, 0), 0, None, None, None, 0, 0, 0, 0)
