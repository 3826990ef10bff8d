"""Poll queries shared by the API, the interactions endpoint and the socket rooms.

Documents clients read are built by PostgreSQL (``json_build_object``) and passed through, so a
read is one round trip; visibility is one SQL predicate used everywhere a poll is looked up.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.errors import ApiError, not_found
from tenants.seacalendar.tally import TALLY, tally_query

MAX_ID = 2**63 - 1

# Whether ``:uid`` is one of poll ``p``'s invitees.
INVITED = """EXISTS (SELECT 1 FROM invites i JOIN users me ON me.discord_id = i.discord_id
    WHERE i.poll_id = p.id AND me.id = :uid)"""
# Who may see a poll: its creator; once out of draft, anyone if it is public, else its invitees.
VISIBLE = f"""(p.creator_id = :uid OR (p.status <> 'draft' AND (NOT p.is_private OR {INVITED})))"""

OPTION = """json_build_object('id', o.id, 'label', o.label, 'date', o.date, 'start_time', o.start_time,
    'end_time', o.end_time, 'position', o.position)"""

# Who was invited, and which of them voted, is for the creator and the invitees: anyone else who
# may see a public poll gets ``invitees: null`` and the count, not a list of Discord accounts. An
# invitee's ``display_name`` is null until that Discord account signs in to SeaCalendar.
POLL_DOCUMENT = f"""SELECT json_build_object(
    'id', p.id, 'type', p.type, 'title', p.title, 'description', p.description, 'status', p.status,
    'is_private', p.is_private, 'timezone', p.timezone, 'voting_deadline', p.voting_deadline,
    'guild_id', p.guild_id, 'channel_id', p.channel_id, 'message_id', p.message_id,
    'finalized_option_id', p.finalized_option_id, 'finalized_at', p.finalized_at,
    'created_at', p.created_at, 'updated_at', p.updated_at, 'is_creator', p.creator_id = :uid,
    'creator', json_build_object('id', u.id, 'display_name', u.display_name, 'discord_id', u.discord_id),
    'venue', (SELECT json_build_object('id', v.id, 'name', v.name, 'address', v.address, 'url', v.url)
              FROM venues v WHERE v.id = p.venue_id),
    'options', COALESCE((SELECT json_agg({OPTION} ORDER BY o.position, o.id)
                         FROM poll_options o WHERE o.poll_id = p.id), '[]'::json),
    'tally', {TALLY.format(poll="p.id")},
    'my_vote', (SELECT json_build_object('available', v.available_option_ids, 'maybe', v.maybe_option_ids,
                                         'note', v.note, 'updated_at', v.updated_at)
                FROM votes v WHERE v.poll_id = p.id AND v.user_id = :uid),
    'invitee_count', (SELECT count(*) FROM invites i WHERE i.poll_id = p.id),
    'invitees', CASE WHEN p.creator_id = :uid OR {INVITED} THEN COALESCE((SELECT json_agg(json_build_object(
        'discord_id', i.discord_id, 'display_name', iu.display_name, 'has_voted', i.has_voted) ORDER BY i.discord_id)
        FROM invites i LEFT JOIN users iu ON iu.discord_id = i.discord_id WHERE i.poll_id = p.id), '[]'::json) END
)::text FROM polls p JOIN users u ON u.id = p.creator_id WHERE p.id = :id AND {VISIBLE}"""


def check_id(value: int, what: str = "poll") -> int:
    """A path id PostgreSQL can hold, else the same 404 an unknown id gets."""
    if not 1 <= value <= MAX_ID:
        raise not_found(what)
    return value


async def visible_poll(conn: AsyncConnection, poll_id: int, user_id: int, lock: bool = False) -> Any:
    """The poll row when ``user_id`` may see it (row-locked with ``lock``), else 404."""
    sql = f"SELECT p.* FROM polls p WHERE p.id = :id AND {VISIBLE}" + (" FOR UPDATE OF p" if lock else "")
    row = (await conn.execute(sa.text(sql), {"id": check_id(poll_id), "uid": user_id})).first()
    if row is None:
        raise not_found("poll")
    return row


async def can_see(conn: AsyncConnection, poll_id: int, user_id: int) -> bool:
    """Whether ``user_id`` may see the poll (used for Socket.IO rooms); never once the account is deleted."""
    if not 1 <= poll_id <= MAX_ID:
        return False
    # A socket's token outlives an account deletion by up to 15 minutes; public polls need the account too.
    sql = f"SELECT 1 FROM polls p WHERE p.id = :id AND {VISIBLE} AND EXISTS (SELECT 1 FROM users WHERE id = :uid)"
    return (await conn.execute(sa.text(sql), {"id": poll_id, "uid": user_id})).first() is not None


async def poll_document(conn: AsyncConnection, poll_id: int, user_id: int) -> str:
    """The full poll (options, live tally, my vote, invitees for those entitled to them) as JSON text, or 404."""
    text = (await conn.execute(sa.text(POLL_DOCUMENT), {"id": check_id(poll_id), "uid": user_id})).scalar()
    if text is None:
        raise not_found("poll")
    return str(text)


async def tally(conn: AsyncConnection, poll_id: int) -> dict[str, Any]:
    """Votes per option: ``{poll_id, voters, options: [{option_id, available, maybe}]}``."""
    value: dict[str, Any] = orjson.loads((await conn.execute(sa.text(tally_query(":p")), {"p": poll_id})).scalar_one())
    return value


async def bumped_tally(conn: AsyncConnection, poll_id: int) -> dict[str, Any]:
    """The tally after a write that changed it, with the next version (call with the poll row locked,
    so versions follow the order the writes commit in)."""
    await conn.execute(sa.text("UPDATE polls SET tally_version = tally_version + 1 WHERE id = :p"), {"p": poll_id})
    return await tally(conn, poll_id)


async def option_ids(conn: AsyncConnection, poll_id: int) -> set[int]:
    """Ids of the poll's options."""
    rows = await conn.execute(sa.text("SELECT id FROM poll_options WHERE poll_id = :p"), {"p": poll_id})
    return {r.id for r in rows}


def require_creator(poll: Any, user_id: int) -> None:
    """403 unless ``user_id`` created ``poll``."""
    if poll.creator_id != user_id:
        raise ApiError(403, "not_creator", "Only the poll's creator can do this.")


def require_status(poll: Any, *allowed: str) -> None:
    """409 naming the poll's state when it is not one of ``allowed``."""
    if poll.status not in allowed:
        raise ApiError(409, f"poll_{poll.status}", f"The poll is {poll.status}; this is not possible now.")
