"""Timed work, each step claimed in a transaction so two bots, or one restarted mid-run, never repeat it.

- Polls past their deadline close (``expired``).
- Due reminders expand into one delivery row per recipient, in the same transaction that marks
  the reminder done — so a reminder is expanded exactly once. Event reminders go to the creator
  and to whoever said yes or maybe to the chosen date with a vote that still counts (see
  ``tally.COUNTED``: someone taken off a private poll is told nothing more about it).
- Deliveries are claimed (``sending``, committed) before the DM goes out and marked ``sent``
  after. A bot that dies in between leaves a ``sending`` row; once its lease runs out another
  run takes it over. It first looks for the DM in the conversation since the earlier claim (a
  bot down longer than Discord keeps nonces, "a few minutes", would otherwise post it twice),
  then sends it with the same Discord nonce, for which Discord returns the first message instead
  of posting a second: each reminder reaches each person once.
- The question of the week is claimed the same way (``posting``) and posted with a nonce.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from shared.db.notify import EventBus
from tenants.seacalendar.bot.discord_rest import DiscordError, DiscordRest
from tenants.seacalendar.tally import COUNTED

EXPANSION = f"""WITH due AS (
    SELECT r.id, r.poll_id, r.type FROM reminders r WHERE r.status = 'pending' AND r.scheduled_for <= now()
    ORDER BY r.scheduled_for LIMIT 100 FOR UPDATE SKIP LOCKED
), recipients AS (
    SELECT d.id AS reminder_id, i.discord_id FROM due d JOIN invites i ON i.poll_id = d.poll_id
    WHERE d.type LIKE 'vote_%' AND NOT i.has_voted
    UNION
    SELECT d.id, u.discord_id FROM due d JOIN polls vp ON vp.id = d.poll_id JOIN votes v ON v.poll_id = vp.id
    JOIN users u ON u.id = v.user_id WHERE d.type LIKE 'event_%' AND u.discord_id IS NOT NULL
      AND (vp.finalized_option_id = ANY(v.available_option_ids) OR vp.finalized_option_id = ANY(v.maybe_option_ids))
      AND {COUNTED}
    UNION
    SELECT d.id, u.discord_id FROM due d JOIN polls p ON p.id = d.poll_id JOIN users u ON u.id = p.creator_id
    WHERE d.type LIKE 'event_%' AND u.discord_id IS NOT NULL
), inserted AS (
    INSERT INTO reminder_deliveries (reminder_id, discord_id) SELECT reminder_id, discord_id FROM recipients
    ON CONFLICT DO NOTHING RETURNING 1
)
UPDATE reminders SET status = 'done', processed_at = now() WHERE id IN (SELECT id FROM due)
RETURNING (SELECT count(*) FROM inserted)"""

# ``taken_over_from``: when the row was last claimed by a run that didn't finish it (else NULL).
CLAIM = """UPDATE reminder_deliveries d SET status = 'sending', claimed_at = now(), attempts = d.attempts + 1
FROM (
    SELECT id, CASE WHEN status = 'sending' THEN claimed_at END AS taken_over_from FROM reminder_deliveries
    WHERE (status = 'pending' AND next_attempt_at <= now())
       OR (status = 'sending' AND claimed_at < now() - make_interval(secs => $1))
    ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) c
WHERE d.id = c.id
RETURNING d.id, d.discord_id, d.attempts, d.reminder_id, c.taken_over_from"""

# Read at send time, not at expansion: a delivery can wait (a backlog, a retry, a lease) while the
# invitee votes or is removed from the poll (no invite row: awaits_vote is NULL).
DETAILS = """SELECT r.type, p.id AS poll_id, p.title, p.status, p.voting_deadline, v.name AS venue,
    (SELECT NOT has_voted FROM invites i WHERE i.poll_id = p.id AND i.discord_id = $2) AS awaits_vote,
    (SELECT (o.date + COALESCE(o.start_time, time '00:00')) AT TIME ZONE p.timezone FROM poll_options o
     WHERE o.id = p.finalized_option_id AND o.date IS NOT NULL) AS starts_at
FROM reminders r JOIN polls p ON p.id = r.poll_id LEFT JOIN venues v ON v.id = p.venue_id WHERE r.id = $1"""

EVENT_WORDS = {"event_1w": "in one week", "event_1d": "tomorrow", "event_2h": "in two hours"}


async def expire_polls(pool: asyncpg.Pool, bus: EventBus) -> int:
    """Close polls whose deadline passed; returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "UPDATE polls SET status = 'expired', updated_at = now() "
            "WHERE status = 'voting' AND voting_deadline <= now() RETURNING id"
        )
        for row in rows:
            poll_id = row["id"]
            await conn.execute(
                "UPDATE reminders SET status = 'cancelled' WHERE poll_id = $1 AND status = 'pending'", poll_id
            )
            await bus.publish_raw(conn, "poll_expired", f"poll:{poll_id}", {"poll_id": poll_id})
    return len(rows)


async def expand_due_reminders(pool: asyncpg.Pool) -> int:
    """Turn due reminders into deliveries; returns how many deliveries were created."""
    async with pool.acquire() as conn, conn.transaction():
        created = await conn.fetchval(EXPANSION)
    return int(created or 0)


def reminder_text(details: asyncpg.Record, public_url: str) -> str:
    """The DM for one delivery."""
    link = f" {public_url.rstrip('/')}/seacalendar/#poll={details['poll_id']}" if public_url else ""
    if details["type"].startswith("vote_"):
        deadline = int(details["voting_deadline"].timestamp())
        return f"⏰ Voting on “{details['title']}” closes <t:{deadline}:R> and you haven't voted yet.{link}"
    where = f" at {details['venue']}" if details["venue"] else ""
    start = f" (<t:{int(details['starts_at'].timestamp())}:F>)" if details["starts_at"] else ""
    return f"📅 “{details['title']}” is {EVENT_WORDS[details['type']]}{start}{where}.{link}"


class Deliveries:
    """Claims and sends reminder DMs."""

    def __init__(self, pool: asyncpg.Pool, rest: DiscordRest, public_url: str, concurrency: int, lease: float) -> None:
        self.pool = pool
        self.rest = rest
        self.public_url = public_url
        self.lease = lease
        self._slots = asyncio.Semaphore(concurrency)
        self.sent = 0
        self.failed = 0

    async def run_once(self, batch: int = 50) -> int:
        """Send every delivery that is due; returns how many were handled."""
        handled = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                claimed = await conn.fetch(CLAIM, self.lease, batch)
            if not claimed:
                return handled
            await asyncio.gather(*(self._deliver(row) for row in claimed))
            handled += len(claimed)

    async def _finish(
        self,
        delivery_id: int,
        status: str,
        error: str | None = None,
        retry_in: float = 0,
        invite: tuple[int, str] | None = None,
        uncount: bool = False,
    ) -> None:
        """Record the outcome; a sent vote reminder is also counted on the invite, in the same transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE reminder_deliveries SET status = $1, last_error = $2, "
                "sent_at = CASE WHEN $1 = 'sent' THEN now() END, "
                "next_attempt_at = now() + make_interval(secs => $3), attempts = attempts - $5::int WHERE id = $4",
                status,
                error,
                retry_in,
                delivery_id,
                int(uncount),
            )
            if invite is not None:
                await conn.execute(
                    "UPDATE invites SET reminders_sent = reminders_sent + 1 WHERE poll_id = $1 AND discord_id = $2",
                    *invite,
                )

    async def _deliver(self, row: asyncpg.Record) -> None:
        async with self._slots:
            async with self.pool.acquire() as conn:
                details = await conn.fetchrow(DETAILS, row["reminder_id"], row["discord_id"])
            if details is None:
                raise LookupError(f"reminder {row['reminder_id']} is gone")
            vote = details["type"].startswith("vote_")
            if (vote and not (details["awaits_vote"] and details["status"] == "voting")) or (
                not vote and details["status"] != "finalized"
            ):
                await self._finish(row["id"], "skipped")
                return
            content = reminder_text(details, self.public_url)
            try:
                channel = await self.rest.open_dm(row["discord_id"])
                # The clocks of this box and Discord's may differ a little: look from a minute earlier.
                taken_over = row["taken_over_from"]
                if taken_over is None or not await self.rest.sent_since(
                    channel, content, taken_over - timedelta(minutes=1)
                ):
                    await self.rest.send_message(channel, {"content": content}, nonce=f"rd-{row['id']}")
            except DiscordError as exc:
                if exc.status in (401, 429):
                    # Discord asked for a wait (no sooner), or refuses the bot's token (a good one,
                    # after a restart, is all this reminder needs): neither is a failed attempt.
                    retry_in = max(exc.retry_after, 30.0) if exc.status == 429 else 30.0
                    await self._finish(row["id"], "pending", str(exc), retry_in=retry_in, uncount=True)
                elif exc.retryable and row["attempts"] < 5:
                    await self._finish(row["id"], "pending", str(exc), retry_in=30.0 * row["attempts"])
                else:
                    self.failed += 1
                    await self._finish(row["id"], "failed", str(exc))
                return
            await self._finish(row["id"], "sent", invite=(details["poll_id"], row["discord_id"]) if vote else None)
            self.sent += 1
