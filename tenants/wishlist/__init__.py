"""Wishlist: accounts, wishlists, items and tags, with shareable gift lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from shared.tenant import Tenant, TenantContext

HERE = Path(__file__).parent


def build_routes(ctx: TenantContext) -> list[BaseRoute]:
    """Every API route of the tenant."""
    from tenants.wishlist import (
        account_routes,
        auth_routes,
        reset_routes,
        routes_items,
        routes_shared,
        routes_tags,
        routes_wishlists,
    )
    from tenants.wishlist.pagination import Cursors

    cursors = Cursors(ctx.settings.require_secret())
    return [
        *auth_routes.routes(ctx),
        *account_routes.routes(ctx),
        *reset_routes.routes(ctx),
        *routes_wishlists.routes(ctx, cursors),
        *routes_items.routes(ctx),
        *routes_tags.routes(ctx),
        *routes_shared.routes(ctx),
    ]


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
