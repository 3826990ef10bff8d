"""Gauges of a worker process (indexer, bot) in the gateway's /metrics, from what it writes to the database.

Workers are other processes: they write a state row with every heartbeat, the tenant's health reads
it. A scrape must not wait on the database, so a background task re-reads the health every few
seconds, and the collector serves the last reading kept in ``ctx.state[key]`` (which a health
request refreshes too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from shared.tenant import TenantContext

log = logging.getLogger("onebox.metrics")

REFRESH_S = 10.0


class LastReading(Collector):
    """Yields ``render(reading)`` for the last reading in ``ctx.state[key]`` (nothing before the first)."""

    def __init__(self, ctx: TenantContext, key: str, render: Callable[[Any], Iterator[Metric]]) -> None:
        self.ctx = ctx
        self.key = key
        self.render = render

    def collect(self) -> Iterator[Metric]:
        reading = self.ctx.state.get(self.key)
        if reading is not None:
            yield from self.render(reading)


@asynccontextmanager
async def worker_gauges(
    ctx: TenantContext, key: str, read: Callable[[], Awaitable[Any]], render: Callable[[Any], Iterator[Metric]]
) -> AsyncIterator[None]:
    """Register a collector of ``render(reading)`` in the tenant's registry while the app runs.

    ``read`` is called every ``REFRESH_S`` and must store its reading in ``ctx.state[key]``.
    """
    collector = LastReading(ctx, key, render)
    ctx.metrics.register(collector)

    async def refresh() -> None:
        while True:
            try:
                await read()
            except Exception as exc:  # the database may be down; the next round retries
                log.debug("%s worker reading failed: %r", ctx.name, exc)
            await asyncio.sleep(REFRESH_S)

    task = asyncio.create_task(refresh(), name=f"{ctx.name}:worker-gauges")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ctx.metrics.unregister(collector)
