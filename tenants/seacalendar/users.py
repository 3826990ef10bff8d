"""Accounts: Discord identities, optional local username and password, ``/api/users/me``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.auth.discord import DiscordIdentity
from shared.auth.passwords import hash_password
from shared.errors import ApiError, unauthorized
from shared.http.body import read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.seacalendar.schemas import ProfileUpdate

COLUMNS = "id, discord_id, discord_username, display_name, avatar, username, created_at"


async def upsert_discord_user(conn: AsyncConnection, identity: DiscordIdentity) -> dict[str, Any]:
    """Create the account of a Discord user, or refresh its name and avatar; returns the user."""
    row = (
        await conn.execute(
            sa.text(
                "INSERT INTO users (discord_id, discord_username, display_name, avatar) VALUES (:d, :u, :n, :a) "
                "ON CONFLICT (discord_id) DO UPDATE SET discord_username = EXCLUDED.discord_username, "
                "display_name = EXCLUDED.display_name, avatar = EXCLUDED.avatar, updated_at = now() "
                f"RETURNING {COLUMNS}"
            ),
            {
                "d": identity.id,
                "u": identity.username,
                "n": identity.global_name or identity.username,
                "a": identity.avatar,
            },
        )
    ).one()
    return dict(row._mapping)


async def current_user_id(ctx: TenantContext, request: Request) -> int:
    """The caller's user id from the bearer token, or 401."""
    claims = await ctx.tokens.authenticate(request)
    if not claims.subject.isdigit():
        raise unauthorized("The access token names no account.")
    return int(claims.subject)


async def load_user(conn: AsyncConnection, user_id: int) -> dict[str, Any]:
    """The account, or 401 when it no longer exists."""
    row = (await conn.execute(sa.text(f"SELECT {COLUMNS} FROM users WHERE id = :id"), {"id": user_id})).first()
    if row is None:
        raise unauthorized("The account no longer exists.")
    return dict(row._mapping)


def routes(ctx: TenantContext) -> list[Route]:
    """``/api/users/me``."""

    async def me(request: Request) -> Response:
        """The signed-in account."""
        user_id = await current_user_id(ctx, request)
        async with ctx.db.connect() as conn:
            return json_response(await load_user(conn, user_id))

    async def update_me(request: Request) -> Response:
        """Change the display name, or set a local username and password for signing in without Discord."""
        user_id = await current_user_id(ctx, request)
        body = await read_json(request, ProfileUpdate)
        if (body.username is None) != (body.password is None):
            raise ApiError(422, "validation_error", "Set username and password together.")
        password_hash = await hash_password(body.password) if body.password else None
        try:
            async with ctx.db.transaction() as conn:
                await load_user(conn, user_id)
                await conn.execute(
                    sa.text(
                        "UPDATE users SET display_name = COALESCE(:n, display_name), "
                        "username = COALESCE(:u, username), password_hash = COALESCE(:h, password_hash), "
                        "updated_at = now() WHERE id = :id"
                    ),
                    {"n": body.display_name, "u": body.username, "h": password_hash, "id": user_id},
                )
                user = await load_user(conn, user_id)
        except IntegrityError:
            raise ApiError(409, "username_taken", "This username is taken.") from None
        return json_response(user)

    return [
        Route("/api/users/me", me, methods=["GET"]),
        Route("/api/users/me", update_me, methods=["PUT"]),
    ]
