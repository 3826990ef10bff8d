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
from shared.auth.passwords import check_password, hash_password
from shared.auth.tokens import AccessClaims
from shared.digits import ascii_int
from shared.errors import ApiError, unauthorized
from shared.http.body import read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.seacalendar.schemas import ProfileUpdate

# ``has_password``: whether the account can prove itself with a password (the web UI asks for it
# before deleting the account), without ever sending the hash.
COLUMNS = (
    "id, discord_id, discord_username, display_name, avatar, username, "
    "password_hash IS NOT NULL AS has_password, created_at"
)


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
    """The caller's user id from the bearer token, or 401 (also once the account is deleted)."""
    return (await current_claims(ctx, request))[1]


async def current_claims(ctx: TenantContext, request: Request) -> tuple[AccessClaims, int]:
    """The bearer token's claims and the user id they name, or 401 (also once the account is deleted).

    Access tokens outlive an account deletion by up to their 15 minutes, so the user is looked
    up: one primary-key probe.
    """
    claims = await ctx.tokens.authenticate(request)
    user_id = user_id_of(claims)
    if not await user_exists(ctx, user_id):
        raise unauthorized("This account was deleted; sign in again to start afresh.")
    return claims, user_id


async def user_exists(ctx: TenantContext, user_id: int) -> bool:
    """Whether the account exists: one primary-key probe."""
    # On the driver: SQLAlchemy's statement layer doubled the gateway's CPU for a poll read.
    async with ctx.db.raw() as db:
        return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))


def user_id_of(claims: AccessClaims) -> int:
    """The user id an access token names, or 401."""
    # ASCII digits a bigint holds: the id now reaches PostgreSQL on every request.
    user_id = ascii_int(claims.subject, max_digits=18)
    if user_id is None:
        raise unauthorized("The access token names no account.")
    return user_id


async def prove_identity(
    ctx: TenantContext,
    claims: AccessClaims,
    stored_hash: str | None,
    given: str | None,
    action: str = "change the username or password",
) -> None:
    """Let a credential change (or ``action``) through only from a recent sign-in or with the current password.

    An access token alone is not enough: one read from a shared screen or a log would
    otherwise become a permanent way in. Wrong current passwords count against the
    account's sign-in limit, so a stolen token cannot be used to guess it.
    """
    if given is None:
        if claims.signed_in_within():
            return
        raise ApiError(
            403,
            "reauth_required",
            f"To {action}, give current_password or sign in again first.",
        )
    key = f"#{claims.subject}"  # '#' is never in a username, so this cannot share a username's count
    too_many = "Too many wrong passwords for this account; wait a while."
    if await check_password(ctx.login_limiter, key, stored_hash, given, too_many=too_many):
        return
    if stored_hash is None:
        raise ApiError(401, "invalid_credentials", "This account has no password yet; sign in again to set one.")
    raise ApiError(401, "invalid_credentials", "The current password is wrong.")


async def load_user(conn: AsyncConnection, user_id: int, *, lock: bool = False) -> dict[str, Any]:
    """The account, or 401 when it no longer exists.

    ``lock``: for a write that adds rows naming the account, held until it commits (KEY SHARE:
    it stops only a deletion). Taken before any poll's lock, as the deletion takes the account's
    first too (``account.delete_user``): the deletion then waits for the write and sees what it
    added, or the write waits for the deletion and answers 401; one order, so no deadlock.
    """
    sql = f"SELECT {COLUMNS} FROM users WHERE id = :id" + (" FOR KEY SHARE" if lock else "")
    row = (await conn.execute(sa.text(sql), {"id": user_id})).first()
    if row is None:
        raise unauthorized("The account no longer exists.")
    return dict(row._mapping)


async def password_hash_of(conn: AsyncConnection, user_id: int) -> str | None:
    """The account's password hash (None: it signs in with Discord only)."""
    value = await conn.scalar(sa.text("SELECT password_hash FROM users WHERE id = :id"), {"id": user_id})
    return str(value) if value is not None else None


def routes(ctx: TenantContext) -> list[Route]:
    """``/api/users/me``."""

    async def me(request: Request) -> Response:
        """The signed-in account."""
        user_id = await current_user_id(ctx, request)
        async with ctx.db.connect() as conn:
            return json_response(await load_user(conn, user_id))

    async def update_me(request: Request) -> Response:
        """Change the display name, or set a local username and password for signing in without Discord."""
        claims, user_id = await current_claims(ctx, request)
        body = await read_json(request, ProfileUpdate)
        if (body.username is None) != (body.password is None):
            raise ApiError(422, "validation_error", "Set username and password together.")
        if body.password is not None:
            async with ctx.db.connect() as conn:
                stored = await password_hash_of(conn, user_id)
            await prove_identity(ctx, claims, stored, body.current_password)
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
