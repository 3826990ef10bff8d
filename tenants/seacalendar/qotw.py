"""Question of the week: per-guild schedule, queued questions, members' responses.

Discord is asked (guilds.py) who may do what: a server's schedule is set by those who may manage
the server, in one of its channels; only its members read the schedule and the questions, queue
questions and answer those asked (others get 403 ``not_in_guild``). A member's answers are
private to the server, so knowing a guild or question id is not enough.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.errors import ApiError, not_found
from shared.http.body import parse_model, read_json
from shared.http.responses import json_response, raw_json_response
from shared.tenant import TenantContext
from tenants.seacalendar import store
from tenants.seacalendar.guilds import Guilds
from tenants.seacalendar.schemas import GuildQuery, QotwConfigIn, QuestionIn, ResponseIn
from tenants.seacalendar.settings import sea_settings
from tenants.seacalendar.users import current_user_id, load_user

CONFIG = "guild_id, channel_id, enabled, weekday, hour, owner_id, last_posted_at, updated_at"

QUESTIONS = """SELECT COALESCE(json_agg(json_build_object('id', q.id, 'text', q.text, 'status', q.status,
    'posted_at', q.posted_at, 'created_at', q.created_at,
    'responses', (SELECT count(*) FROM responses r WHERE r.question_id = q.id),
    'my_response', (SELECT r.text FROM responses r WHERE r.question_id = q.id AND r.user_id = :uid))
    ORDER BY q.id DESC), '[]'::json)::text
    FROM (SELECT * FROM questions WHERE guild_id = :g ORDER BY id DESC LIMIT 100) q"""


async def save_response(conn: AsyncConnection, question_id: int, user_id: int, text: str) -> dict[str, Any]:
    """Record (or replace) a member's answer to a posted question."""
    status = (await conn.execute(sa.text("SELECT status FROM questions WHERE id = :q"), {"q": question_id})).scalar()
    if status is None:
        raise not_found("question")
    if status != "posted":
        raise ApiError(409, "question_not_posted", "This question has not been asked yet.")
    row = (
        await conn.execute(
            sa.text(
                "INSERT INTO responses (question_id, user_id, text) VALUES (:q, :u, :t) "
                "ON CONFLICT (question_id, user_id) DO UPDATE SET text = EXCLUDED.text, updated_at = now() "
                "RETURNING id, question_id, user_id, text, created_at, updated_at"
            ),
            {"q": question_id, "u": user_id, "t": text},
        )
    ).one()
    return dict(row._mapping)


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/qotw``."""
    guilds = Guilds(sea_settings(ctx))

    async def require_member(user_id: int, guild_id: str) -> None:
        """403 unless the caller is a member of the guild. Asked anew each time (no cache): someone
        who left or was removed from the server stops seeing its questions at once."""
        async with ctx.db.connect() as conn:
            discord_id = (await load_user(conn, user_id))["discord_id"]
        await guilds.require_member(guild_id, discord_id)

    async def get_config(request: Request) -> Response:
        """A guild's question-of-the-week schedule (``?guild_id=``) and ``can_manage``, whether the caller
        may change it; for its members. Without one, 404 with ``can_manage`` in its details."""
        user_id = await current_user_id(ctx, request)
        query = parse_model(GuildQuery, dict(request.query_params))
        async with ctx.db.connect() as conn:
            discord_id = (await load_user(conn, user_id))["discord_id"]
        # Asked here so that the web UI offers the schedule's form only to those whose save it takes.
        manager = await guilds.may_manage(query.guild_id, discord_id)
        async with ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(f"SELECT {CONFIG} FROM qotw_configs WHERE guild_id = :g"), {"g": query.guild_id}
                )
            ).first()
        if row is None:
            message = "The question-of-the-week configuration does not exist."
            raise ApiError(404, "not_found", message, details={"can_manage": manager})
        return json_response({**row._mapping, "can_manage": manager})

    async def put_config(request: Request) -> Response:
        """Set a guild's channel, weekday (0 = Monday) and hour (UTC); for those who may manage the server."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, QotwConfigIn)
        async with ctx.db.connect() as conn:
            discord_id = (await load_user(conn, user_id))["discord_id"]
        await guilds.require_manager(body.guild_id, discord_id)
        await guilds.channel_in(body.channel_id, body.guild_id)
        async with ctx.db.transaction() as conn:
            await load_user(conn, user_id, lock=True)
            row = (
                await conn.execute(
                    sa.text(
                        "INSERT INTO qotw_configs (guild_id, channel_id, enabled, weekday, hour, owner_id) "
                        "VALUES (:g, :c, :e, :w, :h, :u) ON CONFLICT (guild_id) DO UPDATE SET "
                        "channel_id = EXCLUDED.channel_id, enabled = EXCLUDED.enabled, weekday = EXCLUDED.weekday, "
                        "hour = EXCLUDED.hour, owner_id = EXCLUDED.owner_id, updated_at = now() "
                        f"RETURNING {CONFIG}"
                    ),
                    {
                        "g": body.guild_id,
                        "c": body.channel_id,
                        "e": body.enabled,
                        "w": body.weekday,
                        "h": body.hour,
                        "u": user_id,
                    },
                )
            ).one()
        return json_response(dict(row._mapping))

    async def list_questions(request: Request) -> Response:
        """A guild's questions, newest first, with response counts and my answer (``?guild_id=``); for its members."""
        user_id = await current_user_id(ctx, request)
        query = parse_model(GuildQuery, dict(request.query_params))
        await require_member(user_id, query.guild_id)
        async with ctx.db.connect() as conn:
            text = (await conn.execute(sa.text(QUESTIONS), {"g": query.guild_id, "uid": user_id})).scalar_one()
        return raw_json_response(f'{{"questions": {text}}}')

    async def add_question(request: Request) -> Response:
        """Queue a question; the bot asks the oldest queued one at the guild's scheduled time."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, QuestionIn)
        await require_member(user_id, body.guild_id)
        async with ctx.db.transaction() as conn:
            await load_user(conn, user_id, lock=True)
            row = (
                await conn.execute(
                    sa.text(
                        "INSERT INTO questions (guild_id, text, author_id) VALUES (:g, :t, :u) "
                        "RETURNING id, guild_id, text, status, created_at"
                    ),
                    {"g": body.guild_id, "t": body.text, "u": user_id},
                )
            ).one()
        return json_response(dict(row._mapping), status=201)

    async def respond(request: Request) -> Response:
        """Answer a question that has been asked, as a member of its guild (again: replaces the answer)."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, ResponseIn)
        question_id = store.check_id(request.path_params["question_id"], "question")
        async with ctx.db.connect() as conn:
            guild_id = await conn.scalar(sa.text("SELECT guild_id FROM questions WHERE id = :q"), {"q": question_id})
        if guild_id is None:
            raise not_found("question")
        await require_member(user_id, guild_id)
        async with ctx.db.transaction() as conn:
            await load_user(conn, user_id, lock=True)
            return json_response(await save_response(conn, question_id, user_id, body.text), status=201)

    return [
        Route("/api/qotw/config", get_config, methods=["GET"]),
        Route("/api/qotw/config", put_config, methods=["PUT"]),
        Route("/api/qotw/questions", list_questions, methods=["GET"]),
        Route("/api/qotw/questions", add_question, methods=["POST"]),
        Route("/api/qotw/questions/{question_id:id}/responses", respond, methods=["POST"]),
    ]
