"""Posting the question of the week on each guild's schedule (weekday 0 = Monday, hour in UTC)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import asyncpg

from tenants.seacalendar.bot.discord_rest import DiscordError, DiscordRest

# A guild is due when its latest slot (this week's, or last week's if this week's is still ahead)
# is newer than both its last post and the moment its schedule was set: a schedule set on
# Wednesday for Fridays posts first on Friday. Claiming marks the question 'posting' and stamps
# the guild in one transaction; a slot with nothing queued is stamped too, so a question queued
# after it waits for the next slot instead of going out mid-week.
CLAIM = """WITH due AS (
    SELECT c.guild_id, c.channel_id FROM qotw_configs c
    WHERE c.enabled AND greatest(c.last_posted_at, c.updated_at) < (
        SELECT CASE WHEN slot > now() THEN slot - interval '7 days' ELSE slot END FROM (
            SELECT (date_trunc('week', now() AT TIME ZONE 'UTC')
                    + make_interval(days => c.weekday, hours => c.hour)) AT TIME ZONE 'UTC' AS slot) s)
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT DISTINCT ON (q.guild_id) q.id, q.guild_id, d.channel_id FROM questions q JOIN due d USING (guild_id)
    WHERE q.status = 'queued' ORDER BY q.guild_id, q.id
), stamped AS (
    UPDATE qotw_configs SET last_posted_at = now() WHERE guild_id IN (SELECT guild_id FROM due)
)
UPDATE questions q SET status = 'posting', channel_id = picked.channel_id FROM picked WHERE q.id = picked.id"""


REQUEUE = "UPDATE questions SET status = 'queued', channel_id = NULL WHERE id = $1"
# Questions claimed and not yet recorded as posted (this tick's, or a run's that died), with when
# their guild's slot was claimed.
POSTING = """SELECT q.id, q.text, q.channel_id, c.last_posted_at AS claimed_at
FROM questions q LEFT JOIN qotw_configs c USING (guild_id) WHERE q.status = 'posting' ORDER BY q.id"""


def question_text(text: str) -> str:
    """The message that posts a question."""
    return f"❓ **Question of the week:** {text}\nAnswer with `/qotw answer`."


async def post_due_questions(pool: asyncpg.Pool, rest: DiscordRest, report: Callable[[BaseException], None]) -> int:
    """Claim due questions, then post every question still 'posting' (including a crashed run's).

    Each guild's question is sent on its own: one whose channel refuses the bot is reported and
    goes back to the queue for the guild's next slot (a passing failure is tried again next tick),
    and the other guilds' questions still go out.
    """
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(CLAIM)
        rows = await conn.fetch(POSTING)
    posted = 0
    for row in rows:
        content = question_text(row["text"])
        try:
            # A run that died after posting it left it in the channel (a minute earlier, for the clocks).
            claimed = row["claimed_at"]
            earlier = (
                await rest.sent_since(row["channel_id"], content, claimed - timedelta(minutes=1)) if claimed else None
            )
            message = earlier or await rest.send_message(
                row["channel_id"], {"content": content}, nonce=f"q-{row['id']}"
            )
        except DiscordError as exc:
            report(exc)
            if not exc.retryable:
                async with pool.acquire() as conn:
                    await conn.execute(REQUEUE, row["id"])
            continue
        posted += 1
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE questions SET status = 'posted', posted_at = now(), message_id = $1 WHERE id = $2",
                str(message["id"]),
                row["id"],
            )
    return posted
