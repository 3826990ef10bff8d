"""SIGKILL the real indexer process mid-stream and restart it: the database ends as if it never crashed."""

from __future__ import annotations

import random
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg

from shared.settings import Settings
from tests.fakes.firehose import POST, Firehose, realistic
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.pds import FakePds
from tests.support.waiting import wait_for
from tests.tenants.feed.conftest import EMPTY_ALL, cursor_of, indexer_process, settled, start_at

# Everything the indexer decides, without ids and write timestamps (which differ run to run).
SNAPSHOT = {
    "posts": "SELECT uri, cid, author_did, text, created_at, reply_parent_uri, reply_root_uri, quote_uri, "
    "like_count, repost_count, reply_count, quote_count, tags, is_community, is_local, record FROM posts",
    "feed_items": "SELECT uri, type, post_uri, originator_did, sort_at FROM feed_items",
    "likes": "SELECT uri, author_did, subject_uri, created_at FROM likes",
    "reposts": "SELECT uri, author_did, subject_uri, created_at FROM reposts",
    "follows": "SELECT uri, author_did, subject_did, created_at FROM follows",
    "blocks": "SELECT uri, author_did, subject_did FROM blocks",
    "profiles": "SELECT did, handle, display_name, description, followers_count, follows_count, posts_count, "
    "is_member, account_status FROM profiles",
    "notifications": "SELECT recipient_did, type, actor_did, record_uri, subject_uri, is_read, created_at "
    "FROM notifications",
    "viewer_post_state": "SELECT * FROM viewer_post_state",
    "viewer_actor_state": "SELECT * FROM viewer_actor_state",
    "tombstones": "SELECT uri FROM tombstones",
    # Not the collections: an identity event re-queues a finished job for the profile alone but
    # leaves an unfinished one whole, so which one an account's last job was depends on how far
    # the backfill, which runs beside the stream, had got (the rows it fetched are compared above).
    "backfill_jobs": "SELECT did, reason, state FROM backfill_jobs",
}


async def snapshot(db: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    result = {}
    for table, query in SNAPSHOT.items():
        result[table] = sorted(tuple(map(str, row)) for row in await db.fetch(query))
    return result


@contextmanager
def crash_indexer(
    settings: Settings, jetstream: FakeJetstream, pds: FakePds, cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """The indexer process, reading ``jetstream`` in small, quick batches."""
    with indexer_process(
        settings,
        cwd,
        ONEBOX_JETSTREAM_URL=jetstream.url,
        ONEBOX_PLC_URL=pds.plc_url,
        ONEBOX_FEED_HANDLE_RESOLVER=pds.url,
        ONEBOX_FEED_TAGS="cannabis",
        ONEBOX_FEED_BATCH_OPS="40",
        ONEBOX_FEED_BATCH_MS="20",
        ONEBOX_LOG_LEVEL="warning",
    ) as proc:
        yield proc


async def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as supervisor stops it: the process must end by itself (supervisor kills it after 15 s)."""
    proc.send_signal(signal.SIGTERM)
    await wait_for(lambda: proc.poll() is not None, timeout=20)
    assert proc.returncode == 0


async def prepare(db: asyncpg.Connection, members: list[str], cursor_us: int) -> None:
    await db.execute(EMPTY_ALL)
    await db.executemany("INSERT INTO members (did) VALUES ($1)", [(m,) for m in members])
    await start_at(db, cursor_us)


async def test_sigkill_mid_stream_then_restart_matches_an_uninterrupted_run(
    db: asyncpg.Connection,
    settings: Settings,
    jetstream: FakeJetstream,
    pds: FakePds,
    hose: Firehose,
    tmp_path: Path,
) -> None:
    rng = random.Random(5)
    dids = [f"did:plc:user{i:03d}" for i in range(250)]
    members = dids[:4]
    for did in dids:
        pds.handles[did] = did.split(":")[-1] + ".test"
        for n in range(2):  # older posts that only a backfill can bring in
            pds.put(did, POST, f"2a{n:011d}", f"bafyold{did[-3:]}{n}",
                    {"$type": POST, "text": f"old {n} of {did}", "createdAt": "2024-05-01T12:00:00.000Z"})  # fmt: skip
    start = hose.time_us
    events = realistic(hose, rng, dids, members, 4000)
    jetstream.publish(events)
    last = events[-1]["time_us"]

    await prepare(db, members, start)
    with crash_indexer(settings, jetstream, pds, tmp_path) as proc:
        await wait_for(lambda: settled(db, last), timeout=60)
        await stop(proc)
    uninterrupted = await snapshot(db)

    await prepare(db, members, start)
    with crash_indexer(settings, jetstream, pds, tmp_path) as proc:
        await wait_for(lambda: _past(db, start + (last - start) * 2 // 5), timeout=30, interval=0.005)
        proc.kill()  # SIGKILL: no chance to finish anything
        proc.wait(10)
    assert await cursor_of(db) < last, "the kill should land mid-stream"
    with crash_indexer(settings, jetstream, pds, tmp_path) as proc:
        await wait_for(lambda: settled(db, last), timeout=60)
        await stop(proc)
    recovered = await snapshot(db)

    assert len(uninterrupted["posts"]) > 100 and len(uninterrupted["likes"]) > 100
    assert len(uninterrupted["notifications"]) > 10 and uninterrupted["backfill_jobs"]
    for table in SNAPSHOT:
        missing = set(uninterrupted[table]) - set(recovered[table])
        extra = set(recovered[table]) - set(uninterrupted[table])
        assert not missing and not extra, (table, sorted(missing)[:3], sorted(extra)[:3])
        assert recovered[table] == uninterrupted[table], table  # nothing duplicated either


async def _past(db: asyncpg.Connection, time_us: int) -> bool:
    return await cursor_of(db) >= time_us
