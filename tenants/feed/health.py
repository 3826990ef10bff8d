"""The indexer as the gateway sees it: health from its ``indexer_state`` row, and Prometheus gauges.

The indexer is another process, so it writes its cursor, counters and heartbeat to the
database with every batch; the gateway reads that row here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import text

from shared.tenant import TenantContext
from shared.worker_metrics import worker_gauges

READING = "indexer_health"  # the last reading, for the gauges
STALE_S = 30.0  # a running indexer writes a heartbeat at least every 2 s

STATE_SQL = text(
    """
    SELECT cursor_us, endpoint, connected, started_at, stopped_at, pid, events_total, kept_total,
           skipped_total, malformed_total, malformed, events_per_s, backfill_queue, push_sent, push_failed,
           push_dropped, rss_bytes, last_error, last_error_at, idle_reason,
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
    doc = ctx.state[READING] = describe(row)
    return {"indexer": doc, "ok": doc["state"] != "stalled"}


def indexer_metrics(tenant: str, doc: dict[str, Any]) -> Iterator[Metric]:
    """Gauges and counters of one health reading."""
    labels = ["tenant"]
    up = GaugeMetricFamily("onebox_feed_indexer_up", "1 while the indexer heartbeats", labels=labels)
    up.add_metric([tenant], 1.0 if doc["state"] in ("running", "idle") else 0.0)
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
            gauge.add_metric([tenant], float(doc[key]))
            yield gauge
    counters = {
        "events_total": ("onebox_feed_indexer_events", "Jetstream events read"),
        "kept_total": ("onebox_feed_indexer_kept", "Events kept"),
        "skipped_total": ("onebox_feed_indexer_skipped", "Events not relevant to the feed"),
        "malformed_total": ("onebox_feed_indexer_malformed", "Malformed events skipped"),
        "push_sent": ("onebox_feed_indexer_push_sent", "Web push messages delivered"),
        "push_failed": ("onebox_feed_indexer_push_failed", "Web push messages refused or failed"),
        "push_dropped": ("onebox_feed_indexer_push_dropped", "Web push notices dropped, the queue being full"),
    }
    for key, (name, doc_text) in counters.items():
        counter = CounterMetricFamily(name, doc_text, labels=labels)
        counter.add_metric([tenant], float(doc.get(key) or 0))
        yield counter


def gauges(ctx: TenantContext) -> AbstractAsyncContextManager[None]:
    """The indexer's gauges in the gateway's /metrics while the app runs."""

    return worker_gauges(ctx, READING, lambda: health(ctx), lambda doc: indexer_metrics(ctx.name, doc))
