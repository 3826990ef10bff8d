"""SeaCalendar: a Discord community picks a date — polls, live votes over Socket.IO, Discord sign-in, the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.settings import Settings
from shared.tenant import Tenant, TenantContext

if TYPE_CHECKING:
    # Type only: the bot process imports this package and needn't load Starlette.
    from starlette.routing import BaseRoute

HERE = Path(__file__).parent


def build_routes(ctx: TenantContext) -> list[BaseRoute]:
    """Every route of the tenant."""
    from tenants.seacalendar import account, auth_routes, events, interactions, members, polls, qotw, users, votes

    return [
        *auth_routes.routes(ctx),
        *users.routes(ctx),
        *account.routes(ctx),
        *polls.routes(ctx),
        *votes.routes(ctx),
        *events.routes(ctx),
        *qotw.routes(ctx),
        *members.routes(ctx),
        *interactions.routes(ctx),
    ]


async def health(ctx: TenantContext) -> dict[str, Any]:
    """Socket connections and the bot's heartbeat."""
    from tenants.seacalendar.health import check

    return await check(ctx)


@asynccontextmanager
async def bot_gauges(ctx: TenantContext) -> AsyncIterator[None]:
    """The bot's liveness and job counters in /metrics."""
    from tenants.seacalendar.health import gauges

    async with gauges(ctx):
        yield


def socketio(ctx: TenantContext, sio: Any) -> None:
    """The ``/seacalendar`` namespace."""
    from tenants.seacalendar.realtime import setup

    setup(ctx, sio)


def run_bot(settings: Settings) -> None:
    """Run the Discord bot: poll messages, reminders, expiry, question of the week."""
    from tenants.seacalendar.bot.main import run

    run(settings)


tenant = Tenant(
    name="seacalendar",
    routes=build_routes,
    migrations=HERE / "migrations",
    health=health,
    lifespan=bot_gauges,
    static=HERE / "static",
    aliases=("/api/seacalendar",),
    socketio=socketio,
    workers={"bot": run_bot},
    description="Event polls with live votes, Discord sign-in and a Discord bot.",
)
