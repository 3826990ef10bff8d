"""Each tenant's context: the pool size it gets from the settings and its own preference."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry

from gateway import registry
from gateway.context import build_context
from shared.settings import Settings


async def test_pool_size_comes_from_the_operator_then_the_tenant_then_the_default(
    make_settings: Callable[..., Settings],
) -> None:
    def sizes(settings: Settings, tenant: str) -> tuple[int, int]:
        ctx = build_context(registry.load(tenant), settings, settings.database_url or "", CollectorRegistry())
        return ctx.db.size, ctx.db.raw_size

    default = make_settings(pool_size=4)
    # The feed asks for 8 (5 of them for raw reads); the others take ONEBOX_POOL_SIZE.
    assert sizes(default, "feed") == (8, 5)
    assert sizes(default, "wishlist") == (4, 0)
    operator = make_settings(pool_size=4, pool_sizes={"feed": 3, "wishlist": 6})
    assert sizes(operator, "feed") == (3, 2)
    assert sizes(operator, "wishlist") == (6, 0)
