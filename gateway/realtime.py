"""The one Socket.IO server of an app: a namespace per tenant that asks, fed by the NOTIFY bus.

Events reach clients only through the bus (section 7 of the design): whatever commits a change
— an API call in this process or another, the bot — NOTIFYs ``onebox_<tenant>``, every gateway
process's listener hears it, and :func:`relay` emits it to the room named in the payload on that
tenant's namespace. Events without a room are internal (for workers) and are not relayed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp

from shared.auth.sockets import connection_count
from shared.db.notify import Event
from shared.settings import Settings
from shared.tenant import Tenant, TenantContext


class SocketIOCollector(Collector):
    """Connected clients per tenant namespace, counted at scrape time."""

    def __init__(self, sio: Any, names: list[str]) -> None:
        self.sio = sio
        self.names = names

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("onebox_socketio_connections", "Connected Socket.IO clients", labels=["tenant"])
        for name in self.names:
            gauge.add_metric([name], connection_count(self.sio, name))
        yield gauge


def relay(ctx: TenantContext, sio: Any) -> None:
    """Emit every roomed event of ``ctx``'s bus to that room on the tenant's namespace."""
    namespace = f"/{ctx.name}"

    async def forward(event: Event) -> None:
        if event.room is not None:
            await sio.emit(event.event, event.data, room=event.room, namespace=namespace)

    ctx.bus.subscribe(forward)


def _origin_rule(settings: Settings, names: list[str]) -> Any:
    """Browsers may connect from the gateway's own origin or from a tenant's configured CORS origins."""
    allowed = {origin for name in names for origin in settings.cors_for(name)}

    def allow(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin is None or origin in allowed:
            return True
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        secure = own.replace("http://", "https://", 1)
        return origin in (own, secure)

    return allow


def build(
    settings: Settings, pairs: list[tuple[Tenant, TenantContext]], registry: CollectorRegistry
) -> tuple[Any, ASGIApp] | None:
    """The Socket.IO server and its ASGI app, or None when no enabled tenant has a namespace."""
    hooked = [(t, ctx) for t, ctx in pairs if t.socketio is not None]
    if not hooked:
        return None
    import socketio

    from gateway.sio_server import LimitedServer

    names = [t.name for t, _ in hooked]
    sio = LimitedServer(
        async_mode="asgi",
        # Only the tenants' namespaces: the default "/" would take connections with no token at all.
        namespaces=[f"/{name}" for name in names],
        cors_allowed_origins=_origin_rule(settings, names),
        # Clients send small control events (join/leave); a cap keeps a hostile one from buffering megabytes.
        max_http_buffer_size=64 * 1024,
        logger=False,
        engineio_logger=False,
    )
    for tenant, ctx in hooked:
        assert tenant.socketio is not None
        tenant.socketio(ctx, sio)
        relay(ctx, sio)
    registry.register(SocketIOCollector(sio, names))
    # Mounted at /socket.io by the app, so the path is already routed: send everything to Engine.IO.
    return sio, socketio.ASGIApp(sio, socketio_path=None)
