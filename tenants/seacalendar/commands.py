"""Slash commands: ``/poll create``, ``/poll list``, ``/qotw answer``.

Each answers with an ephemeral message (only the caller sees it). Mistakes in the command's
arguments are answered the same way, as Discord shows nothing useful for an HTTP error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.auth.discord import DiscordIdentity
from shared.errors import ApiError
from shared.tenant import TenantContext
from tenants.seacalendar import poll_writes
from tenants.seacalendar.bot.discord_rest import NO_PINGS
from tenants.seacalendar.qotw import save_response
from tenants.seacalendar.reminders import schedule_vote_reminders
from tenants.seacalendar.schemas import MAX_OPTIONS, OptionIn, Snowflake
from tenants.seacalendar.settings import SeaCalendarSettings
from tenants.seacalendar.users import upsert_discord_user

EPHEMERAL = 64
SUB_COMMAND = 1  # application command option type
DATED = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s+(\d{1,2}:\d{2})(?:\s*-\s*(\d{1,2}:\d{2}))?)?$")


def reply(content: str) -> dict[str, Any]:
    """An interaction response (type 4) only the caller sees, pinging no one."""
    # Replies quote members' text (poll titles, questions): "@everyone" in one stays text.
    return {"type": 4, "data": {"content": content[:2000], "flags": EPHEMERAL, **NO_PINGS}}


class _Loose(BaseModel):
    # Discord adds fields over time; only the shape of the ones read here is checked.
    model_config = ConfigDict(extra="ignore")


class _User(_Loose):
    id: Snowflake
    username: str | None = Field(default=None, max_length=100)
    global_name: str | None = Field(default=None, max_length=100)
    avatar: str | None = Field(default=None, max_length=200)


class _Member(_Loose):
    user: _User | None = None


class _Option(_Loose):
    name: str = Field(max_length=100)
    type: int
    value: str | int | float | bool | None = None
    options: list[_Option] = Field(default_factory=list, max_length=25)


class _Data(_Loose):
    name: str = Field(max_length=100)
    options: list[_Option] = Field(default_factory=list, max_length=25)


class Command(_Loose):
    """The parts of an APPLICATION_COMMAND interaction the commands read."""

    data: _Data
    member: _Member | None = None
    user: _User | None = None
    guild_id: Snowflake | None = None
    channel_id: Snowflake | None = None


def _arguments(options: list[_Option]) -> tuple[str, dict[str, Any]]:
    """(subcommand, its arguments) of a command's option tree."""
    for option in options:
        if option.type == SUB_COMMAND:
            return option.name, {o.name: o.value for o in option.options}
    return "", {}


def parse_options(text: str) -> tuple[str, list[OptionIn]]:
    """Comma-separated choices: all dates (``2026-12-05 19:00-22:00``) make an event poll, else generic."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    matches = [DATED.match(part) for part in parts]
    if parts and all(matches):
        return "event", [
            OptionIn.model_validate({"date": m.group(1), "start_time": m.group(2), "end_time": m.group(3)})
            for m in matches
            if m is not None
        ]
    return "generic", [OptionIn(label=part[:200]) for part in parts]


def _identity(interaction: Command) -> DiscordIdentity:
    # In a server the caller is ``member.user``; in a DM, ``user``.
    user = (interaction.member.user if interaction.member else None) or interaction.user
    if user is None:
        raise ApiError(400, "bad_interaction", "The interaction names no user.")
    return DiscordIdentity(user.id, user.username or user.id, user.global_name, user.avatar)


async def handle(ctx: TenantContext, settings: SeaCalendarSettings, payload: dict[str, Any]) -> dict[str, Any]:
    """The response to one application command."""
    try:
        interaction = Command.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ApiError(
            400, "bad_interaction", f"The interaction is not a command Discord sends: {where}: {error['msg']}."
        ) from None
    sub, args = _arguments(interaction.data.options)
    guild_id, channel_id = interaction.guild_id, interaction.channel_id
    identity = _identity(interaction)
    command = f"{interaction.data.name} {sub}"
    if command == "poll create":
        return await _create(ctx, settings, identity, guild_id, channel_id, args)
    if command == "poll list":
        return await _list(ctx, guild_id)
    if command == "qotw answer":
        return await _answer(ctx, identity, guild_id, args)
    return reply(f"Unknown command: /{command.strip()}.")


async def _create(
    ctx: TenantContext,
    settings: SeaCalendarSettings,
    identity: DiscordIdentity,
    guild_id: Any,
    channel_id: Any,
    args: dict[str, Any],
) -> dict[str, Any]:
    title = str(args.get("title") or "").strip()[:200]
    try:
        kind, options = parse_options(str(args.get("options") or ""))
    except ValidationError as exc:
        return reply(f"I couldn't read the options: {exc.errors()[0]['msg']}.")
    if not title or not options:
        return reply("Give a title and at least one option, e.g. `2026-12-05 19:00, 2026-12-06 19:00`.")
    if len(options) > MAX_OPTIONS:
        return reply(f"A poll takes at most {MAX_OPTIONS} options; this one has {len(options)}.")
    days = args.get("deadline_days")
    deadline = datetime.now(UTC) + timedelta(days=int(days)) if isinstance(days, int) and 0 < days <= 365 else None
    values = {
        "type": kind,
        "title": title,
        "description": str(args.get("description") or "")[:5000],
        "guild_id": str(guild_id) if guild_id else None,
        "channel_id": str(channel_id) if channel_id else None,
        "is_private": False,  # a channel's poll is open to whoever can see the channel's message
        "timezone": "UTC",
        "voting_deadline": deadline,
        "status": "voting",
    }
    async with ctx.db.transaction() as conn:
        user = await upsert_discord_user(conn, identity)
        poll_id = await poll_writes.insert_poll(conn, user["id"], values, options)
        await schedule_vote_reminders(conn, poll_id)
        await ctx.bus.publish(conn, "poll_created", None, {"poll_id": poll_id})
    link = (
        f" {settings.seacalendar_public_url.rstrip('/')}/seacalendar/#poll={poll_id}"
        if settings.seacalendar_public_url
        else ""
    )
    return reply(f"Poll #{poll_id} “{title}” created; I'll post it here.{link}")


async def _list(ctx: TenantContext, guild_id: Any) -> dict[str, Any]:
    if not guild_id:
        return reply("Polls are listed per server; run this in a server channel.")
    async with ctx.db.connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT id, title, voting_deadline FROM polls WHERE guild_id = :g AND status = 'voting' "
                    "AND NOT is_private ORDER BY id DESC LIMIT 10"
                ),
                {"g": str(guild_id)},
            )
        ).all()
    if not rows:
        return reply("No open polls in this server.")
    lines = [
        f"#{r.id} {r.title}" + (f" (closes <t:{int(r.voting_deadline.timestamp())}:R>)" if r.voting_deadline else "")
        for r in rows
    ]
    return reply("Open polls:\n" + "\n".join(lines))


async def _answer(ctx: TenantContext, identity: DiscordIdentity, guild_id: Any, args: dict[str, Any]) -> dict[str, Any]:
    text = str(args.get("text") or "").strip()
    if not guild_id or not text:
        return reply("Answer in a server channel, with some text.")
    async with ctx.db.transaction() as conn:
        question = (
            await conn.execute(
                sa.text(
                    "SELECT id, text FROM questions WHERE guild_id = :g AND status = 'posted' "
                    "ORDER BY posted_at DESC LIMIT 1"
                ),
                {"g": str(guild_id)},
            )
        ).first()
        if question is None:
            return reply("No question of the week has been asked here yet.")
        user = await upsert_discord_user(conn, identity)
        await save_response(conn, question.id, user["id"], text[:2000])
    return reply(f"Thanks! Your answer to “{question.text}” is saved.")
