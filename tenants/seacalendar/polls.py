"""Polls: list, create, read (with the live tally), update, cancel, delete."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.http.body import parse_model, read_json
from shared.http.responses import raw_json_response
from shared.tenant import TenantContext
from tenants.seacalendar import poll_writes, store
from tenants.seacalendar.guilds import Guilds
from tenants.seacalendar.reminders import cancel_reminders, schedule_vote_reminders
from tenants.seacalendar.schemas import PollCreate, PollQuery, PollUpdate
from tenants.seacalendar.settings import sea_settings
from tenants.seacalendar.tally import VOTES
from tenants.seacalendar.users import current_user_id, load_user

LIST = f"""SELECT COALESCE(json_agg(json_build_object(
    'id', p.id, 'type', p.type, 'title', p.title, 'status', p.status, 'voting_deadline', p.voting_deadline,
    'is_private', p.is_private, 'created_at', p.created_at, 'is_creator', p.creator_id = :uid,
    'voters', (SELECT count(*) {VOTES.format(poll="p.id")}),
    'has_voted', EXISTS (SELECT 1 FROM votes v WHERE v.poll_id = p.id AND v.user_id = :uid)
) ORDER BY p.id DESC), '[]'::json)::text FROM (
    SELECT p.* FROM polls p WHERE (p.creator_id = :uid OR (p.status <> 'draft' AND {store.INVITED}))
      AND (CAST(:status AS text) IS NULL OR p.status = :status)
      AND (CAST(:before AS bigint) IS NULL OR p.id < :before)
    ORDER BY p.id DESC LIMIT :limit) p"""


def room(poll_id: int) -> str:
    """The Socket.IO room of a poll."""
    return f"poll:{poll_id}"


async def publish_deleted(ctx: TenantContext, conn: AsyncConnection, poll: Any) -> None:
    """Tell the poll's watchers and the bot it is gone (at commit); the bot gets the Discord ids
    of the poll's message to turn it into a notice, since the row will be gone."""
    data = {"poll_id": poll.id, "channel_id": poll.channel_id, "message_id": poll.message_id}
    await ctx.bus.publish(conn, "poll_deleted", room(poll.id), data)


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/polls``."""
    guilds = Guilds(sea_settings(ctx))

    async def list_polls(request: Request) -> Response:
        """Polls I created or am invited to, newest first; ``?status=``, ``?before=<id>``, ``?limit=``."""
        user_id = await current_user_id(ctx, request)
        query = parse_model(PollQuery, dict(request.query_params))
        params = {"uid": user_id, "status": query.status, "before": query.before, "limit": query.limit}
        async with ctx.db.connect() as conn:
            text = (await conn.execute(sa.text(LIST), params)).scalar_one()
        return raw_json_response(f'{{"polls": {text}}}')

    async def create_poll(request: Request) -> Response:
        """Create a poll with its options and invitees (a channel: one of a server the creator is in)."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, PollCreate)
        values = body.model_dump(exclude={"options", "invitees", "venue"})
        if body.channel_id is not None or body.guild_id is not None:
            async with ctx.db.connect() as conn:
                discord_id = (await load_user(conn, user_id))["discord_id"]
            if body.channel_id is not None:
                values["guild_id"] = await guilds.check_channel(body.channel_id, body.guild_id, discord_id)
            elif body.guild_id is not None:
                await guilds.require_member(body.guild_id, discord_id)
        async with ctx.db.transaction() as conn:
            await load_user(conn, user_id, lock=True)
            poll_id = await poll_writes.insert_poll(conn, user_id, values, body.options)
            if body.venue is not None:
                await poll_writes.set_venue(conn, poll_id, body.venue, user_id)
            await poll_writes.set_invitees(conn, poll_id, body.invitees)
            if body.status == "voting":
                await schedule_vote_reminders(conn, poll_id)
                # For the bot, which posts the poll to its channel; no room: browsers don't need it.
                await ctx.bus.publish(conn, "poll_created", None, {"poll_id": poll_id})
            doc = await store.poll_document(conn, poll_id, user_id)
        return raw_json_response(doc, status=201)

    async def get_poll(request: Request) -> Response:
        """One poll with its options, live tally, my vote, and its invitees if I created it or am one."""
        user_id = await current_user_id(ctx, request)
        async with ctx.db.connect() as conn:
            doc = await store.poll_document(conn, request.path_params["poll_id"], user_id)
        return raw_json_response(doc)

    async def update_poll(request: Request) -> Response:
        """Change a draft or open poll (creator only); removing voted options needs ``clear_votes``,
        and ``"venue": null`` takes the place off."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, PollUpdate)
        fields = body.model_fields_set
        async with ctx.db.transaction() as conn:
            await load_user(conn, user_id, lock=True)  # a new venue names its creator
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id, lock=True)
            store.require_creator(poll, user_id)
            store.require_status(poll, "draft", "voting")
            await conn.execute(
                sa.text(
                    "UPDATE polls SET title = COALESCE(:title, title), description = COALESCE(:description, "
                    "description), is_private = COALESCE(:is_private, is_private), timezone = COALESCE(:tz, "
                    "timezone), status = COALESCE(:status, status), voting_deadline = CASE WHEN :set_deadline "
                    "THEN :deadline ELSE voting_deadline END, updated_at = now() WHERE id = :id"
                ),
                {
                    "title": body.title,
                    "description": body.description,
                    "is_private": body.is_private,
                    "tz": body.timezone,
                    "status": body.status,
                    "set_deadline": "voting_deadline" in fields,
                    "deadline": body.voting_deadline,
                    "id": poll.id,
                },
            )
            if body.venue is not None:
                await poll_writes.set_venue(conn, poll.id, body.venue, user_id)
            elif "venue" in fields:  # an explicit null: the poll no longer names a place
                await conn.execute(sa.text("UPDATE polls SET venue_id = NULL WHERE id = :id"), {"id": poll.id})
            if body.invitees is not None:
                await poll_writes.set_invitees(conn, poll.id, body.invitees)
            # After the invitees and privacy: which votes hold an option is judged on the poll as it will be.
            if body.options is not None:
                await poll_writes.replace_options(conn, poll.id, poll.type, body.options, body.clear_votes)
            published = poll.status == "draft" and body.status == "voting"
            # Not while a draft: the bot would pass (and spend) a reminder that fell due then, and
            # publishing with a later deadline would never schedule it again.
            if published or ("voting_deadline" in fields and poll.status == "voting"):
                await schedule_vote_reminders(conn, poll.id)
            if published:
                await ctx.bus.publish(conn, "poll_created", None, {"poll_id": poll.id})
            tally = await store.bumped_tally(conn, poll.id)
            await ctx.bus.publish(conn, "poll_updated", room(poll.id), {"poll_id": poll.id, "tally": tally})
            doc = await store.poll_document(conn, poll.id, user_id)
        return raw_json_response(doc)

    async def cancel_poll(request: Request) -> Response:
        """Cancel a poll (creator only); pending reminders are dropped."""
        user_id = await current_user_id(ctx, request)
        async with ctx.db.transaction() as conn:
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id, lock=True)
            store.require_creator(poll, user_id)
            store.require_status(poll, "draft", "voting", "expired")
            await conn.execute(
                sa.text("UPDATE polls SET status = 'cancelled', updated_at = now() WHERE id = :id"), {"id": poll.id}
            )
            await cancel_reminders(conn, poll.id)
            await ctx.bus.publish(conn, "poll_cancelled", room(poll.id), {"poll_id": poll.id})
            doc = await store.poll_document(conn, poll.id, user_id)
        return raw_json_response(doc)

    async def delete_poll(request: Request) -> Response:
        """Delete a poll in any state with its votes, invites, reminders and memories (creator only, 204)."""
        user_id = await current_user_id(ctx, request)
        async with ctx.db.transaction() as conn:
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id, lock=True)
            store.require_creator(poll, user_id)
            # The foreign keys take the rest (reminder deliveries through their reminders).
            await conn.execute(sa.text("DELETE FROM polls WHERE id = :id"), {"id": poll.id})
            await publish_deleted(ctx, conn, poll)
        return Response(status_code=204)

    return [
        Route("/api/polls", list_polls, methods=["GET"]),
        Route("/api/polls", create_poll, methods=["POST"]),
        Route("/api/polls/{poll_id:id}", get_poll, methods=["GET"]),
        Route("/api/polls/{poll_id:id}", update_poll, methods=["PUT"]),
        Route("/api/polls/{poll_id:id}", delete_poll, methods=["DELETE"]),
        Route("/api/polls/{poll_id:id}/cancel", cancel_poll, methods=["POST"]),
    ]
