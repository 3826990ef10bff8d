"""The tenant interface: what a product package exports and what it is handed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Types only: a worker process imports its tenant's package (and so this module) without
# needing SQLAlchemy or Starlette, ~45 MB of private memory it would otherwise carry (measured).
if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from starlette.routing import BaseRoute

    from shared.auth.refresh import RefreshTokens
    from shared.auth.tokens import TokenService
    from shared.db.notify import EventBus
    from shared.db.pool import TenantDatabase
    from shared.ratelimit import KeyedRateLimiter
    from shared.settings import Settings


@dataclass
class TenantContext:
    """Everything a tenant's code may use, built per app by the gateway (never a global)."""

    name: str
    settings: Settings
    db: TenantDatabase
    tokens: TokenService
    refresh: RefreshTokens
    bus: EventBus
    metrics: CollectorRegistry
    login_limiter: KeyedRateLimiter
    state: dict[str, Any] = field(default_factory=dict)


RoutesFactory = Callable[[TenantContext], Sequence["BaseRoute"]]
HealthCheck = Callable[[TenantContext], Awaitable[dict[str, Any]]]
Lifespan = Callable[[TenantContext], AbstractAsyncContextManager[None]]
SocketIOSetup = Callable[[TenantContext, Any], None]
# A worker job: runs until SIGTERM, then exits the process (shared.worker_loop); returning means
# it has nothing to do on this host, and gateway.worker idles.
Worker = Callable[["Settings"], None]


@dataclass(frozen=True)
class Tenant:
    """A product mounted at ``/<name>``; see docs/foundation.md."""

    name: str
    routes: RoutesFactory
    migrations: Path
    health: HealthCheck | None = None
    static: Path | None = None
    aliases: tuple[str, ...] = ()
    socketio: SocketIOSetup | None = None
    lifespan: Lifespan | None = None
    workers: Mapping[str, Worker] = field(default_factory=dict)
    description: str = ""
    # Share of the tenant's pool that serves ``ctx.db.raw()`` from asyncpg's own pool (hot
    # reads skip SQLAlchemy's checkout); 0: raw() borrows SQLAlchemy's connections.
    raw_share: float = 0.0
    # The pool size this tenant needs by default, when it serves far more than the others
    # (None: ONEBOX_POOL_SIZE); ONEBOX_POOL_SIZES still overrides it.
    pool_size: int | None = None
