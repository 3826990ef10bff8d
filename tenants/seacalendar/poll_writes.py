"""Writes shared by poll creation (API and slash command) and poll updates."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import ApiError
from tenants.seacalendar import store
from tenants.seacalendar.schemas import OptionIn, VenueIn
from tenants.seacalendar.tally import VOTES

INSERT_OPTION = (
    "INSERT INTO poll_options (poll_id, label, date, start_time, end_time, position) VALUES (:p, :l, :d, :s, :e, :i)"
)


def _option_values(poll_id: int, option: OptionIn, position: int) -> dict[str, Any]:
    return {
        "p": poll_id,
        "l": option.label,
        "d": option.date,
        "s": option.start_time,
        "e": option.end_time,
        "i": position,
    }


async def insert_poll(conn: AsyncConnection, creator_id: int, values: dict[str, Any], options: list[OptionIn]) -> int:
    """Insert a poll and its options; returns the poll id."""
    poll_id: int = (
        await conn.execute(
            sa.text(
                "INSERT INTO polls (creator_id, type, title, description, guild_id, channel_id, is_private, "
                "timezone, voting_deadline, status, venue_id) VALUES (:creator, :type, :title, :description, "
                ":guild_id, :channel_id, :is_private, :timezone, :voting_deadline, :status, :venue_id) RETURNING id"
            ),
            {"creator": creator_id, "venue_id": None, **values},
        )
    ).scalar_one()
    await conn.execute(sa.text(INSERT_OPTION), [_option_values(poll_id, o, i) for i, o in enumerate(options)])
    return poll_id


async def set_venue(conn: AsyncConnection, poll_id: int, venue: VenueIn, user_id: int) -> None:
    """Attach a new venue to the poll."""
    await conn.execute(
        sa.text(
            "WITH v AS (INSERT INTO venues (name, address, url, created_by) VALUES (:n, :a, :u, :by) RETURNING id) "
            "UPDATE polls SET venue_id = (SELECT id FROM v) WHERE id = :p"
        ),
        {"n": venue.name, "a": venue.address, "u": venue.url, "by": user_id, "p": poll_id},
    )


async def set_invitees(conn: AsyncConnection, poll_id: int, discord_ids: list[str]) -> None:
    """Make the poll's invitees exactly ``discord_ids`` (keeping what existing ones have done)."""
    await conn.execute(
        sa.text("DELETE FROM invites WHERE poll_id = :p AND NOT (discord_id = ANY(:ids))"),
        {"p": poll_id, "ids": discord_ids},
    )
    await conn.execute(
        sa.text(
            "INSERT INTO invites (poll_id, discord_id, has_voted) SELECT :p, d, EXISTS ("
            "SELECT 1 FROM votes v JOIN users u ON u.id = v.user_id WHERE v.poll_id = :p AND u.discord_id = d) "
            "FROM unnest(CAST(:ids AS text[])) AS d ON CONFLICT DO NOTHING"
        ),
        {"p": poll_id, "ids": discord_ids},
    )


async def replace_options(
    conn: AsyncConnection, poll_id: int, poll_type: str, options: list[OptionIn], clear_votes: bool
) -> None:
    """Make the poll's options ``options`` (kept by id, new without); removing ones with counted votes
    (see tally.COUNTED) needs ``clear_votes``. Run it after the poll's invitees and privacy are set."""
    if poll_type == "event" and any(o.date is None for o in options):
        raise ApiError(422, "validation_error", "Every option of an event poll needs a date.")
    existing = await store.option_ids(conn, poll_id)
    kept = [o.id for o in options if o.id is not None]
    if len(set(kept)) != len(kept) or not set(kept) <= existing:
        raise ApiError(422, "unknown_option", "An option id is repeated or belongs to another poll.")
    removed = sorted(existing - set(kept))
    if removed:
        # Only votes the tally counts: a vote kept for someone taken off the invitees doesn't hold
        # an option in place (it loses its choice of it, as every vote does).
        voted = (
            await conn.execute(
                sa.text(
                    f"SELECT count(*) {VOTES.format(poll=':p')} AND (v.available_option_ids && CAST(:r AS bigint[]) "
                    "OR v.maybe_option_ids && CAST(:r AS bigint[]))"
                ),
                {"p": poll_id, "r": removed},
            )
        ).scalar_one()
        if voted and not clear_votes:
            raise ApiError(
                409,
                "option_has_votes",
                "Options with votes can't be removed; send clear_votes: true to drop those choices.",
                details={"option_ids": removed},
            )
        await conn.execute(
            sa.text(
                "UPDATE votes SET "
                "available_option_ids = ARRAY(SELECT x FROM unnest(available_option_ids) x WHERE x <> ALL(:r)), "
                "maybe_option_ids = ARRAY(SELECT x FROM unnest(maybe_option_ids) x WHERE x <> ALL(:r)), "
                "updated_at = now() WHERE poll_id = :p"
            ),
            {"p": poll_id, "r": removed},
        )
        await conn.execute(sa.text("DELETE FROM poll_options WHERE id = ANY(:r)"), {"r": removed})
    for position, option in enumerate(options):
        values = _option_values(poll_id, option, position)
        if option.id is None:
            await conn.execute(sa.text(INSERT_OPTION), values)
        else:
            await conn.execute(
                sa.text(
                    "UPDATE poll_options SET label = :l, date = :d, start_time = :s, end_time = :e, position = :i "
                    "WHERE id = :id AND poll_id = :p"
                ),
                {**values, "id": option.id},
            )
