"""Wiring of the feed's API: routes, live updates, Socket.IO namespace, lifespan and health.

The :class:`AppView` and its services are built once per app, on first use (the gateway sets
up Socket.IO before it asks for routes), and kept in ``ctx.state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute

from shared.tenant import TenantContext
from tenants.feed import health as indexer_health
from tenants.feed.api import actions, auth, feeds, notifications, posts, profiles, search
from tenants.feed.api import health as health_routes
from tenants.feed.appview import AppView, build
from tenants.feed.live import sio, ws
from tenants.feed.live.hub import Hub
from tenants.feed.push_api import Pusher
from tenants.feed.push_api import routes as push_routes
from tenants.feed.sessions import PdsSessions
from tenants.feed.writes import Writes
from tenants.feed.xrpc import dispatcher

STATE_KEY = "feed_api"


@dataclass
class Services:
    """The AppView and the services routes share."""

    av: AppView
    sessions: PdsSessions
    writes: Writes
    pusher: Pusher
    hub: Hub


def services(ctx: TenantContext) -> Services:
    """This app's services (built on first call)."""
    found = ctx.state.get(STATE_KEY)
    if found is None:
        av = build(ctx)
        sessions = PdsSessions(av)
        pusher = Pusher(av)
        av.services["push"] = pusher
        found = Services(av, sessions, Writes(av, sessions), pusher, Hub(av))
        ctx.state[STATE_KEY] = found
    return found


def build_routes(ctx: TenantContext) -> list[BaseRoute]:
    """Every route of the feed's API, relative to ``/feed``."""
    s = services(ctx)
    # Starlette tries routes in order: the hot reads (XRPC, feeds) come first.
    return [
        *dispatcher.routes(s.av, s.sessions, s.writes),
        *feeds.routes(s.av),
        *auth.routes(s.av, s.sessions),
        *posts.routes(s.av, s.writes),
        *profiles.routes(s.av),
        *actions.routes(s.av, s.writes),
        *search.routes(s.av),
        *notifications.routes(s.av),
        *push_routes(s.av, s.pusher),
        *health_routes.routes(s.av, s.hub, s.pusher),
        ws.route(s.av, s.hub),
    ]


def socketio(ctx: TenantContext, server: Any) -> None:
    """Register the ``/feed`` namespace on the gateway's Socket.IO server."""
    s = services(ctx)
    sio.register(s.av, s.hub, server)


@asynccontextmanager
async def lifespan(ctx: TenantContext) -> AsyncIterator[None]:
    """Relay bus events to live clients, refresh the indexer's gauges, close clients at the end."""
    s = services(ctx)
    ctx.bus.subscribe(s.hub.on_event)
    async with indexer_health.gauges(ctx):
        try:
            yield
        finally:
            await s.pusher.close()
            await s.av.http.aclose()


async def health(ctx: TenantContext) -> dict[str, Any]:
    """``/feed/health``: the indexer's facts plus live connections and push delivery."""
    s = services(ctx)
    doc = await indexer_health.health(ctx)
    doc["websocket"] = s.hub.stats()
    doc["push"] = health_routes.push_figures(s.pusher, doc["indexer"])
    return doc
