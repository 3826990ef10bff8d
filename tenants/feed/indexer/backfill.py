"""Backfill: fetch an account's records from its own PDS, page by page, through the writer.

A job's place (collection, page cursor) is saved in the transaction that writes the page, so a
restart resumes at the next page. Failures retry with backoff; jobs run with bounded concurrency.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time

import asyncpg
import httpx

from shared.http.addresses import public_only_transport
from shared.waits import wait_until_set
from tenants.feed.indexer.atproto import Permanent, Transient, list_records, resolve, verified_handle
from tenants.feed.indexer.events import Op, from_listed_record
from tenants.feed.indexer.processors.base import FOLLOWEE_COLLECTIONS, MEMBER_COLLECTIONS
from tenants.feed.indexer.records import Malformed
from tenants.feed.indexer.stats import Stats
from tenants.feed.indexer.writer import Page, Writer
from tenants.feed.settings import FeedSettings, network_trusted

log = logging.getLogger("onebox.feed.backfill")

POLL_S = 0.5

# A job queued again while its task still runs waits for that task to notice and stop.
CLAIM = """
UPDATE backfill_jobs SET state = 'running', updated_at = now()
WHERE did IN (
    SELECT did FROM backfill_jobs WHERE state = 'pending' AND next_attempt_at <= now() AND did <> ALL($2::text[])
    ORDER BY next_attempt_at LIMIT $1
)
RETURNING did, collections, collection_index, page_cursor, attempts, generation
"""

FAILED = """
UPDATE backfill_jobs SET attempts = attempts + 1, last_error = $2, updated_at = now(),
    state = CASE WHEN $3 OR attempts + 1 >= $4 THEN 'failed' ELSE 'pending' END,
    next_attempt_at = now() + make_interval(secs => least(5 * power(2, attempts), 3600))
WHERE did = $1 AND generation = $5
"""


class Backfiller:
    """Claims pending jobs and runs up to ``feed_backfill_concurrency`` of them at once."""

    def __init__(self, pool: asyncpg.Pool, writer: Writer, feed: FeedSettings, stats: Stats) -> None:
        self.pool = pool
        self.writer = writer
        self.feed = feed
        self.stats = stats
        self.running: dict[str, asyncio.Task[None]] = {}  # by DID
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Claim and start jobs forever; jobs left running by a crash are resumed first."""
        await self.pool.execute("UPDATE backfill_jobs SET state = 'pending' WHERE state = 'running'")
        timeout = httpx.Timeout(self.feed.feed_http_timeout)
        # A followed account's DID document names its PDS: each connection (redirects too) is vetted.
        transport = public_only_transport(network_trusted(self.feed))
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True, transport=transport) as http:
            try:
                while True:
                    free = self.feed.feed_backfill_concurrency - len(self.running)
                    if free > 0:
                        for job in await self.pool.fetch(CLAIM, free, list(self.running)):
                            did = job["did"]
                            task = asyncio.create_task(self._job(http, job), name=f"backfill:{did}")
                            self.running[did] = task
                            task.add_done_callback(functools.partial(self._finished, did))
                    self.stats.backfill_queue = await self.pool.fetchval(
                        "SELECT count(*) FROM backfill_jobs WHERE state IN ('pending', 'running')"
                    )
                    # A finished job frees a slot at once; new jobs are noticed by polling.
                    await wait_until_set(self.wake, POLL_S)
                    self.wake.clear()
            finally:
                for task in self.running.values():
                    task.cancel()
                await asyncio.gather(*self.running.values(), return_exceptions=True)

    def _finished(self, did: str, _task: asyncio.Task[None]) -> None:
        self.running.pop(did, None)
        self.wake.set()

    async def _job(self, http: httpx.AsyncClient, job: asyncpg.Record) -> None:
        did = job["did"]
        try:
            await self._fetch(http, job)
        except (Permanent, Transient) as exc:
            permanent = isinstance(exc, Permanent)
            log.warning("backfill of %s failed (%s): %s", did, "permanent" if permanent else "will retry", exc)
            self.stats.error(f"backfill {did}: {exc}")
            await self.pool.execute(
                FAILED, did, str(exc)[:500], permanent, self.feed.feed_backfill_attempts, job["generation"]
            )

    async def _fetch(self, http: httpx.AsyncClient, job: asyncpg.Record) -> None:
        did, collections = job["did"], list(job["collections"])
        attempts = self.feed.feed_backfill_attempts
        resolved_us = int(time.time() * 1_000_000)
        pds, claimed = await resolve(http, self.feed.plc_url, did, attempts)
        handle = await verified_handle(http, self.feed.feed_handle_resolver, did, claimed)
        cursor: str | None = job["page_cursor"]
        index = job["collection_index"]
        # Who the account is goes in first, in a page of no records: even if listing fails.
        first = Page(did, [], index, cursor, finished=index >= len(collections), profile=(handle, pds),
                     resolved_us=resolved_us, generation=job["generation"])  # fmt: skip
        if not await self._write(first):
            return
        while index < len(collections):
            fetched_us = int(time.time() * 1_000_000)
            records, next_cursor = await list_records(
                http, pds, did, collections[index], cursor, self.feed.feed_backfill_page, attempts
            )
            ops = self._ops(did, collections[index], records, fetched_us)
            if next_cursor is None:
                index, cursor = index + 1, None
            else:
                cursor = next_cursor
            page = Page(did, ops, index, cursor, finished=index >= len(collections), generation=job["generation"])
            if not await self._write(page):
                return

    async def _write(self, page: Page) -> bool:
        """Hand ``page`` to the writer; False when the job was queued again (this task must stop)."""
        await self.writer.queue.put(page)
        if await page.done:
            return True
        log.info("backfill of %s was queued again; its new task takes over", page.did)
        return False

    def _ops(self, did: str, collection: str, records: list[object], fetched_us: int) -> list[Op]:
        ops: list[Op] = []
        # time_us of a backfilled record is when its page was fetched: it is no newer than that.
        for item in records:
            try:
                ops.append(from_listed_record(did, collection, item, fetched_us))
            except Malformed as exc:
                self.stats.malformed[f"backfill_{exc}"] += 1
        return ops


async def queue_rebackfill(conn: asyncpg.Connection) -> int:
    """After downtime longer than Jetstream's replay window: re-fetch members and all they follow."""
    await conn.execute(
        "INSERT INTO backfill_jobs (did, reason, collections) "
        "SELECT did, 'member', $1::text[] FROM members "
        "ON CONFLICT (did) DO UPDATE SET reason = 'member', collections = EXCLUDED.collections, "
        "state = 'pending', collection_index = 0, page_cursor = NULL, attempts = 0, next_attempt_at = now(), "
        "generation = backfill_jobs.generation + 1",
        MEMBER_COLLECTIONS,
    )
    queued = await conn.fetchval(
        "WITH q AS (INSERT INTO backfill_jobs (did, reason, collections) "
        "SELECT DISTINCT f.subject_did, 'follow', $1::text[] FROM follows f JOIN members m ON m.did = f.author_did "
        "ON CONFLICT (did) DO UPDATE SET reason = 'follow', collections = EXCLUDED.collections, "
        "state = 'pending', collection_index = 0, page_cursor = NULL, attempts = 0, next_attempt_at = now(), "
        "generation = backfill_jobs.generation + 1 "
        "WHERE backfill_jobs.reason <> 'member' RETURNING 1) SELECT count(*) FROM q",
        FOLLOWEE_COLLECTIONS,
    )
    return int(queued)
