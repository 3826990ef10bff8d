"""The single writer: every change reaches PostgreSQL through one connection, in order.

Stream batches, backfill pages and control steps share one bounded queue, so there is one
order of writes (no races between a live copy and a backfilled copy of a record) and memory
stays bounded. A batch commits together with its cursor; a page together with its job's place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from tenants.feed.indexer.apply import apply_ops, publish
from tenants.feed.indexer.events import Op
from tenants.feed.indexer.processors.base import Effects, Notice, instant
from tenants.feed.indexer.records import FOLLOW, Graph
from tenants.feed.indexer.stats import Stats
from tenants.feed.indexer.tracker import Tracker

log = logging.getLogger("onebox.feed.writer")

# How the indexer's connections show in pg_stat_activity and `onebox doctor`.
APP_NAME = "onebox-indexer:feed"

CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)
# SQLSTATEs that say "not now" rather than "not this data": the batch is tried again, whole.
# 40: serialization failure, deadlock; 53: out of resources; 55P03: lock not available;
# 57014: statement cancelled (a timeout); 57P: the server is shutting down or restarting.
TRANSIENT_CLASSES = ("40", "53", "57P")
TRANSIENT_STATES = frozenset({"55P03", "57014"})


def is_transient(exc: asyncpg.PostgresError) -> bool:
    """Whether the database refused for a passing reason, so the same write may succeed later."""
    state = str(getattr(exc, "sqlstate", "") or "")
    return state in TRANSIENT_STATES or state.startswith(TRANSIENT_CLASSES)


@dataclass
class Batch:
    """Ops kept from a run of stream events, the ``time_us`` of the last event read, and the
    endpoint that sent it (each Jetstream stamps events with its own clock)."""

    cursor_us: int | None
    endpoint: str | None = None
    ops: list[Op] = field(default_factory=list)


@dataclass
class Page:
    """One ``listRecords`` page of a backfill job and where the job continues after it."""

    did: str
    ops: list[Op]
    collection_index: int
    page_cursor: str | None
    finished: bool
    profile: tuple[str | None, str | None] = (None, None)  # (handle, PDS URL) from the DID document
    resolved_us: int = 0  # when that was read: a handle written live since then is newer
    generation: int = 0  # of the job the page's task claimed
    # True when saved; False when the job was queued again meanwhile (its task must stop).
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class Step:
    """A control step run on the writer's connection between two writes (e.g. a tracker reload)."""

    run: Callable[[asyncpg.Connection], Awaitable[Any]]
    done: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


Item = Batch | Page | Step

# The verified handle ($2) and PDS ($3) a job read at $4, unless a handle was written since.
# (All parts of one statement see the same snapshot: "before" is the handle until now.)
PAGE_PROFILE = """
WITH before AS (SELECT handle, $2::text IS NOT NULL AND (handle_at IS NULL OR handle_at < $4) AS fresh
                FROM profiles WHERE did = $1),
updated AS (
    UPDATE profiles p SET pds_url = COALESCE($3, p.pds_url),
        handle = CASE WHEN b.fresh THEN $2 ELSE p.handle END,
        handle_at = CASE WHEN b.fresh THEN $4 ELSE p.handle_at END
    FROM before b WHERE p.did = $1 RETURNING p.handle
),
member AS (
    UPDATE members m SET handle = $2 FROM before b WHERE m.did = $1 AND b.fresh AND m.handle IS DISTINCT FROM $2
)
SELECT u.handle FROM updated u, before b WHERE u.handle IS DISTINCT FROM b.handle
"""

SAVE_JOB = """
UPDATE backfill_jobs SET collection_index = $2, page_cursor = $3, records = records + $4,
    state = CASE WHEN $5 THEN 'done' ELSE state END, attempts = 0, last_error = NULL, updated_at = now()
WHERE did = $1 AND generation = $6
RETURNING true
"""


class Writer:
    """Owns the write connection; retries a failed write until it lands."""

    def __init__(
        self,
        dsn: str,
        channel: str,
        tracker: Tracker,
        stats: Stats,
        community: frozenset[str],
        queue_size: int,
        on_notice: Callable[[Notice], None],
    ) -> None:
        self.dsn = dsn
        self.channel = channel
        self.tracker = tracker
        self.stats = stats
        self.community = community
        self.queue: asyncio.Queue[Item] = asyncio.Queue(queue_size)
        self.on_notice = on_notice
        self.conn: asyncpg.Connection | None = None

    async def connect(self) -> asyncpg.Connection:
        """The write connection, (re)opened on demand."""
        if self.conn is None or self.conn.is_closed():
            self.conn = await asyncpg.connect(
                self.dsn, timeout=10, command_timeout=120, server_settings={"application_name": APP_NAME}
            )
        return self.conn

    async def step(self, run: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        """Run ``run(conn)`` after everything queued so far has been written; returns its result."""
        item = Step(run)
        await self.queue.put(item)
        return await item.done

    async def run(self) -> None:
        """Write queued items forever."""
        while True:
            item = await self.queue.get()
            try:
                result = await self._with_retry(item)
            except Exception as exc:
                # A step's own failure goes back to its caller; anything else is a bug that
                # must stop the process (supervisor restarts it and it resumes from the cursor).
                if not isinstance(item, Step):
                    raise
                if not item.done.done():
                    item.done.set_exception(exc)
            else:
                # The waiter may have been cancelled (shutdown); its future is then done already.
                if isinstance(item, Page | Step) and not item.done.done():
                    item.done.set_result(result)
            finally:
                self.queue.task_done()

    async def close(self) -> None:
        """Close the connection."""
        if self.conn is not None:
            await self.conn.close()

    async def _with_retry(self, item: Item) -> Any:
        if isinstance(item, Page):
            self._track_member_follows(item.ops)
        delay = 0.2
        isolate = False  # after a refusal of the data: one op per transaction, skipping bad ones
        while True:
            try:
                conn = await self.connect()
                if isinstance(item, Step):
                    return await item.run(conn)
                if isolate:
                    return await self._isolated(conn, item)
                if isinstance(item, Page):
                    return await self._page(conn, item)
                return await self._batch(conn, item)
            except CONNECTION_ERRORS as exc:
                self.stats.error(f"database: {exc!r}")
                log.warning("write failed (%r); retrying in %.1fs", exc, delay)
                self.conn = None
            except asyncpg.PostgresError as exc:
                if isinstance(item, Step):
                    raise
                self.stats.error(f"database: {exc!r}")
                if is_transient(exc):
                    log.warning("write refused for now (%r); retrying in %.1fs", exc, delay)
                elif isolate:
                    raise  # _isolated skips what the database refuses: this is something else
                else:
                    log.exception("write rejected; applying its ops one by one")
                    isolate = True
                    continue
            except Exception:
                # Not the database's answer (a value asyncpg can't carry, say): find the op.
                if isinstance(item, Step) or isolate:
                    raise
                log.exception("write failed; applying its ops one by one")
                isolate = True
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _track_member_follows(self, ops: list[Op]) -> None:
        """A member's backfilled follows make their subjects tracked (and backfilled in turn)."""
        for op in ops:
            if op.collection == FOLLOW and isinstance(op.record, Graph) and op.did in self.tracker.members:
                op.newly_tracked = self.tracker.follow(op.record.did)

    async def _batch(self, conn: asyncpg.Connection, batch: Batch) -> None:
        fx = Effects(live=True)
        async with conn.transaction():
            await apply_ops(conn, batch.ops, fx, self.community)
            await publish(conn, self.channel, fx)
            await self.stats.save(conn, batch.cursor_us, batch.endpoint)
        for notice in fx.notices:
            self.on_notice(notice)

    async def _page(self, conn: asyncpg.Connection, page: Page) -> bool:
        fx = Effects(live=False)
        handle, pds = page.profile
        async with conn.transaction():
            if handle or pds:
                renamed = await conn.fetchval(PAGE_PROFILE, page.did, handle, pds, instant(page.resolved_us))
                if renamed is not None:  # news, unlike the history the page brings
                    news = Effects(live=True)
                    news.emit("profile_updated", f"user:{page.did}", {"did": page.did, "handle": renamed})
                    await publish(conn, self.channel, news)
            await apply_ops(conn, page.ops, fx, self.community)
            saved = await conn.fetchval(
                SAVE_JOB,
                page.did, page.collection_index, page.page_cursor, len(page.ops), page.finished, page.generation,
            )  # fmt: skip
        return bool(saved)

    async def _isolated(self, conn: asyncpg.Connection, item: Batch | Page) -> bool | None:
        """Apply one op per transaction, skipping (and counting) any that can never be written.

        A connection loss or a transient refusal is raised: the caller retries, and ops already
        applied are applied again, which the idempotent writes absorb.
        """
        for op in item.ops:
            try:
                fx = Effects(live=isinstance(item, Batch))
                async with conn.transaction():
                    await apply_ops(conn, [op], fx, self.community)
                    await publish(conn, self.channel, fx)
            except CONNECTION_ERRORS:
                raise
            except asyncpg.PostgresError as exc:
                if is_transient(exc):
                    raise
                self.stats.malformed["rejected_by_database"] += 1
                log.warning("skipped %s: %r", op.uri, exc)
            except Exception:
                self.stats.malformed["rejected_by_writer"] += 1
                log.exception("skipped %s", op.uri)
        item.ops = []
        if isinstance(item, Batch):
            await self._batch(conn, item)
            return None
        return await self._page(conn, item)
