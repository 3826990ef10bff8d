"""Voting and finalising: the writes every connected client watches (``vote_updated``, ``poll_finalized``)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError
from shared.http.body import read_json
from shared.http.responses import json_response, raw_json_response
from shared.tenant import TenantContext
from tenants.seacalendar import poll_writes, store
from tenants.seacalendar.polls import room
from tenants.seacalendar.reminders import cancel_reminders, schedule_event_reminders
from tenants.seacalendar.schemas import FinalizeIn, VoteIn
from tenants.seacalendar.users import current_user_id, load_user


def routes(ctx: TenantContext) -> list[Route]:
    """``/api/polls/{id}/vote`` and ``/api/polls/{id}/finalize``."""

    async def vote(request: Request) -> Response:
        """Cast or change my vote (until the deadline); everyone in the poll's room sees the new tally."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, VoteIn)
        async with ctx.db.transaction() as conn:
            user = await load_user(conn, user_id, lock=True)
            # The row lock orders concurrent votes, so each published tally includes every earlier one.
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id, lock=True)
            store.require_status(poll, "voting")
            if poll.voting_deadline is not None and poll.voting_deadline <= datetime.now(UTC):
                raise ApiError(409, "voting_closed", "The voting deadline has passed.")
            unknown = (set(body.available) | set(body.maybe)) - await store.option_ids(conn, poll.id)
            if unknown:
                raise ApiError(
                    422,
                    "unknown_option",
                    "The vote names options that are not in this poll.",
                    details={"option_ids": sorted(unknown)},
                )
            await conn.execute(
                sa.text(
                    "INSERT INTO votes (poll_id, user_id, available_option_ids, maybe_option_ids, note) "
                    "VALUES (:p, :u, :a, :m, :n) ON CONFLICT (poll_id, user_id) DO UPDATE SET "
                    "available_option_ids = EXCLUDED.available_option_ids, maybe_option_ids = "
                    "EXCLUDED.maybe_option_ids, note = EXCLUDED.note, updated_at = now()"
                ),
                {"p": poll.id, "u": user_id, "a": body.available, "m": body.maybe, "n": body.note},
            )
            if user["discord_id"] is not None:
                await conn.execute(
                    sa.text("UPDATE invites SET has_voted = true WHERE poll_id = :p AND discord_id = :d"),
                    {"p": poll.id, "d": user["discord_id"]},
                )
            tally = await store.bumped_tally(conn, poll.id)
            await ctx.bus.publish(conn, "vote_updated", room(poll.id), {"poll_id": poll.id, "tally": tally})
        return json_response({"poll_id": poll.id, "vote": body.model_dump(), "tally": tally})

    async def finalize(request: Request) -> Response:
        """Pick the winning option (creator only); schedules the event reminders."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, FinalizeIn)
        async with ctx.db.transaction() as conn:
            await load_user(conn, user_id, lock=True)  # a new venue names its creator
            poll = await store.visible_poll(conn, request.path_params["poll_id"], user_id, lock=True)
            store.require_creator(poll, user_id)
            store.require_status(poll, "voting", "expired")
            if body.option_id not in await store.option_ids(conn, poll.id):
                raise ApiError(422, "unknown_option", "The option is not in this poll.")
            await conn.execute(
                sa.text(
                    "UPDATE polls SET status = 'finalized', finalized_option_id = :o, finalized_at = now(), "
                    "updated_at = now() WHERE id = :id"
                ),
                {"o": body.option_id, "id": poll.id},
            )
            if body.venue is not None:
                await poll_writes.set_venue(conn, poll.id, body.venue, user_id)
            await cancel_reminders(conn, poll.id, "vote_%")
            await schedule_event_reminders(conn, poll.id)
            tally = await store.tally(conn, poll.id)
            data = {"poll_id": poll.id, "option_id": body.option_id, "tally": tally}
            await ctx.bus.publish(conn, "poll_finalized", room(poll.id), data)
            doc = await store.poll_document(conn, poll.id, user_id)
        return raw_json_response(doc)

    return [
        Route("/api/polls/{poll_id:id}/vote", vote, methods=["POST"]),
        Route("/api/polls/{poll_id:id}/finalize", finalize, methods=["POST"]),
    ]
