"""Feed: a community AppView on Bluesky, filled by the Jetstream indexer (see README.md here)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute

from shared.tenant import Tenant, TenantContext
from tenants.feed.health import health, lifespan
from tenants.feed.indexer import run_indexer

HERE = Path(__file__).parent


def build_routes(_ctx: TenantContext) -> list[BaseRoute]:
    """The feed's HTTP API (issue 6); `/feed/health` is added by the gateway from ``health``."""
    return []


tenant = Tenant(
    name="feed",
    routes=build_routes,
    migrations=HERE / "migrations",
    health=health,
    lifespan=lifespan,
    workers={"indexer": run_indexer},
    description="Community AppView on Bluesky: community, local and following timelines.",
)
