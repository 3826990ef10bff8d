"""Scheduling reminder rows; the bot claims and sends them (``bot/scheduler.py``).

Vote reminders go 3 days and 1 day before the voting deadline, event reminders 1 week, 1 day and
2 hours before the finalised date. A row per (poll, type) makes scheduling idempotent; moving the
deadline moves the rows still pending, and a reminder already sent is never scheduled again.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

VOTE = (("vote_3d", "3 days"), ("vote_1d", "1 day"))
EVENT = (("event_1w", "7 days"), ("event_1d", "1 day"), ("event_2h", "2 hours"))

# The start of the finalised option in the poll's time zone (midnight for a date without a time).
EVENT_START = """(SELECT (o.date + COALESCE(o.start_time, time '00:00')) AT TIME ZONE p.timezone
    FROM polls p JOIN poll_options o ON o.id = p.finalized_option_id WHERE p.id = :p AND o.date IS NOT NULL)"""


def _offsets(pairs: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"('{kind}', interval '{span}')" for kind, span in pairs)


async def _schedule(conn: AsyncConnection, poll_id: int, anchor: str, pairs: tuple[tuple[str, str], ...]) -> None:
    # Pending rows whose new time is already past must not fire; the upsert below revives the rest.
    await cancel_reminders(conn, poll_id, pairs[0][0].split("_")[0] + "_%")
    await conn.execute(
        sa.text(
            "INSERT INTO reminders (poll_id, type, scheduled_for) "
            f"SELECT :p, t.kind, a.at - t.span FROM (VALUES {_offsets(pairs)}) AS t(kind, span), "
            f"(SELECT {anchor} AS at) AS a WHERE a.at IS NOT NULL AND a.at - t.span > now() "
            "ON CONFLICT (poll_id, type) DO UPDATE SET scheduled_for = EXCLUDED.scheduled_for, status = 'pending' "
            "WHERE reminders.status <> 'done'"
        ),
        {"p": poll_id},
    )


async def schedule_vote_reminders(conn: AsyncConnection, poll_id: int) -> None:
    """(Re)schedule the vote reminders from the poll's current deadline."""
    await _schedule(conn, poll_id, "(SELECT voting_deadline FROM polls WHERE id = :p)", VOTE)


async def schedule_event_reminders(conn: AsyncConnection, poll_id: int) -> None:
    """Schedule the event reminders from the finalised option's start."""
    await _schedule(conn, poll_id, EVENT_START, EVENT)


async def cancel_reminders(conn: AsyncConnection, poll_id: int, kind: str = "%") -> None:
    """Cancel pending reminders of a poll (``kind``: ``vote_%``, ``event_%`` or all)."""
    await conn.execute(
        sa.text("UPDATE reminders SET status = 'cancelled' WHERE poll_id = :p AND type LIKE :k AND status = 'pending'"),
        {"p": poll_id, "k": kind},
    )
