"""What Discord says about a guild: which channel is in it, who is a member, who may manage it,
which of its members match a name (for the web UI's invitee picker), and which of the bot's
servers a person is in (so the web UI offers them by name).

The bot posts polls and questions of the week where members point it. Without asking Discord,
anyone signed in could have it post into any channel of any server that installed it (private
ones included), and the first person to configure a server's question of the week kept it from
its admins, and anyone knowing a server's id could read its questions of the week and answer
them. The bot's token answers these questions. The answers are not cached: they are asked when a
poll or a schedule names a channel and when someone reads or answers a server's questions, at a
person's pace (the web UI never polls them), and a remembered "yes" would let someone removed
from a server go on acting as its member.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx

from shared.digits import ascii_int
from shared.errors import ApiError
from tenants.seacalendar.bot.discord_rest import versioned
from tenants.seacalendar.settings import SeaCalendarSettings

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5


def _retry_after(response: httpx.Response) -> int:
    """Whole seconds Discord asks to wait (body ``retry_after``, else the header), 1 to 60."""
    try:
        seconds = float(response.json().get("retry_after"))
    except (ValueError, TypeError, AttributeError):
        seconds = float(ascii_int(response.headers.get("retry-after", ""), max_digits=4) or 1)
    return min(max(math.ceil(seconds), 1), 60) if math.isfinite(seconds) else 60


# The servers a person is offered by name are found by asking, for each of the bot's servers,
# whether they are a member: fine for a community's own bot; past this many servers the list is
# not offered (the UI asks for the server's id, as before) rather than spend Discord's rate limit.
MAX_LISTED_GUILDS = 50
# Membership questions in flight at once while listing.
LISTING_CONCURRENCY = 5


class Guilds:
    """Questions to Discord's REST API, with the bot's token."""

    def __init__(self, settings: SeaCalendarSettings) -> None:
        self.base = versioned(settings.api_base)
        self.token = settings.discord_bot_token.get_secret_value() if settings.discord_bot_token else None

    async def _ask(self, path: str, params: dict[str, str | int] | None = None) -> Any:
        """The decoded JSON at ``path``; None when Discord says it is unknown or not the bot's to see."""
        if self.token is None:
            raise ApiError(
                503, "discord_not_configured", "Posting to Discord needs ONEBOX_DISCORD_BOT_TOKEN.",
                headers={"Retry-After": "3600"},
            )  # fmt: skip
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(
                    f"{self.base}{path}", params=params, headers={"Authorization": f"Bot {self.token}"}
                )
        except httpx.HTTPError:
            raise ApiError(502, "discord_unavailable", "Discord could not be reached; try again.") from None
        if response.status_code in (403, 404):
            return None
        if response.status_code == 429:
            raise ApiError(
                503, "discord_busy", "Discord asks the bot to slow down; try again shortly.",
                headers={"Retry-After": str(_retry_after(response))},
            )  # fmt: skip
        if response.status_code != 200:
            raise ApiError(502, "discord_unavailable", f"Discord answered {response.status_code}; try again.")
        try:
            return response.json()
        except ValueError:
            raise ApiError(502, "discord_unavailable", "Discord answered something that is not JSON.") from None

    async def _get(self, path: str) -> dict[str, Any] | None:
        """The JSON object at ``path``; None when Discord says it is unknown or not the bot's to see."""
        body = await self._ask(path)
        if body is not None and not isinstance(body, dict):
            raise ApiError(502, "discord_unavailable", "Discord answered something that is not an object.")
        return body

    async def guild_of(self, channel_id: str) -> str:
        """The guild a channel is in, or 422 when the bot can't see it (or it is no server channel)."""
        channel = await self._get(f"/channels/{channel_id}")
        guild = channel.get("guild_id") if channel else None
        if not isinstance(guild, str):
            raise ApiError(422, "unknown_channel", "The bot can't see that channel of a server.")
        return guild

    async def roles_of(self, guild_id: str, discord_id: str) -> list[str] | None:
        """The member's role ids in the guild; None when they are not a member."""
        member = await self._get(f"/guilds/{guild_id}/members/{discord_id}")
        if member is None:
            return None
        roles = member.get("roles")
        return [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []

    async def require_member(self, guild_id: str, discord_id: str) -> list[str]:
        """The member's roles, or 403 when the caller is not in the guild."""
        roles = await self.roles_of(guild_id, discord_id)
        if roles is None:
            raise ApiError(403, "not_in_guild", "You are not a member of that Discord server.")
        return roles

    async def may_manage(self, guild_id: str, discord_id: str) -> bool:
        """Whether the caller owns the guild or holds Manage Server (or Administrator) in it; 403 when
        they are not a member."""
        roles = await self.require_member(guild_id, discord_id)
        guild = await self._get(f"/guilds/{guild_id}")
        if guild is None:
            raise ApiError(403, "not_in_guild", "The bot is not in that Discord server.")
        if guild.get("owner_id") == discord_id:
            return True
        held = {guild_id, *roles}  # the @everyone role has the guild's id
        permissions = 0
        for role in guild.get("roles") or []:
            bits = ascii_int(str(role.get("permissions", "")), max_digits=20) if isinstance(role, dict) else None
            if bits is not None and role.get("id") in held:
                permissions |= bits
        return bool(permissions & (ADMINISTRATOR | MANAGE_GUILD))

    async def require_manager(self, guild_id: str, discord_id: str) -> None:
        """403 unless the caller owns the guild or holds Manage Server (or Administrator) in it."""
        if not await self.may_manage(guild_id, discord_id):
            raise ApiError(403, "not_a_manager", "Only members who may manage that Discord server can do this.")

    async def channel_in(self, channel_id: str, guild_id: str | None) -> str:
        """The channel's guild, or 422 when it is not ``guild_id`` (any guild when None)."""
        guild = await self.guild_of(channel_id)
        if guild_id is not None and guild != guild_id:
            raise ApiError(422, "channel_not_in_guild", "That channel is in another Discord server.")
        return guild

    async def check_channel(self, channel_id: str, guild_id: str | None, discord_id: str) -> str:
        """The channel's guild, after checking it is ``guild_id`` (if given) and the caller is a member."""
        guild = await self.channel_in(channel_id, guild_id)
        await self.require_member(guild, discord_id)
        return guild

    async def guilds_of(self, discord_id: str) -> list[dict[str, str]] | None:
        """The bot's servers the person is a member of, ``{id, name}`` by name; None when the bot is
        in more than ``MAX_LISTED_GUILDS`` (too many to ask about)."""
        found = await self._ask("/users/@me/guilds", {"limit": MAX_LISTED_GUILDS + 1})
        if not isinstance(found, list):
            raise ApiError(502, "discord_unavailable", "Discord answered something that is not a list.")
        servers = [
            {"id": g["id"], "name": g["name"]}
            for g in found
            if isinstance(g, dict) and isinstance(g.get("id"), str) and isinstance(g.get("name"), str)
        ]
        if len(servers) > MAX_LISTED_GUILDS:
            return None
        gate = asyncio.Semaphore(LISTING_CONCURRENCY)

        async def is_member(guild_id: str) -> bool:
            async with gate:
                return await self.roles_of(guild_id, discord_id) is not None

        # A refusal (rate limit, outage) answers for the whole list, and the other questions stop.
        try:
            async with asyncio.TaskGroup() as group:
                asked = [group.create_task(is_member(server["id"])) for server in servers]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        mine = [server for server, task in zip(servers, asked, strict=True) if task.result()]
        return sorted(mine, key=lambda server: (server["name"].casefold(), server["id"]))

    async def search_members(self, guild_id: str, query: str, limit: int) -> list[dict[str, str]]:
        """Members whose username or server nickname starts with ``query``: ``{discord_id, username,
        display_name}``, the name shown being their nickname there, else their global name, else username."""
        found = await self._ask(f"/guilds/{guild_id}/members/search", {"query": query, "limit": limit})
        if found is None:
            raise ApiError(403, "not_in_guild", "The bot is not in that Discord server.")
        if not isinstance(found, list):
            raise ApiError(502, "discord_unavailable", "Discord answered something that is not a list.")
        return [person for member in found if (person := _person(member)) is not None]


def _person(member: Any) -> dict[str, str] | None:
    """A guild member object as the UI's picker shows it; None for one without a user."""
    user = member.get("user") if isinstance(member, dict) else None
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not isinstance(user.get("username"), str):
        return None
    names = (member.get("nick"), user.get("global_name"))
    name = next((n for n in names if isinstance(n, str) and n), user["username"])
    return {"discord_id": user["id"], "username": user["username"], "display_name": name}
