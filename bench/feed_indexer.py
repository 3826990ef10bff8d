"""Feed indexer figures: parse+filter rate on one core, end-to-end rate into PostgreSQL, RSS, peak lag.

Run: ``.venv/bin/python bench/feed_indexer.py`` (``--help`` for options). It starts its own
embedded PostgreSQL (tuned by ``ops/postgres.conf``), provisions and migrates the feed database,
seeds a community (members and the accounts they follow), and serves a recorded stream with the
real mix (``bench/feed_stream.py``) from the fake Jetstream of the tests.

1. Parse and filter on one core: ``decode`` + the relevance decision for each frame, in process.
2. End to end: the real indexer process (``python -m tenants.feed.indexer``) replays the whole
   stream from its cursor into PostgreSQL: events/s until the cursor reaches the last event,
   and the indexer's RSS after all of them.
3. Live at the firehose's peak: events stamped with the current time at ``--peak`` events/s;
   lag = now - ``time_us`` of the last written event, sampled from the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.box import free_port  # noqa: E402
from bench.feed_stream import World, did, events, frames  # noqa: E402
from shared.db import migrate, provision  # noqa: E402
from shared.db.embedded import EmbeddedPostgres  # noqa: E402
from shared.db.urls import libpq, tenant_url  # noqa: E402
from tenants.feed import tenant  # noqa: E402
from tenants.feed.indexer.events import decode  # noqa: E402
from tenants.feed.indexer.records import Malformed  # noqa: E402
from tenants.feed.indexer.relevance import Relevance  # noqa: E402
from tenants.feed.indexer.tracker import Tracker  # noqa: E402
from tests.fakes.jetstream import FakeJetstream  # noqa: E402
from tests.fakes.pds import FakePds  # noqa: E402

SECRET = "bench-secret-" + "x" * 40
TAGS = ["cannabis"]


def parse_and_filter(world: World, stream: list[str]) -> tuple[float, int]:
    """(events/s, kept) for decoding and deciding every frame on this one core."""
    tracker = Tracker(24)
    for member in world.members:
        tracker.join(did(member))
    for followee in world.followees:
        tracker.follow(did(followee))
    relevance = Relevance(tracker, TAGS)
    kept = 0
    started = time.perf_counter()
    for frame in stream:
        try:
            op = decode(frame, 100_000)
        except Malformed:
            continue
        if relevance.keep(op):
            kept += 1
    return len(stream) / (time.perf_counter() - started), kept


async def seed(dsn: str, world: World, start_us: int) -> None:
    """Members (already signed in), whom they follow, and the indexer's starting cursor."""
    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    try:
        members = [did(m) for m in world.members]
        await conn.executemany("INSERT INTO members (did) VALUES ($1)", [(m,) for m in members])
        await conn.executemany("INSERT INTO profiles (did, is_member) VALUES ($1, true)", [(m,) for m in members])
        follows = []
        for i, followee in enumerate(world.followees):
            follows.append((f"at://{rng.choice(members)}/app.bsky.graph.follow/seed{i}", did(followee)))
        await conn.executemany(
            "INSERT INTO follows (uri, cid, author_did, subject_did, created_at) "
            "VALUES ($1, 'bafy', split_part($1, '/', 3), $2, now())",
            follows,
        )
        await conn.executemany("INSERT INTO profiles (did) VALUES ($1) ON CONFLICT DO NOTHING",
                               [(did(f),) for f in world.followees])  # fmt: skip
        await conn.execute("INSERT INTO indexer_state (name, cursor_us) VALUES ('jetstream', $1)", start_us)
    finally:
        await conn.close()


async def cursor_lag(conn: asyncpg.Connection) -> tuple[int, float]:
    """(cursor, seconds between now and the cursor)."""
    row = await conn.fetchrow(
        "SELECT cursor_us, extract(epoch FROM now())::float8 * 1e6 - cursor_us AS lag FROM indexer_state"
    )
    return int(row["cursor_us"]), float(row["lag"]) / 1e6


async def run(args: argparse.Namespace, admin_url: str) -> None:
    world = World.make(random.Random(args.seed))
    start_us = int(time.time() * 1_000_000) - args.events * 100 - 60_000_000
    print(f"generating {args.events:,} events ...", flush=True)
    stream = frames(world, args.events, start_us, args.seed)
    kinds = [orjson.loads(f).get("commit", {}).get("collection", "other") for f in stream[:20000]]
    mix = {k.rsplit(".", 1)[-1]: round(100 * kinds.count(k) / len(kinds), 1) for k in sorted(set(kinds))}
    print(f"mix (% of events): {mix}")

    sample = stream[: min(len(stream), 300_000)]
    rate, kept = parse_and_filter(world, sample)
    print(f"1. parse + filter, one core: {rate:,.0f} events/s ({100 * kept / len(sample):.2f}% kept)", flush=True)

    url = tenant_url(admin_url, "onebox", "feed", SECRET)
    dsn = libpq(url)
    migrate.upgrade(tenant.migrations, url)
    await seed(dsn, world, start_us)
    jetstream, pds = FakeJetstream(), FakePds()
    async with jetstream.running(), pds.running():
        jetstream.publish(stream)  # type: ignore[arg-type]
        last_us = orjson.loads(stream[-1])["time_us"]
        del stream, sample
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ONEBOX_DATABASE_URL": admin_url, "ONEBOX_SECRET_KEY": SECRET,
               "ONEBOX_JETSTREAM_URL": jetstream.url, "ONEBOX_PLC_URL": pds.plc_url, "ONEBOX_FEED_TAGS": ",".join(TAGS),
               "ONEBOX_LOG_LEVEL": "error"}  # fmt: skip
        with tempfile.TemporaryDirectory() as cwd:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tenants.feed.indexer", cwd=cwd, env=env)
            watch = psutil.Process(proc.pid)
            conn = await asyncpg.connect(dsn)
            try:
                await end_to_end(conn, watch, start_us, last_us)
                await peak(conn, watch, jetstream, world, args)
            finally:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 30)
                await conn.close()


async def end_to_end(conn: asyncpg.Connection, watch: psutil.Process, start_us: int, last_us: int) -> None:
    """Replay everything from the cursor; report events/s and RSS."""
    began = first = None
    peak_rss = 0
    while True:
        cursor, _ = await cursor_lag(conn)
        peak_rss = max(peak_rss, watch.memory_info().rss)
        if cursor > start_us and began is None:
            began, first = time.perf_counter(), cursor
        if cursor >= last_us:
            break
        await asyncio.sleep(0.1)
    assert began is not None and first is not None
    elapsed = time.perf_counter() - began
    events = (last_us - first) // 100
    counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in ("posts", "likes", "reposts", "follows",
                                                                            "notifications", "profiles")}  # fmt: skip
    print(f"2. end to end into PostgreSQL: {events / elapsed:,.0f} events/s ({events:,} events in {elapsed:.1f} s)")
    print(f"   rows now: {counts}")
    print(f"   indexer RSS after the replay: {watch.memory_info().rss / 2**20:.0f} MiB (peak {peak_rss / 2**20:.0f})")


async def peak(conn: asyncpg.Connection, watch: psutil.Process, jetstream: FakeJetstream, world: World,
               args: argparse.Namespace) -> None:  # fmt: skip
    """Serve live events at the peak rate; sample the lag."""
    source = events(world, args.peak * args.peak_seconds, 0, args.seed + 1)
    lags: list[float] = []
    tick = 0.02
    per_tick = max(1, round(args.peak * tick))
    started = time.perf_counter()
    next_sample = started + 1.0
    while time.perf_counter() - started < args.peak_seconds:
        now_us = int(time.time() * 1_000_000)
        batch = []
        for i, event in zip(range(per_tick), source, strict=False):
            event["time_us"] = now_us + i
            batch.append(event)
        jetstream.publish(batch)
        if time.perf_counter() >= next_sample:
            lags.append((await cursor_lag(conn))[1])
            next_sample += 0.25
        await asyncio.sleep(tick - (time.perf_counter() - started) % tick)
    lags.sort()
    print(f"3. live at {args.peak:,} events/s for {args.peak_seconds} s: lag p50 {statistics.median(lags):.2f} s, "
          f"p99 {lags[int(len(lags) * 0.99) - 1]:.2f} s, max {lags[-1]:.2f} s; "
          f"RSS {watch.memory_info().rss / 2**20:.0f} MiB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="recorded stream length")
    parser.add_argument("--peak", type=int, default=5000, help="live events/s (the real firehose's peak)")
    parser.add_argument("--peak-seconds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    # Stop the way Ctrl-C does, so the indexer and PostgreSQL started here are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", port=free_port(), conf=ROOT / "ops" / "postgres.conf")
        pg.start()
        try:
            provision.provision(pg.admin_url(), "onebox", ["feed"], SECRET)
            asyncio.run(run(args, pg.admin_url()))
        finally:
            pg.stop("immediate")


if __name__ == "__main__":
    main()
