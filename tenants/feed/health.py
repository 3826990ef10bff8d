"""The indexer as the gateway sees it: health from its ``indexer_state`` row, and Prometheus gauges.

The indexer is another process, so it writes its cursor, counters and heartbeat to the
database with every batch; the gateway reads that row here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from shared.tenant import TenantContext

log = logging.getLogger("onebox.feed.health")

STALE_S = 30.0  # a running indexer writes a heartbeat at least every 2 s
REFRESH_S = 10.0
CACHE_KEY = "indexer_health"

STATE_SQL = text(
    """
    SELECT cursor_us, endpoint, connected, started_at, stopped_at, pid, events_total, kept_total,
           skipped_total, malformed_total, malformed, events_per_s, backfill_queue, push_sent, push_failed,
           rss_bytes, last_error, last_error_at, idle_reason,
           extract(epoch FROM now() - heartbeat_at)::float8 AS heartbeat_age_s,
           (extract(epoch FROM now()) * 1000000 - cursor_us)::float8 AS lag_us
    FROM indexer_state WHERE name = 'jetstream'
    """
)


def describe(row: Any) -> dict[str, Any]:
    """The indexer's health document from its state row (None: it never ran)."""
    if row is None:
        return {"state": "never_started"}
    if row["stopped_at"] is not None:
        state = "stopped"
    elif row["heartbeat_age_s"] is not None and row["heartbeat_age_s"] > STALE_S:
        state = "stalled"
    elif row["idle_reason"]:
        state = "idle"
    else:
        state = "running"
    doc = {key: row[key] for key in row if key not in ("lag_us", "heartbeat_age_s")}
    doc["state"] = state
    doc["lag_s"] = round(row["lag_us"] / 1_000_000, 3) if row["lag_us"] is not None else None
    doc["heartbeat_age_s"] = round(float(row["heartbeat_age_s"]), 3) if row["heartbeat_age_s"] is not None else None
    return doc


async def health(ctx: TenantContext) -> dict[str, Any]:
    """``/feed/health`` facts: the indexer's lag, rates, counts and last error; 503 when stalled."""
    async with ctx.db.connect() as conn:
        row = (await conn.execute(STATE_SQL)).mappings().first()
    doc = describe(row)
    ctx.state[CACHE_KEY] = (time.monotonic(), doc)
    return {"indexer": doc, "ok": doc["state"] != "stalled"}


class IndexerCollector(Collector):
    """Gauges from the last health reading (refreshed in the background; scrapes never block)."""

    def __init__(self, ctx: TenantContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        cached = self.ctx.state.get(CACHE_KEY)
        if cached is None:
            return
        _, doc = cached
        labels = ["tenant"]
        up = GaugeMetricFamily("onebox_feed_indexer_up", "1 while the indexer heartbeats", labels=labels)
        up.add_metric([self.ctx.name], 1.0 if doc["state"] in ("running", "idle") else 0.0)
        yield up
        if doc["state"] == "never_started":
            return
        gauges = {
            "lag_s": ("onebox_feed_indexer_lag_seconds", "Now minus the time_us of the last written event"),
            "events_per_s": ("onebox_feed_indexer_events_per_second", "Jetstream events read per second"),
            "backfill_queue": ("onebox_feed_indexer_backfill_queue", "Backfill jobs pending or running"),
            "rss_bytes": ("onebox_feed_indexer_rss_bytes", "Resident memory of the indexer process"),
            "heartbeat_age_s": ("onebox_feed_indexer_heartbeat_age_seconds", "Seconds since the last heartbeat"),
        }
        for key, (name, doc_text) in gauges.items():
            if doc.get(key) is not None:
                gauge = GaugeMetricFamily(name, doc_text, labels=labels)
                gauge.add_metric([self.ctx.name], float(doc[key]))
                yield gauge
        counters = {
            "events_total": ("onebox_feed_indexer_events", "Jetstream events read"),
            "kept_total": ("onebox_feed_indexer_kept", "Events kept"),
            "skipped_total": ("onebox_feed_indexer_skipped", "Events not relevant to the feed"),
            "malformed_total": ("onebox_feed_indexer_malformed", "Malformed events skipped"),
            "push_sent": ("onebox_feed_indexer_push_sent", "Web push messages delivered"),
            "push_failed": ("onebox_feed_indexer_push_failed", "Web push messages refused or failed"),
        }
        for key, (name, doc_text) in counters.items():
            counter = CounterMetricFamily(name, doc_text, labels=labels)
            counter.add_metric([self.ctx.name], float(doc.get(key) or 0))
            yield counter


@asynccontextmanager
async def lifespan(ctx: TenantContext) -> AsyncIterator[None]:
    """Register the collector and keep its reading fresh while the app runs."""
    collector = IndexerCollector(ctx)
    ctx.metrics.register(collector)

    async def refresh() -> None:
        while True:
            try:
                await health(ctx)
            except Exception as exc:  # the database may be down; the next round retries
                log.debug("indexer health refresh failed: %r", exc)
            await asyncio.sleep(REFRESH_S)

    task = asyncio.create_task(refresh(), name="feed:indexer-health")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ctx.metrics.unregister(collector)
