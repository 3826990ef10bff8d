"""Discord servers and their members by name, so that people pick a server and invite each other
without knowing Discord ids.

Only the server's members may search it: the bot sees every server that installed it, and its
member list is not for anyone who knows the server's id. Likewise the servers listed to someone
are the bot's servers they are a member of.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.http.body import parse_model
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.seacalendar.guilds import Guilds
from tenants.seacalendar.schemas import MemberSearch
from tenants.seacalendar.settings import sea_settings
from tenants.seacalendar.users import current_user_id, load_user


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/guilds``."""
    guilds = Guilds(sea_settings(ctx))

    async def search(request: Request) -> Response:
        """Members of the guild whose name starts with ``?query=`` (1–100 characters), at most ``?limit=``
        (1–25, default 10): ``{"members": [{discord_id, username, display_name}]}``; for its members."""
        user_id = await current_user_id(ctx, request)
        fields = {**request.query_params, "guild_id": request.path_params["guild_id"]}
        asked = parse_model(MemberSearch, fields)
        async with ctx.db.connect() as conn:
            discord_id = (await load_user(conn, user_id))["discord_id"]
        await guilds.require_member(asked.guild_id, discord_id)
        return json_response({"members": await guilds.search_members(asked.guild_id, asked.query, asked.limit)})

    async def mine(request: Request) -> Response:
        """The bot's Discord servers I am in, by name: ``{"guilds": [{id, name}], "listed": true}``;
        ``"listed": false`` (and no guilds) when the bot is in too many servers to ask about."""
        user_id = await current_user_id(ctx, request)
        async with ctx.db.connect() as conn:
            discord_id = (await load_user(conn, user_id))["discord_id"]
        found = await guilds.guilds_of(discord_id)
        return json_response({"guilds": found or [], "listed": found is not None})

    return [
        Route("/api/guilds", mine, methods=["GET"]),
        Route("/api/guilds/{guild_id}/members", search, methods=["GET"]),
    ]
