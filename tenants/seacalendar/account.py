"""``DELETE /api/users/me``: an account leaves with its polls, votes, memories and answers, at once.

One transaction: the user row goes and the schema's foreign keys take the rest (see the
migrations): the polls they created with everyone's votes, invites, reminders and memories on
them; their votes and memories on other polls; their question-of-the-week answers. Venues and
questions they added stay, unattributed, and so does a server's question-of-the-week schedule
they saved last (``owner_id`` becomes NULL), which the whole server relies on.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import unauthorized
from shared.http.body import read_json
from shared.tenant import TenantContext
from tenants.seacalendar import store
from tenants.seacalendar.polls import publish_deleted, room
from tenants.seacalendar.schemas import AccountDelete
from tenants.seacalendar.users import current_claims, password_hash_of, prove_identity

# Every poll the deletion changes, row-locked in id order once the account's lock is held (no
# write naming the account is then in flight): each published tally is the last word.
TOUCHED = """SELECT p.id, p.creator_id = :u AS own, p.channel_id, p.message_id,
    EXISTS (SELECT 1 FROM votes v WHERE v.poll_id = p.id AND v.user_id = :u) AS voted,
    ARRAY(SELECT m.id FROM memories m WHERE m.poll_id = p.id AND m.author_id = :u ORDER BY m.id) AS memory_ids
    FROM polls p
    WHERE p.creator_id = :u OR p.id IN (SELECT v.poll_id FROM votes v WHERE v.user_id = :u)
        OR p.id IN (SELECT m.poll_id FROM memories m WHERE m.author_id = :u)
    ORDER BY p.id FOR UPDATE OF p"""


async def delete_user(ctx: TenantContext, conn: AsyncConnection, user_id: int) -> None:
    """Delete the account and tell whoever watches what changed (events fire at commit)."""
    # The account's lock first: writes adding rows that name it hold it from their start
    # (users.load_user), so once it is ours every such write has committed and TOUCHED sees it,
    # and those that come later wait, then find the account gone.
    locked = "SELECT 1 FROM users WHERE id = :u FOR UPDATE"
    if (await conn.execute(sa.text(locked), {"u": user_id})).first() is None:
        raise unauthorized("This account was deleted; sign in again to start afresh.")  # by another request of theirs
    touched = (await conn.execute(sa.text(TOUCHED), {"u": user_id})).all()
    deleted = (
        await conn.execute(sa.text("DELETE FROM users WHERE id = :u RETURNING discord_id"), {"u": user_id})
    ).one()
    if deleted.discord_id is not None:
        # Their votes are gone; an invite of their Discord account (the creator's) stays, unvoted.
        await conn.execute(
            sa.text("UPDATE invites SET has_voted = false WHERE discord_id = :d"), {"d": deleted.discord_id}
        )
    await ctx.refresh.forget_subject(conn, str(user_id))
    for poll in touched:
        if poll.own:
            await publish_deleted(ctx, conn, poll)
            continue
        if poll.voted:
            tally = await store.bumped_tally(conn, poll.id)
            await ctx.bus.publish(conn, "vote_updated", room(poll.id), {"poll_id": poll.id, "tally": tally})
        if poll.memory_ids:
            data = {"poll_id": poll.id, "memory_ids": list(poll.memory_ids)}
            await ctx.bus.publish(conn, "memories_removed", room(poll.id), data)
    # No room: for every gateway process, which closes the account's sockets (realtime.py).
    await ctx.bus.publish(conn, "user_deleted", None, {"user_id": user_id})


def routes(ctx: TenantContext) -> list[Route]:
    """``DELETE /api/users/me``."""

    async def delete_me(request: Request) -> Response:
        """Delete the signed-in account and its data (204); needs a recent sign-in or ``current_password``."""
        claims, user_id = await current_claims(ctx, request)
        # No body is fine: a Discord-only account has no password, and a recent sign-in is proof enough.
        body = await read_json(request, AccountDelete) if await request.body() else AccountDelete()
        async with ctx.db.connect() as conn:
            stored = await password_hash_of(conn, user_id)
        await prove_identity(ctx, claims, stored, body.current_password, "delete the account")
        async with ctx.db.transaction() as conn:
            await delete_user(ctx, conn, user_id)
        return Response(status_code=204)

    return [Route("/api/users/me", delete_me, methods=["DELETE"])]
