"""The Jetstream reader: one WebSocket at a time, failing over between endpoints, batching kept ops.

Resuming: each instance stamps ``time_us`` with its own clock, so on reconnecting the reader
asks for a few seconds before its last event. On the same endpoint it then skips what it has
already read (the stream is ordered by ``time_us``), which makes the replay exact; on another
endpoint it re-applies the overlap, which the idempotent writes absorb.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import connect

from tenants.feed.indexer.events import Op, decode
from tenants.feed.indexer.records import COLLECTIONS, Malformed
from tenants.feed.indexer.relevance import Relevance
from tenants.feed.indexer.stats import Stats
from tenants.feed.indexer.writer import Batch, Writer
from tenants.feed.settings import FeedSettings

log = logging.getLogger("onebox.feed.stream")

HEARTBEAT_S = 2.0
# A waiting second record of the same pair will take the deleted follow's place: it still counts.
UNFOLLOWED = """
SELECT f.subject_did,
       (SELECT count(*) FROM follows g JOIN members m ON m.did = g.author_did
        WHERE g.subject_did = f.subject_did AND g.uri <> f.uri)
       + (SELECT count(*) FROM record_duplicates d
          WHERE d.collection = 'follows' AND d.author_did = f.author_did AND d.subject = f.subject_did) AS remaining
FROM follows f WHERE f.uri = $1
"""


class Stream:
    """Reads events, decides what to keep, and hands batches to the writer in order."""

    def __init__(
        self,
        feed: FeedSettings,
        relevance: Relevance,
        writer: Writer,
        stats: Stats,
        cursor_us: int | None,
        cursor_endpoint: str | None,
    ) -> None:
        self.feed = feed
        self.relevance = relevance
        self.writer = writer
        self.stats = stats
        self.last_us = cursor_us
        # The endpoint whose clock last_us is in; it changes with the first event another one sends.
        self.cursor_endpoint = cursor_endpoint
        self.reading = cursor_endpoint
        self.batch = Batch(cursor_us, cursor_endpoint)
        self.flushed_us = cursor_us
        self.batch_started = time.monotonic()
        self.last_flush = time.monotonic()
        self._flush_lock = asyncio.Lock()

    def subscribe_url(self, endpoint: str) -> tuple[str, int]:
        """The URL to open on ``endpoint`` and the ``time_us`` below which events were already read."""
        params = [("wantedCollections", collection) for collection in COLLECTIONS]
        # Jetstream drops bigger events for us, so one can never wedge the connection.
        params.append(("maxMessageSizeBytes", str(self.feed.feed_max_frame_bytes)))
        skip_below = 0
        if self.last_us is not None:
            params.append(("cursor", str(self.last_us - int(self.feed.jetstream_rewind_s * 1_000_000))))
            if endpoint == self.cursor_endpoint:
                skip_below = self.last_us
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(params)}", skip_below

    async def run(self) -> None:
        """Read forever, reconnecting with backoff to the next endpoint after any failure.

        Memory is bounded by ``max_queue`` frames of at most ``max_size`` bytes each.
        """
        endpoints = self.feed.jetstream_url
        index = endpoints.index(self.cursor_endpoint) if self.cursor_endpoint in endpoints else 0
        delay = 0.5
        while True:
            endpoint = endpoints[index]
            url, skip_below = self.subscribe_url(endpoint)
            read_before = self.stats.events
            try:
                async with connect(
                    url, max_size=4 * self.feed.feed_max_frame_bytes, max_queue=64, open_timeout=10,
                    ping_timeout=30, close_timeout=2, compression=None,
                ) as ws:  # fmt: skip
                    log.info("connected to %s", endpoint)
                    self.stats.connected, self.stats.endpoint = True, endpoint
                    self.reading = endpoint
                    async for frame in ws:
                        await self.handle(frame, skip_below)
                raise ConnectionError("server closed the stream")
            except (OSError, TimeoutError, websockets.WebSocketException, ConnectionError) as exc:
                self.stats.error(f"jetstream {endpoint}: {exc!r}")
                log.warning("jetstream %s: %r", endpoint, exc)
            finally:
                self.stats.connected = False
            if self.stats.events > read_before:
                delay = 0.5
            index = (index + 1) % len(endpoints)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 30.0)

    async def handle(self, frame: str | bytes, skip_below: int = 0) -> None:
        """Decide one frame's fate and add it to the current batch."""
        stats = self.stats
        stats.events += 1
        try:
            op = decode(frame, self.feed.feed_max_frame_bytes)
        except Malformed as exc:
            stats.malformed[str(exc)] += 1
            return
        if op.time_us < skip_below:
            return
        unfollow = self.relevance.is_member_unfollow(op)
        if unfollow:
            # Before the cursor moves past it: the batch written first must not claim this event.
            await self._member_unfollow(op)
        self.last_us = self.batch.cursor_us = op.time_us
        self.cursor_endpoint = self.batch.endpoint = self.reading
        if unfollow or self.relevance.keep(op):
            stats.kept += 1
            self.batch.ops.append(op)
        else:
            stats.skipped += 1
        if len(self.batch.ops) >= self.feed.feed_batch_ops:
            await self.flush()

    async def _member_unfollow(self, op: Op) -> None:
        # Whom the member unfollowed is only in the database: write what came before, then ask.
        await self.flush()
        tracker = self.relevance.tracker
        row = await self.writer.step(lambda conn: conn.fetchrow(UNFOLLOWED, op.uri))
        if row is not None:
            tracker.set_followers(row["subject_did"], row["remaining"])
        else:
            # Unfollowed through onebox: the gateway deleted the row already, and with it whom.
            # Counting again errs, if at all, towards keeping an account's posts a while longer.
            await self.writer.step(tracker.recount_followed)

    async def flush(self) -> None:
        """Hand the current batch to the writer (waits while the writer's queue is full).

        The batch is replaced only once the queue took it: a stop that cancels the wait leaves it
        here for the final flush, instead of dropping it while a later cursor gets saved.
        """
        async with self._flush_lock:
            await self.writer.queue.put(self.batch)
            self.flushed_us = self.batch.cursor_us
            self.batch = Batch(self.last_us, self.cursor_endpoint)
            self.batch_started = self.last_flush = time.monotonic()

    async def ticker(self) -> None:
        """Flush batches that waited long enough, and write a heartbeat when idle."""
        period = self.feed.feed_batch_ms / 1000
        while True:
            await asyncio.sleep(min(period, 0.1))
            now = time.monotonic()
            pending = bool(self.batch.ops) or self.batch.cursor_us != self.flushed_us
            due = (pending and now - self.batch_started >= period) or now - self.last_flush >= HEARTBEAT_S
            # A full queue means the writer is busy; the reader's own flushes carry the batch then.
            if due and not self.writer.queue.full():
                await self.flush()
