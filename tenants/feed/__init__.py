"""Feed: a community AppView on Bluesky, filled by the Jetstream indexer (see README.md here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.tenant import Tenant
from tenants.feed.indexer import run_indexer

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from shared.tenant import TenantContext

HERE = Path(__file__).parent

# The API (tenants.feed.app) is imported on first use, so the indexer process never loads it.


def build_routes(ctx: TenantContext) -> list[BaseRoute]:
    """The feed's REST, XRPC, WebSocket and health routes; `/feed/health` itself comes from ``health``."""
    from tenants.feed import app

    return app.build_routes(ctx)


def attach_socketio(ctx: TenantContext, sio: Any) -> None:
    """The ``/feed`` Socket.IO namespace."""
    from tenants.feed import app

    app.socketio(ctx, sio)


@asynccontextmanager
async def run_live(ctx: TenantContext) -> AsyncIterator[None]:
    """Live relay, indexer gauges and client shutdown."""
    from tenants.feed import app

    async with app.lifespan(ctx):
        yield


async def check_health(ctx: TenantContext) -> dict[str, Any]:
    """Indexer lag and heartbeat, live connections, push delivery."""
    from tenants.feed import app

    return await app.health(ctx)


tenant = Tenant(
    name="feed",
    routes=build_routes,
    migrations=HERE / "migrations",
    health=check_health,
    socketio=attach_socketio,
    lifespan=run_live,
    workers={"indexer": run_indexer},
    description="Community AppView on Bluesky: community, local and following timelines.",
    # Nearly every read and write goes through ctx.db.raw(); SQLAlchemy serves sign-in and health.
    raw_share=0.6,
    # Five raw connections instead of three: with three, pages queued for a connection while
    # PostgreSQL still had a core to spare (bench/feed_timeline.py, 50 clients: 2,060-2,360 ->
    # 2,390-2,560 pages/s, p95 31-36 -> 26 ms). Seven measured the same; ten contended for the two
    # cores (1,470 pages/s).
    pool_size=8,
)
