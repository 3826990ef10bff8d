"""SeaCalendar migrations that change what a deletion does, run down and up on the session's database."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from gateway import registry
from shared.db import migrate
from shared.db.urls import tenant_url
from shared.settings import Settings
from shared.tenant import TenantContext

GUILD = "720000000000000001"


async def add_schedule(ctx: TenantContext, guild: str) -> int:
    """A user and the question-of-the-week schedule of ``guild`` they saved; returns the user id."""
    async with ctx.db.transaction() as conn:
        user: int = await conn.scalar(sa.text("INSERT INTO users (display_name) VALUES ('Owner') RETURNING id"))
        await conn.execute(
            sa.text(
                "INSERT INTO qotw_configs (guild_id, channel_id, weekday, hour, owner_id) VALUES (:g, '1', 0, 9, :u)"
            ),
            {"g": guild, "u": user},
        )
    return user


async def delete_user_and_read_owner(ctx: TenantContext, user: int, guild: str) -> tuple[bool, int | None]:
    """Delete ``user``; whether ``guild``'s schedule is still there, and its owner."""
    async with ctx.db.transaction() as conn:
        await conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": user})
        row = (
            await conn.execute(sa.text("SELECT owner_id FROM qotw_configs WHERE guild_id = :g"), {"g": guild})
        ).first()
    return row is not None, None if row is None else row.owner_id


async def test_0002_keeps_a_schedule_whose_owner_is_deleted(settings: Settings, sea_ctx: TenantContext) -> None:
    migrations = registry.load("seacalendar").migrations
    url = tenant_url(settings.database_url or "", settings.db_prefix, "seacalendar", settings.require_secret())
    other = f"{GUILD[:-1]}9"
    await asyncio.to_thread(migrate.downgrade, migrations, url, "0001")
    try:
        # Before: the schedule went with the account that saved it last.
        user = await add_schedule(sea_ctx, GUILD)
        assert await delete_user_and_read_owner(sea_ctx, user, GUILD) == (False, None)
    finally:
        await asyncio.to_thread(migrate.upgrade, migrations, url)
    user = await add_schedule(sea_ctx, GUILD)
    assert await delete_user_and_read_owner(sea_ctx, user, GUILD) == (True, None)

    # Down again: 0001 cannot hold an ownerless schedule, so it goes; one with an owner stays.
    owned = await add_schedule(sea_ctx, other)
    await asyncio.to_thread(migrate.downgrade, migrations, url, "0001")
    try:
        async with sea_ctx.db.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT guild_id, owner_id FROM qotw_configs WHERE guild_id IN (:a, :b)"),
                {"a": GUILD, "b": other},
            )
            assert [tuple(r) for r in rows] == [(other, owned)]
    finally:
        await asyncio.to_thread(migrate.upgrade, migrations, url)
    assert await delete_user_and_read_owner(sea_ctx, owned, other) == (True, None)
