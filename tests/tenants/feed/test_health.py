"""The gateway reports the indexer (another process) from its state row: /feed/health and /metrics."""

from __future__ import annotations

import asyncpg
import httpx

from tests.fakes.firehose import Firehose
from tests.fakes.jetstream import FakeJetstream
from tests.support.waiting import wait_for
from tests.tenants.feed.conftest import IndexerFactory, settled, start_at


async def test_health_and_metrics_follow_the_indexer(
    db: asyncpg.Connection,
    jetstream: FakeJetstream,
    hose: Firehose,
    indexer: IndexerFactory,
    client: httpx.AsyncClient,
) -> None:
    await start_at(db, hose.time_us)
    events = [hose.post(f"did:plc:a{i}", "#cannabis is legal here") for i in range(20)]
    try:
        async with indexer():
            jetstream.publish(events)
            await wait_for(lambda: settled(db, events[-1]["time_us"]), timeout=20)
            response = await client.get("/feed/health")
            assert response.status_code == 200
            doc = response.json()["indexer"]
            assert doc["state"] == "running" and doc["connected"] is True
            assert doc["events_total"] == 20 and doc["kept_total"] == 20
            assert 500 < doc["lag_s"] < 700  # the events are stamped ten minutes ago
            metrics = (await client.get("/metrics")).text
            assert 'onebox_feed_indexer_up{tenant="feed"} 1.0' in metrics
            assert 'onebox_feed_indexer_events_total{tenant="feed"} 20.0' in metrics
            assert "onebox_feed_indexer_lag_seconds" in metrics
        stopped = (await client.get("/feed/health")).json()["indexer"]
        assert stopped["state"] == "stopped"
        # A process that died without stopping leaves a heartbeat that goes stale: 503.
        await db.execute("UPDATE indexer_state SET stopped_at = NULL, heartbeat_at = now() - interval '1 minute'")
        stalled = await client.get("/feed/health")
        assert stalled.status_code == 503 and stalled.json()["indexer"]["state"] == "stalled"
    finally:
        await db.execute("DELETE FROM indexer_state")


async def test_an_indexer_without_jetstream_says_it_is_idle(
    db: asyncpg.Connection, indexer: IndexerFactory, client: httpx.AsyncClient
) -> None:
    try:
        async with indexer(jetstream_url=[]):
            doc = await wait_for(lambda: _indexer_doc(client, "idle"), timeout=20)
            assert "ONEBOX_JETSTREAM_URL" in doc["idle_reason"] and doc["connected"] is False
            assert (await client.get("/feed/health")).status_code == 200
            assert 'onebox_feed_indexer_up{tenant="feed"} 1.0' in (await client.get("/metrics")).text
    finally:
        await db.execute("DELETE FROM indexer_state")


async def _indexer_doc(client: httpx.AsyncClient, state: str) -> dict[str, object] | None:
    doc: dict[str, object] = (await client.get("/feed/health")).json()["indexer"]
    return doc if doc["state"] == state else None
