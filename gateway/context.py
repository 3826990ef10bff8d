"""Build each tenant's context (pool, tokens, bus) from settings: explicit wiring, no globals."""

from __future__ import annotations

import hashlib
import hmac

from prometheus_client import CollectorRegistry

from shared.auth.refresh import RefreshTokens
from shared.auth.tokens import TokenService
from shared.db.notify import EventBus, channel_name
from shared.db.pool import TenantDatabase
from shared.db.urls import libpq, tenant_url
from shared.ratelimit import KeyedRateLimiter
from shared.settings import Settings
from shared.tenant import Tenant, TenantContext


def signing_key(secret: str, tenant: str) -> str:
    """A per-tenant JWT key, so a token can't verify elsewhere even before the audience check."""
    return hmac.new(secret.encode(), f"jwt:{tenant}".encode(), hashlib.sha256).hexdigest()


def build_context(
    tenant: Tenant, settings: Settings, admin_url: str, registry: CollectorRegistry, role: str = "gateway"
) -> TenantContext:
    """The context handed to one tenant's routes, health and workers."""
    secret = settings.require_secret()
    url = tenant_url(admin_url, settings.db_prefix, tenant.name, secret)
    db = TenantDatabase(
        url,
        size=settings.pool_size_for(tenant.name, tenant.pool_size),
        overflow=settings.pool_overflow,
        timeout=settings.pool_timeout,
        app_name=f"onebox-{role}:{tenant.name}",
        raw_share=tenant.raw_share,
        idle_close_s=settings.pool_idle_timeout,
    )
    return TenantContext(
        name=tenant.name,
        settings=settings,
        db=db,
        tokens=TokenService(signing_key(secret, tenant.name), tenant.name, settings.access_token_ttl),
        refresh=RefreshTokens(settings.refresh_token_ttl, settings.refresh_reuse_grace),
        bus=EventBus(channel_name(settings.db_prefix, tenant.name), libpq(url)),
        metrics=registry,
        login_limiter=KeyedRateLimiter(settings.login_attempts_per_account, period=15 * 60),
    )
