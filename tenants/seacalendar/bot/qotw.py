"""Posting the question of the week on each guild's schedule (weekday 0 = Monday, hour in UTC)."""

from __future__ import annotations

import asyncpg

from tenants.seacalendar.bot.discord_rest import DiscordRest

# A guild is due when this week's slot (or last week's, if this week's is still ahead) is newer
# than its last post. Claiming marks the question 'posting' and stamps the guild in one transaction.
CLAIM = """WITH due AS (
    SELECT c.guild_id, c.channel_id FROM qotw_configs c
    WHERE c.enabled AND (c.last_posted_at IS NULL OR c.last_posted_at < (
        SELECT CASE WHEN slot > now() THEN slot - interval '7 days' ELSE slot END FROM (
            SELECT (date_trunc('week', now() AT TIME ZONE 'UTC')
                    + make_interval(days => c.weekday, hours => c.hour)) AT TIME ZONE 'UTC' AS slot) s))
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT DISTINCT ON (q.guild_id) q.id, q.guild_id, d.channel_id FROM questions q JOIN due d USING (guild_id)
    WHERE q.status = 'queued' ORDER BY q.guild_id, q.id
), stamped AS (
    UPDATE qotw_configs SET last_posted_at = now() WHERE guild_id IN (SELECT guild_id FROM picked)
)
UPDATE questions q SET status = 'posting', channel_id = picked.channel_id FROM picked WHERE q.id = picked.id"""


async def post_due_questions(pool: asyncpg.Pool, rest: DiscordRest) -> int:
    """Claim due questions, then post every question still 'posting' (including a crashed run's)."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(CLAIM)
        rows = await conn.fetch("SELECT id, text, channel_id FROM questions WHERE status = 'posting' ORDER BY id")
    for row in rows:
        content = f"❓ **Question of the week:** {row['text']}\nAnswer with `/qotw answer`."
        message = await rest.send_message(row["channel_id"], {"content": content}, nonce=f"q-{row['id']}")
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE questions SET status = 'posted', posted_at = now(), message_id = $1 WHERE id = $2",
                str(message["id"]),
                row["id"],
            )
    return len(rows)
