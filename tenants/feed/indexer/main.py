"""The indexer process: wires the reader, the writer, backfill, push and membership polling."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import asyncpg

from shared.db.notify import channel_name
from shared.db.urls import resolve_admin_url, tenant_dsn
from shared.settings import Settings
from shared.worker_loop import run_until_stopped
from tenants.feed.indexer.backfill import Backfiller, queue_rebackfill
from tenants.feed.indexer.members import sync_members
from tenants.feed.indexer.processors import tombstones
from tenants.feed.indexer.push import PushSender
from tenants.feed.indexer.relevance import Relevance
from tenants.feed.indexer.stats import Stats
from tenants.feed.indexer.stream import Stream
from tenants.feed.indexer.tracker import Tracker
from tenants.feed.indexer.writer import APP_NAME, Writer
from tenants.feed.settings import FeedSettings

log = logging.getLogger("onebox.feed.indexer")

MEMBERS_POLL_S = 2.0
TOMBSTONE_PURGE_S = 3600.0


def feed_dsn(settings: Settings) -> str:
    """libpq URL of the feed database with the feed role's credentials."""
    return tenant_dsn(resolve_admin_url(settings), settings.db_prefix, "feed", settings.require_secret())


class Indexer:
    """One Jetstream subscription indexed into the feed database; ``run`` until ``stop``."""

    def __init__(self, settings: Settings, feed: FeedSettings) -> None:
        self.settings = settings
        self.feed = feed
        self.dsn = feed_dsn(settings)
        self.stats = Stats()
        self.tracker = Tracker(feed.feed_bloom_bits)
        self.stopping = asyncio.Event()
        self.stream: Stream | None = None
        self.writer: Writer | None = None

    def stop(self) -> None:
        """Ask ``run`` to finish the current writes and return."""
        self.stopping.set()

    async def run(self) -> None:
        """Index until stopped; a crashed task stops the whole indexer (supervisor restarts it)."""
        pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=3, command_timeout=60, server_settings={"application_name": APP_NAME}
        )
        push = PushSender(pool, self.feed, self.stats)
        writer = self.writer = Writer(
            self.dsn,
            channel_name(self.settings.db_prefix, "feed"),
            self.tracker,
            self.stats,
            frozenset(self.feed.feed_tags),
            self.feed.feed_queue_batches,
            push.offer,
        )
        async with pool.acquire() as conn:
            state = await self.stats.load(conn)
            await self.tracker.load(conn)
            cursor_us, endpoint = await self._resume_point(conn, state)
        stream = self.stream = Stream(
            self.feed, Relevance(self.tracker, self.feed.feed_tags), writer, self.stats, cursor_us, endpoint
        )
        jobs: list[Coroutine[Any, Any, None]] = [
            writer.run(),
            stream.ticker(),
            Backfiller(pool, writer, self.feed, self.stats).run(),
            self._poll_members(writer),
            self._purge_tombstones(writer),
        ]
        if self.feed.jetstream_url:
            jobs.append(stream.run())
        else:
            self.stats.idle_reason = "ONEBOX_JETSTREAM_URL is empty: nothing to read"
            log.info("ONEBOX_JETSTREAM_URL is empty: the indexer stays idle")
        if push.enabled:
            jobs.append(push.run())
        tasks = [asyncio.create_task(job) for job in jobs]
        stopper = asyncio.create_task(self.stopping.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper:
                    task.result()  # re-raise what ended it
                    raise RuntimeError(f"indexer task {task.get_name()} ended")
            await self._drain(tasks[0], tasks[1:])
            async with pool.acquire() as conn:
                await self.stats.stopped(conn)
        finally:
            for task in [*tasks, stopper]:
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
            await writer.close()
            await pool.close()

    async def _drain(self, writer_task: asyncio.Task[None], others: list[asyncio.Task[None]]) -> None:
        """Stop reading, write what was read, then stop writing."""
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        assert self.stream is not None and self.writer is not None
        await self.stream.flush()
        joined = asyncio.create_task(self.writer.queue.join())
        await asyncio.wait([joined, writer_task], return_when=asyncio.FIRST_COMPLETED)
        if writer_task.done():
            joined.cancel()
            writer_task.result()  # the writer failed on the last writes: raise why
        writer_task.cancel()

    async def _resume_point(self, conn: asyncpg.Connection, state: asyncpg.Record) -> tuple[int | None, str | None]:
        cursor_us, endpoint = state["cursor_us"], state["endpoint"]
        window_us = int(self.feed.jetstream_replay_hours * 3600 * 1_000_000)
        now_us = int(time.time() * 1_000_000)
        if cursor_us is not None and now_us - cursor_us > window_us:
            # Jetstream can't replay that far: fetch everything members follow again instead.
            queued = await queue_rebackfill(conn)
            log.warning("cursor is older than the replay window; re-backfilling %d accounts", queued)
            return now_us - window_us + 60_000_000, None
        return cursor_us, endpoint

    async def _poll_members(self, writer: Writer) -> None:
        while True:
            await writer.step(lambda conn: sync_members(conn, self.tracker))
            await asyncio.sleep(MEMBERS_POLL_S)

    async def _purge_tombstones(self, writer: Writer) -> None:
        # A copy older than a delete comes within Jetstream's replay window, or from a backfill
        # page written right after it was fetched: a day beyond the window is plenty.
        keep_hours = self.feed.jetstream_replay_hours + 24
        while True:
            await writer.step(lambda conn: tombstones.purge(conn, keep_hours))
            await asyncio.sleep(TOMBSTONE_PURGE_S)


def run_indexer(settings: Settings) -> None:
    """`onebox feed indexer`: consume Jetstream into the feed database until SIGTERM, then exit."""
    import uvloop

    from gateway.logs import configure

    configure(settings.log_format, settings.log_level)
    indexer = Indexer(settings, settings.load(FeedSettings))
    run_until_stopped(indexer.run, indexer.stop, uvloop.new_event_loop)
