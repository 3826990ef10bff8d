"""Astro (StarMeet): Mastodon-linked members, Vedic birth charts (D1, D9) and guna milan matches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.routing import BaseRoute

from shared.auth.mastodon import MastodonConfig, MastodonOAuth
from shared.tenant import Tenant, TenantContext

HERE = Path(__file__).parent


def build_routes(ctx: TenantContext) -> list[BaseRoute]:
    """Every API route of the tenant (the Mastodon client lives in ``ctx.state``)."""
    from tenants.astro import auth_routes, routes
    from tenants.astro.settings import AstroSettings

    settings = ctx.settings.load(AstroSettings)
    config = MastodonConfig(
        app_name=settings.astro_app_name,
        website=settings.astro_public_url,
        instances=settings.astro_mastodon_instances,
        timeout=settings.astro_mastodon_timeout,
    )
    oauth = ctx.state["mastodon"] = MastodonOAuth(config, ctx.db, ctx.settings.require_secret())
    return [*auth_routes.routes(ctx, oauth, settings), *routes.routes(ctx, settings)]


async def health(ctx: TenantContext) -> dict[str, Any]:
    """The place database must be loaded, or birth places can't be resolved."""
    async with ctx.db.connect() as conn:
        loaded = bool((await conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM astro_places)"))).scalar())
    return {"places": {"ok": loaded}, "ok": loaded}


@asynccontextmanager
async def lifespan(ctx: TenantContext) -> AsyncIterator[None]:
    """Close the Mastodon HTTP client at shutdown."""
    try:
        yield
    finally:
        if "mastodon" in ctx.state:
            await ctx.state["mastodon"].aclose()


tenant = Tenant(
    name="astro",
    routes=build_routes,
    migrations=HERE / "migrations",
    health=health,
    static=HERE / "static",
    lifespan=lifespan,
    description="StarMeet: Mastodon sign-in, Vedic birth charts (D1, D9) and Ashtakoota matches.",
)
