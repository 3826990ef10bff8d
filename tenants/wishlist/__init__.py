"""Wishlist: accounts, wishlists, items and tags, with shareable gift lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from shared.tenant import Tenant, TenantContext

HERE = Path(__file__).parent


def build_routes(ctx: TenantContext) -> list[BaseRoute]:
    """Every API route of the tenant, then the JSON 404/405 for any other ``/api/...`` path."""
    from tenants.wishlist import auth_routes, routes_items, routes_shared, routes_tags, routes_wishlists
    from tenants.wishlist.pagination import Cursors
    from tenants.wishlist.web import api_fallback

    cursors = Cursors(ctx.settings.require_secret())
    api: list[BaseRoute] = [
        *auth_routes.routes(ctx),
        *routes_wishlists.routes(ctx, cursors),
        *routes_items.routes(ctx),
        *routes_tags.routes(ctx),
        *routes_shared.routes(ctx),
    ]
    return [*api, api_fallback(api)]


async def health(_ctx: TenantContext) -> dict[str, Any]:
    """Nothing beyond the database, which the gateway checks."""
    return {}


tenant = Tenant(
    name="wishlist",
    routes=build_routes,
    migrations=HERE / "migrations",
    health=health,
    static=HERE / "static",
    aliases=("/api/wishlist",),
    description="Wishlists with items, tags and shareable gift lists.",
)
