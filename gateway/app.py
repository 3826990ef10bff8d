"""The app factory: settings in, one Starlette app with every enabled tenant mounted out."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route, Router

from gateway import health, openapi, realtime, registry
from gateway.context import build_context
from gateway.errors import HANDLERS
from gateway.fallback import api_fallback
from gateway.metrics import Metrics, PoolCollector
from gateway.middleware.aliases import AliasMiddleware
from gateway.middleware.body_limit import BodyLimitMiddleware
from gateway.middleware.observe import ObserveMiddleware
from gateway.middleware.rate_limit import RateLimitMiddleware
from gateway.middleware.request_id import RequestIdMiddleware
from gateway.middleware.security_headers import SecurityHeadersMiddleware
from gateway.middleware.server_error import ServerErrorMiddleware
from gateway.static import CachedStatic
from shared.db.urls import resolve_admin_url
from shared.http.paths import register_path_convertors
from shared.settings import Settings
from shared.tenant import Tenant, TenantContext


def tenant_mount(tenant: Tenant, ctx: TenantContext) -> Mount:
    """``/<name>``: the tenant's routes, health, OpenAPI document and web UI, behind its CORS policy."""
    own = list(tenant.routes(ctx))
    routes: list[BaseRoute] = [
        Route("/health", health.tenant_endpoint(tenant, ctx), methods=["GET"], include_in_schema=False),
        Route(
            "/openapi.json",
            openapi.endpoint(tenant.name, tenant.description, own),
            methods=["GET"],
            include_in_schema=False,
        ),
        *own,
    ]
    if tenant.static is not None:
        routes.append(api_fallback(own))
        routes.append(Mount("/", app=CachedStatic(tenant.static)))
    app = Router(routes=routes)
    origins = ctx.settings.cors_for(tenant.name)
    if origins:
        wrapped = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            allow_credentials=True,
            max_age=600,
        )
        return Mount(f"/{tenant.name}", app=wrapped)
    return Mount(f"/{tenant.name}", app=app)


def create_app(settings: Settings) -> Starlette:
    """Build the gateway app for ``settings`` (mounts ``ONEBOX_TENANTS``)."""
    register_path_convertors()
    tenants = registry.enabled(settings)
    admin_url = resolve_admin_url(settings)
    metrics = Metrics()
    pairs = [(t, build_context(t, settings, admin_url, metrics.registry)) for t in tenants]
    metrics.registry.register(PoolCollector(ctx for _, ctx in pairs))
    socketio = realtime.build(settings, pairs, metrics.registry)
    started = time.monotonic()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for tenant, ctx in pairs:
                ctx.bus.start()
                stack.push_async_callback(ctx.db.close)
                stack.push_async_callback(ctx.bus.stop)
                if tenant.lifespan is not None:
                    await stack.enter_async_context(tenant.lifespan(ctx))
            if socketio is not None:
                # Stops Engine.IO's ping task; runs first on the way out, before the buses close.
                stack.push_async_callback(socketio[0].shutdown)
            yield

    routes: list[BaseRoute] = [
        Route("/health", health.box_endpoint(pairs, started), methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        *(tenant_mount(t, ctx) for t, ctx in pairs),
    ]
    if socketio is not None:
        routes.append(Mount("/socket.io", app=socketio[1]))
    aliases = {alias: f"/{t.name}/api" for t, _ in pairs for alias in t.aliases}
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(AliasMiddleware, aliases=aliases),
            Middleware(RequestIdMiddleware),
            Middleware(ObserveMiddleware, metrics=metrics, tenants={t.name for t in tenants}),
            Middleware(SecurityHeadersMiddleware, trust_proxy=settings.trust_proxy_headers),
            Middleware(ServerErrorMiddleware),
            Middleware(
                RateLimitMiddleware,
                per_minute=settings.rate_limit_per_minute,
                auth_per_minute=settings.auth_rate_limit_per_minute,
                trust_proxy=settings.trust_proxy_headers,
            ),
            Middleware(BodyLimitMiddleware, limit=settings.body_limit),
        ],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.contexts = {ctx.name: ctx for _, ctx in pairs}
    app.state.socketio = socketio[0] if socketio is not None else None
    return app
