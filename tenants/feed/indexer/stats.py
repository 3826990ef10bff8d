"""The indexer's counters and the ``indexer_state`` row they are written to with every batch."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import orjson
import psutil

STATE_NAME = "jetstream"

SAVE = """
UPDATE indexer_state SET
    cursor_us = COALESCE($2, cursor_us), endpoint = COALESCE($3, endpoint), heartbeat_at = now(),
    connected = $4, events_total = $5, kept_total = $6, skipped_total = $7, malformed_total = $8,
    malformed = $9::jsonb, events_per_s = $10, backfill_queue = $11, push_sent = $12, push_failed = $13,
    rss_bytes = $14, last_error = $15,
    last_error_at = CASE WHEN $15::text IS DISTINCT FROM last_error THEN now() ELSE last_error_at END,
    idle_reason = $16, push_dropped = $17
WHERE name = $1
"""


@dataclass
class Stats:
    """Counters shared by the indexer's tasks (one event loop, so no locks)."""

    events: int = 0
    kept: int = 0
    skipped: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    push_sent: int = 0
    push_failed: int = 0
    push_dropped: int = 0
    backfill_queue: int = 0
    connected: bool = False
    endpoint: str | None = None
    last_error: str | None = None
    idle_reason: str | None = None  # why the indexer reads nothing (health says "idle")
    events_per_s: float = 0.0
    _rate_mark: tuple[float, int] = (0.0, 0)

    def error(self, message: str) -> None:
        """Remember the latest error for health and metrics."""
        self.last_error = message[:500]

    def rate(self) -> float:
        """Events per second since the previous call (smoothed over calls at least 1 s apart)."""
        now = time.monotonic()
        then, count = self._rate_mark
        if then == 0.0:
            self._rate_mark = (now, self.events)
        elif now - then >= 1.0:
            self.events_per_s = (self.events - count) / (now - then)
            self._rate_mark = (now, self.events)
        return self.events_per_s

    async def load(self, conn: asyncpg.Connection) -> asyncpg.Record:
        """Create the state row if needed and continue its totals; returns the row."""
        await conn.execute("INSERT INTO indexer_state (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", STATE_NAME)
        row = await conn.fetchrow(
            "UPDATE indexer_state SET started_at = now(), stopped_at = NULL, heartbeat_at = now(), pid = $2 "
            "WHERE name = $1 RETURNING *",
            STATE_NAME,
            os.getpid(),
        )
        assert row is not None
        self.events, self.kept, self.skipped = row["events_total"], row["kept_total"], row["skipped_total"]
        self.malformed = Counter(orjson.loads(row["malformed"]))
        self.push_sent, self.push_failed, self.push_dropped = row["push_sent"], row["push_failed"], row["push_dropped"]
        return row

    async def save(self, conn: asyncpg.Connection, cursor_us: int | None, endpoint: str | None = None) -> None:
        """Write the cursor and the endpoint whose clock it is in (in the caller's transaction),
        together with the counters and heartbeat."""
        await conn.execute(
            SAVE,
            STATE_NAME,
            cursor_us,
            endpoint if cursor_us is not None else None,
            self.connected,
            self.events,
            self.kept,
            self.skipped,
            sum(self.malformed.values()),
            orjson.dumps(self.malformed).decode(),
            self.rate(),
            self.backfill_queue,
            self.push_sent,
            self.push_failed,
            psutil.Process().memory_info().rss,
            self.last_error,
            self.idle_reason,
            self.push_dropped,
        )

    async def stopped(self, conn: asyncpg.Connection) -> None:
        """Record a clean stop, so health tells "stopped" from "stuck", with the final counters."""
        self.connected = False
        await self.save(conn, None)  # counted since the last batch or heartbeat (pushes, say)
        await conn.execute("UPDATE indexer_state SET stopped_at = now(), connected = false WHERE name = $1", STATE_NAME)
