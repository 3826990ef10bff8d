"""Data integrity of the indexer's write paths: hostile records, stops, races, retries and echoes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import orjson
import pytest

from tenants.feed.indexer import backfill
from tenants.feed.indexer.apply import apply_ops
from tenants.feed.indexer.events import Op, decode, from_listed_record
from tenants.feed.indexer.processors import tombstones
from tenants.feed.indexer.processors.base import Effects
from tenants.feed.indexer.records import Malformed
from tests.fakes.firehose import FOLLOW, POST, PROFILE, REPOST, Firehose, uri
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.pds import FakePds
from tests.support.waiting import wait_for
from tests.tenants.feed.conftest import IndexerFactory, add_member, cursor_of, members_synced, settled, start_at

MEMBER = "did:plc:member"
OTHER = "did:plc:othermember"
FRIEND = "did:plc:friend"
STRANGER = "did:plc:stranger"
FAN = "did:plc:fan"
NOBODY = "did:plc:nobody"
COMMUNITY = frozenset({"cannabis"})


def op_of(event: dict[str, Any]) -> Op:
    """The op the indexer would decode from a stream event."""
    return decode(orjson.dumps(event), 1_000_000)


async def local_write(conn: asyncpg.Connection, event: dict[str, Any]) -> None:
    """What tenants/feed/writes.py Writes._apply does for a member's write (PDS first, then this)."""
    async with conn.transaction():
        await apply_ops(conn, [op_of(event)], Effects(live=True), COMMUNITY)


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def with_extra_field(event: dict[str, Any], field_json: str) -> str:
    """The event's frame with one more (raw JSON) field in its record: orjson can't dump it itself."""
    text = orjson.dumps(event).decode()
    marker = '"record":{'
    assert marker in text
    return text.replace(marker, marker + '"x":' + field_json + ",", 1)


def publish_frame(jetstream: FakeJetstream, event: dict[str, Any], frame: str) -> None:
    """Append ``frame`` verbatim (FakeJetstream.publish re-encodes text it can parse, and orjson can't)."""
    jetstream.times.append(event["time_us"])
    jetstream.frames.append((event["commit"]["collection"], frame))


@pytest.mark.parametrize(
    ("author", "text", "depth"),
    [
        # Kept (a community post), 300 deep: orjson reads it (up to 1,024) but won't write it (255).
        (STRANGER, "deep #cannabis", 300),
        # Any event of the network, skipped or not, with a NUL to strip, 600 deep.
        (NOBODY, "nul \u0000 here", 600),
    ],
)
async def test_a_deeply_nested_record_does_not_stop_the_indexer(
    db: asyncpg.Connection,
    jetstream: FakeJetstream,
    hose: Firehose,
    indexer: IndexerFactory,
    author: str,
    text: str,
    depth: int,
) -> None:
    # Either stopped the process before, and again after every restart from the same cursor.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    poison = hose.post(author, text)
    good = hose.post(MEMBER, "still fine")
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        publish_frame(jetstream, poison, with_extra_field(poison, nested(depth)))
        jetstream.publish([good])
        await wait_for(lambda: settled(db, good["time_us"]), timeout=15)
    assert "still fine" in [r["text"] for r in await db.fetch("SELECT text FROM posts")]


async def test_clean_stop_while_the_writer_queue_is_full_loses_no_event(
    db: asyncpg.Connection, dsn: str, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    # SIGTERM while the reader waits to hand a batch to a full writer queue (normal when catching
    # up): that batch must still be written before a cursor past it is saved.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    events = [hose.post(MEMBER, f"post {i}") for i in range(60)]
    locker = await asyncpg.connect(dsn)
    try:
        async with indexer(feed_batch_ops=5, feed_queue_batches=1) as ix:
            await wait_for(lambda: members_synced(db), timeout=20)
            await wait_for(lambda: settled(db, 0), timeout=20)
            lock = locker.transaction()
            await lock.start()
            await locker.execute("LOCK TABLE posts IN EXCLUSIVE MODE")  # the writer is slow for a moment
            jetstream.publish(events)
            await wait_for(lambda: ix.stats.kept >= 15, timeout=20)
            # The reader is blocked handing a full batch to the full queue.
            await wait_for(lambda: _reader_blocked(ix), timeout=20)
            ix.stop()  # SIGTERM
            await wait_for(lambda: not ix.stats.connected, timeout=20)  # the reader was cancelled
            await lock.rollback()
    finally:
        await locker.close()
    cursor = await cursor_of(db)
    stored = {r["text"] for r in await db.fetch("SELECT text FROM posts")}
    behind_cursor = {e["commit"]["record"]["text"] for e in events if e["time_us"] <= cursor}
    assert behind_cursor - stored == set(), f"cursor saved past {len(behind_cursor - stored)} unwritten events"


async def test_backfill_page_read_before_a_live_change_does_not_undo_it(
    db: asyncpg.Connection,
    dsn: str,
    jetstream: FakeJetstream,
    pds: FakePds,
    hose: Firehose,
    indexer: IndexerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A member signs up; their backfill reads a listRecords page, and right then (before the page is
    # written) they unfollow FRIEND, delete a repost, rename their profile and change handle in another
    # client. The stream writes those first; the page, older, must undo none of them.
    await start_at(db, hose.time_us)
    follow = hose.follow(MEMBER, FRIEND)
    target = uri(STRANGER, POST, hose.rkey())
    repost = hose.like(MEMBER, target, collection=REPOST)
    for event in (follow, repost):
        c = event["commit"]
        pds.put(MEMBER, c["collection"], c["rkey"], c["cid"], c["record"])
    pds.put(MEMBER, PROFILE, "self", "bafyold", {"$type": PROFILE, "displayName": "Old Name"})
    live = {  # in the order the member backfill lists collections (MEMBER_COLLECTIONS)
        PROFILE: [hose.profile(MEMBER, "New Name"), hose.identity(MEMBER, "renamed.test")],
        REPOST: [hose.delete(MEMBER, REPOST, repost["commit"]["rkey"])],
        FOLLOW: [hose.delete(MEMBER, FOLLOW, follow["commit"]["rkey"])],
    }
    last = max(e["time_us"] for es in live.values() for e in es)
    watch = await asyncpg.connect(dsn)
    real = backfill.list_records

    async def racing(http: Any, pds_url: str, did: str, collection: str, *args: Any) -> Any:
        page = await real(http, pds_url, did, collection, *args)
        changes = live.pop(collection, None) if did == MEMBER else None
        if changes:
            # The account changes right after the PDS answered: the PDS now holds the new state...
            if collection == PROFILE:
                pds.put(MEMBER, PROFILE, "self", "bafynew", {"$type": PROFILE, "displayName": "New Name"})
                pds.handles[MEMBER] = "renamed.test"
            else:
                del pds.repos[MEMBER][collection][changes[0]["commit"]["rkey"]]
            # ...and the stream delivers it and the indexer writes it before this page.
            jetstream.publish(changes)
            await wait_for(lambda: _past(watch, changes[-1]["time_us"]), timeout=20)
        return page

    monkeypatch.setattr(backfill, "list_records", racing)
    try:
        async with indexer():
            await add_member(db, MEMBER)
            await wait_for(lambda: members_synced(db), timeout=20)
            await wait_for(lambda: not live, timeout=20)
            await wait_for(lambda: settled(db, last), timeout=20)
    finally:
        await watch.close()
    profile = await db.fetchrow("SELECT display_name, handle FROM profiles WHERE did = $1", MEMBER)
    state = (
        profile["display_name"],
        profile["handle"],
        await db.fetchval("SELECT count(*) FROM follows WHERE author_did = $1", MEMBER),
        await db.fetchval("SELECT count(*) FROM reposts WHERE author_did = $1", MEMBER),
        await db.fetchval("SELECT count(*) FROM feed_items WHERE type = 'repost'"),
    )
    assert state == ("New Name", "renamed.test", 0, 0, 0), state


def _reader_blocked(ix: Any) -> bool:
    # 15 kept with batches of 5: one being written, one queued, the third waiting for room.
    return bool(ix.stats.kept >= 15 and ix.writer.queue.full())


async def _past(conn: asyncpg.Connection, time_us: int) -> bool:
    return await cursor_of(conn) >= time_us


async def test_a_follow_during_a_running_profile_job_still_backfills_the_followee(
    db: asyncpg.Connection,
    dsn: str,
    jetstream: FakeJetstream,
    pds: FakePds,
    hose: Firehose,
    indexer: IndexerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # FRIEND likes a member's post: a profile job for FRIEND. While it runs, the member follows back,
    # which queues the job again with FRIEND's posts and reposts: the running task's last page must
    # not mark the new job done.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    old = [hose.post(FRIEND, f"old {i}") for i in range(3)]
    for event in old:
        c = event["commit"]
        pds.put(FRIEND, c["collection"], c["rkey"], c["cid"], c["record"])
    pds.put(FRIEND, PROFILE, "self", "bafyp", {"$type": PROFILE, "displayName": "Friend"})
    mine = hose.post(MEMBER, "like me")
    like = hose.like(FRIEND, uri(MEMBER, POST, mine["commit"]["rkey"]))
    follow_back = hose.follow(MEMBER, FRIEND)
    watch = await asyncpg.connect(dsn)
    real = backfill.list_records
    raced: list[bool] = []

    async def racing(http: Any, pds_url: str, did: str, collection: str, *args: Any) -> Any:
        page = await real(http, pds_url, did, collection, *args)
        if did == FRIEND and collection == PROFILE and not raced:
            raced.append(True)
            jetstream.publish([follow_back])
            job = "SELECT reason, state FROM backfill_jobs WHERE did = $1"
            await wait_for(lambda: _is(watch, job, FRIEND, ("follow", "pending")), timeout=20)
        return page

    monkeypatch.setattr(backfill, "list_records", racing)
    try:
        async with indexer(feed_backfill_concurrency=1):  # the job slots are busy (1 slot, to be exact)
            await wait_for(lambda: members_synced(db), timeout=20)
            await wait_for(lambda: settled(db, 0), timeout=20)
            jetstream.publish([mine, like])
            await wait_for(lambda: raced, timeout=20)
            await wait_for(lambda: settled(db, follow_back["time_us"]), timeout=20)
    finally:
        await watch.close()
    job = await db.fetchrow("SELECT reason, state, collection_index FROM backfill_jobs WHERE did = $1", FRIEND)
    stored = await db.fetchval("SELECT count(*) FROM posts WHERE author_did = $1", FRIEND)
    assert stored == len(old), f"followee's history not backfilled; job = {dict(job)}"


async def _is(conn: asyncpg.Connection, query: str, arg: str, expected: tuple[Any, ...]) -> bool:
    row = await conn.fetchrow(query, arg)
    return row is not None and tuple(row) == expected


async def test_concurrent_gateway_and_indexer_likes_both_count(
    db: asyncpg.Connection, dsn: str, hose: Firehose
) -> None:
    # A member's like through the gateway (writes.py) and a stranger's like from the firehose, on the
    # same post, in overlapping transactions: the recount that waited for the other's row lock must
    # count the other's like too.
    await add_member(db, MEMBER)
    await add_member(db, OTHER)
    post = hose.post(MEMBER, "popular")
    post_uri = uri(MEMBER, POST, post["commit"]["rkey"])
    await local_write(db, post)
    gateway, indexer_conn = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        tx = gateway.transaction()
        await tx.start()
        await apply_ops(gateway, [op_of(hose.like(OTHER, post_uri))], Effects(), COMMUNITY)

        async def indexer_batch() -> None:
            async with indexer_conn.transaction():
                await apply_ops(indexer_conn, [op_of(hose.like(FAN, post_uri))], Effects(), COMMUNITY)

        batch = asyncio.create_task(indexer_batch())
        await wait_for(
            lambda: db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"), timeout=10
        )
        await tx.commit()
        await batch
    finally:
        await gateway.close()
        await indexer_conn.close()
    stored = await db.fetchval("SELECT like_count FROM posts WHERE uri = $1", post_uri)
    rows = await db.fetchval("SELECT count(*) FROM likes WHERE subject_uri = $1", post_uri)
    assert (stored, rows) == (2, 2)


TRANSIENT = [
    "CREATE SEQUENCE audit_transient_seq",
    """CREATE FUNCTION audit_transient() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           IF NEW.text = 'unlucky' AND nextval('audit_transient_seq') <= 2 THEN
               RAISE EXCEPTION 'deadlock detected (simulated)' USING ERRCODE = '40P01';
           END IF;
           RETURN NEW;
       END $$""",
    "CREATE TRIGGER audit_transient BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION audit_transient()",
]
UNDO_TRANSIENT = [
    "DROP TRIGGER IF EXISTS audit_transient ON posts",
    "DROP FUNCTION IF EXISTS audit_transient()",
    "DROP SEQUENCE IF EXISTS audit_transient_seq",
]


async def test_a_transient_database_error_does_not_drop_an_event(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    # A deadlock (40P01) twice in a row says "not now", not "not this data": the event is written
    # once the database lets it, not skipped while the cursor moves past it.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    events = [hose.post(MEMBER, "unlucky"), hose.post(MEMBER, "fine")]
    for statement in UNDO_TRANSIENT + TRANSIENT:
        await db.execute(statement)
    try:
        async with indexer():
            await wait_for(lambda: members_synced(db), timeout=20)
            jetstream.publish(events)
            await wait_for(lambda: settled(db, events[-1]["time_us"]), timeout=20)
    finally:
        for statement in UNDO_TRANSIENT:
            await db.execute(statement)
    texts = sorted(r["text"] for r in await db.fetch("SELECT text FROM posts"))
    malformed = await db.fetchval("SELECT malformed::text FROM indexer_state")
    assert texts == ["fine", "unlucky"], malformed


async def test_the_echo_of_an_undone_like_notifies_no_one(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    # OTHER likes and quickly unlikes MEMBER's post in onebox: both applied locally at once. The
    # Jetstream echoes that follow must not bring the like back, nor notify or push it.
    await add_member(db, MEMBER)
    await add_member(db, OTHER)
    await start_at(db, hose.time_us)
    post = hose.post(MEMBER, "like me")
    post_uri = uri(MEMBER, POST, post["commit"]["rkey"])
    like = hose.like(OTHER, post_uri)
    unlike = hose.delete(OTHER, "app.bsky.feed.like", like["commit"]["rkey"])
    pushed: list[Any] = []
    async with indexer() as ix:
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([post])
        await wait_for(lambda: settled(db, post["time_us"]), timeout=20)
        assert ix.writer is not None
        ix.writer.on_notice = pushed.append
        await local_write(db, like)  # Writes.create
        await local_write(db, unlike)  # Writes.delete
        assert await db.fetchval("SELECT count(*) FROM notifications") == 0
        jetstream.publish([like, unlike])  # the echoes, back to back
        await wait_for(lambda: settled(db, unlike["time_us"]), timeout=20)
    assert [(n.type, n.actor) for n in pushed] == []


async def test_an_unfollow_made_in_onebox_stops_tracking_the_account(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    # The gateway deletes the follow row at once, so the echo finds nothing that says whom: the
    # account must still stop being tracked.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    follow = hose.follow(MEMBER, FRIEND)
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([follow])
        await wait_for(lambda: settled(db, follow["time_us"]), timeout=20)
        unfollow = hose.delete(MEMBER, FOLLOW, follow["commit"]["rkey"])
        await local_write(db, unfollow)  # Writes.delete
        later = hose.post(FRIEND, "nobody follows me now")
        jetstream.publish([unfollow, later])
        await wait_for(lambda: settled(db, later["time_us"]), timeout=20)
    assert await db.fetchval("SELECT count(*) FROM posts WHERE author_did = $1", FRIEND) == 0


async def test_a_cursor_from_one_endpoint_is_not_taken_as_another_endpoints(
    db: asyncpg.Connection, jetstream: FakeJetstream, hose: Firehose, indexer: IndexerFactory
) -> None:
    # Each Jetstream stamps time_us with its own clock (A here runs 3 s behind B). A dies after 3
    # events and the reader moves to B, which has sent nothing yet: the cursor saved is still in
    # A's clock, so it must stay A's. Saved as B's, a restart skipped every B event below A's
    # stamp: events nobody had delivered, which the rewind was meant to read again.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    events = [hose.post(MEMBER, f"post {i}") for i in range(6)]
    lagging = [{**e, "time_us": e["time_us"] + 3_000_000} for e in events]
    state = "SELECT endpoint, cursor_us FROM indexer_state"
    async with FakeJetstream().running() as b:
        urls = [jetstream.url, b.url]
        jetstream.publish(lagging)
        jetstream.drop_after = 3
        async with indexer(jetstream_url=urls) as ix:
            await wait_for(lambda: members_synced(db), timeout=20)
            await wait_for(lambda: ix.stats.connected and ix.stats.endpoint == b.url, timeout=20)
            await wait_for(lambda: _is_row(db, state, (jetstream.url, lagging[2]["time_us"])), timeout=20)
        b.publish(events)  # B's copies of the same events, stamped by B's clock
        jetstream.drop_after = jetstream.sent + 1  # after the restart A fails again, at once
        async with indexer(jetstream_url=urls):
            await wait_for(lambda: b.sent >= len(events), timeout=20)
            await wait_for(lambda: _post_count_is(db, 6), timeout=20)
    texts = sorted(r["text"] for r in await db.fetch("SELECT text FROM posts"))
    assert texts == [f"post {i}" for i in range(6)]


async def _post_count_is(conn: asyncpg.Connection, count: int) -> bool:
    return bool(await conn.fetchval("SELECT count(*) = $1 FROM posts", count))


async def _is_row(conn: asyncpg.Connection, query: str, expected: tuple[Any, ...]) -> bool:
    row = await conn.fetchrow(query)
    return row is not None and tuple(row) == expected


@pytest.mark.parametrize(
    ("kind", "created_at"), [("post", "0001-01-01T00:00:00+14:00"), ("like", "9999-12-31T23:30:00-01:00")]
)
async def test_a_created_at_outside_the_years_1_to_9999_in_utc_is_skipped(
    db: asyncpg.Connection,
    jetstream: FakeJetstream,
    hose: Firehose,
    indexer: IndexerFactory,
    kind: str,
    created_at: str,
) -> None:
    # PostgreSQL would store 1 BC or 10000 AD, which asyncpg can't read back: the writer died on
    # it, and again after every restart.
    await add_member(db, MEMBER)
    await start_at(db, hose.time_us)
    mine = hose.post(MEMBER, "member post")
    if kind == "post":
        bad = hose.post(STRANGER, "look #cannabis")  # community tag: kept from anyone
    else:
        bad = hose.like(STRANGER, uri(MEMBER, POST, mine["commit"]["rkey"]))  # a like of a member's post
    bad["commit"]["record"]["createdAt"] = created_at
    good = hose.post(STRANGER, "after #cannabis")
    async with indexer():
        await wait_for(lambda: members_synced(db), timeout=20)
        jetstream.publish([mine, bad, good])
        await wait_for(lambda: settled(db, good["time_us"]), timeout=20)
    assert await db.fetchval("SELECT count(*) FROM posts WHERE text = 'after #cannabis'") == 1


async def test_a_record_written_again_after_its_delete_is_kept(db: asyncpg.Connection, hose: Firehose) -> None:
    # The same key written anew (putRecord) has a later revision than the delete: it is no echo.
    await add_member(db, MEMBER)
    first = hose.post(MEMBER, "first")
    rkey = first["commit"]["rkey"]
    events = [first, hose.delete(MEMBER, POST, rkey)]
    events.append(hose.post(MEMBER, "again", rkey=rkey))
    for event in events:
        await local_write(db, event)
    assert await db.fetchval("SELECT text FROM posts WHERE uri = $1", uri(MEMBER, POST, rkey)) == "again"
    assert await db.fetchval("SELECT count(*) FROM tombstones WHERE uri = $1", uri(MEMBER, POST, rkey)) == 0


async def test_tombstones_are_forgotten_after_the_replay_window(db: asyncpg.Connection) -> None:
    await db.execute(
        "INSERT INTO tombstones (uri, rev, deleted_at) VALUES ('at://did:plc:a/app.bsky.feed.like/old', '2', "
        "now() - interval '100 hours'), ('at://did:plc:a/app.bsky.feed.like/new', '3', now() - interval '1 hour')"
    )
    await tombstones.purge(db, 96)
    assert [r["uri"] for r in await db.fetch("SELECT uri FROM tombstones")] == ["at://did:plc:a/app.bsky.feed.like/new"]


def test_a_stamp_the_cursor_cannot_hold_is_malformed() -> None:
    # A time_us past bigint made every save of its batch fail, and the writer retried for ever.
    for time_us in (2**63, 0, -1):
        frame = orjson.dumps({"did": "did:plc:x", "time_us": time_us, "kind": "identity"})
        with pytest.raises(Malformed, match="bad_time"):
            decode(frame, 1_000_000)


async def _apply(conn: asyncpg.Connection, ops: list[Op]) -> Effects:
    """Apply ``ops`` as one writer batch; the effects it had."""
    fx = Effects(live=all(op.live for op in ops))
    async with conn.transaction():
        await apply_ops(conn, ops, fx, COMMUNITY)
    return fx


def _edit(hose: Firehose, event: dict[str, Any], text: str) -> dict[str, Any]:
    """An update of ``event``'s post to ``text`` (a later commit of the repository)."""
    record = {k: v for k, v in event["commit"]["record"].items() if k != "$type"}
    return hose.commit(event["did"], POST, event["commit"]["rkey"], {**record, "text": text}, operation="update")


async def test_a_replayed_older_revision_of_a_post_does_not_undo_its_edit(
    db: asyncpg.Connection, hose: Firehose
) -> None:
    # A rewind after a failover (or a reordered delivery) brings the post's first version after its
    # edit: the edit is kept, and the replay is no news. Reordered within one batch, the same.
    await add_member(db, MEMBER)
    first = hose.post(MEMBER, "first")
    edited = _edit(hose, first, "edited")
    post_uri = uri(MEMBER, POST, first["commit"]["rkey"])
    await _apply(db, [op_of(first)])
    assert [e[0] for e in (await _apply(db, [op_of(edited)])).events] == ["post_updated"]
    replay = await _apply(db, [op_of(first)])
    assert replay.events == []
    row = await db.fetchrow("SELECT text, cid, rev FROM posts WHERE uri = $1", post_uri)
    assert row == ("edited", edited["commit"]["cid"], edited["commit"]["rev"])
    other = hose.post(MEMBER, "other")
    await _apply(db, [op_of(_edit(hose, other, "other edited")), op_of(other)])
    other_uri = uri(MEMBER, POST, other["commit"]["rkey"])
    assert await db.fetchval("SELECT text FROM posts WHERE uri = $1", other_uri) == "other edited"
    assert await db.fetchval("SELECT posts_count FROM profiles WHERE did = $1", MEMBER) == 2


async def test_the_same_post_event_twice_changes_nothing(db: asyncpg.Connection, hose: Firehose) -> None:
    await add_member(db, MEMBER)
    first = hose.post(MEMBER, "first")
    edited = _edit(hose, first, "edited")
    post_uri = uri(MEMBER, POST, first["commit"]["rkey"])
    await _apply(db, [op_of(first), op_of(edited)])
    version = await db.fetchval("SELECT xmin::text FROM posts WHERE uri = $1", post_uri)
    again = await _apply(db, [op_of(edited)])
    assert again.events == [] and again.notices == []
    assert await db.fetchval("SELECT xmin::text FROM posts WHERE uri = $1", post_uri) == version


async def test_a_backfilled_post_fetched_before_a_live_edit_does_not_undo_it(
    db: asyncpg.Connection, hose: Firehose
) -> None:
    # listRecords gives no revision: a page is older than a live write made after it was fetched,
    # and newer than one made before.
    await add_member(db, MEMBER)
    first = hose.post(MEMBER, "first")
    post_uri = uri(MEMBER, POST, first["commit"]["rkey"])
    listed = {"uri": post_uri, "cid": first["commit"]["cid"], "value": first["commit"]["record"]}
    fetched_us = int(time.time() * 1_000_000)
    await _apply(db, [op_of(_edit(hose, first, "edited"))])
    await _apply(db, [from_listed_record(MEMBER, POST, listed, fetched_us)])
    assert await db.fetchval("SELECT text FROM posts WHERE uri = $1", post_uri) == "edited"
    await _apply(db, [from_listed_record(MEMBER, POST, listed, int(time.time() * 1_000_000))])
    assert await db.fetchval("SELECT text FROM posts WHERE uri = $1", post_uri) == "first"


async def test_a_replayed_older_revision_of_a_profile_does_not_undo_its_change(
    db: asyncpg.Connection, hose: Firehose
) -> None:
    await db.execute("INSERT INTO profiles (did) VALUES ($1)", FRIEND)
    old, new = hose.profile(FRIEND, "Old Name"), hose.profile(FRIEND, "New Name")
    await _apply(db, [op_of(old)])
    await _apply(db, [op_of(new)])
    replay = await _apply(db, [op_of(old)])
    again = await _apply(db, [op_of(new)])
    assert replay.events == [] and again.events == []
    row = await db.fetchrow("SELECT display_name, rev FROM profiles WHERE did = $1", FRIEND)
    assert row == ("New Name", new["commit"]["rev"])
