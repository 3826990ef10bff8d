"""The signed-in user's account: read and edit it, change the password, delete it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.auth.passwords import check_password, hash_password
from shared.auth.session_routes import token_pair
from shared.errors import ApiError
from shared.http.body import read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.wishlist import reset_tokens
from tenants.wishlist.schemas import AccountDelete, AccountUpdate, PasswordChange
from tenants.wishlist.web import caller_id, invalid, signed_out

USER_COLUMNS = "id, email, name, created_at"


def email_taken() -> ApiError:
    """409 for an email another account already uses (compared ignoring case)."""
    return ApiError(409, "email_taken", "An account with this email already exists.")


async def load_user(conn: AsyncConnection, user_id: int) -> dict[str, Any]:
    """The account document, or 401 when it was deleted meanwhile."""
    row = (await conn.execute(sa.text(f"SELECT {USER_COLUMNS} FROM users WHERE id = :id"), {"id": user_id})).first()
    if row is None:
        raise signed_out()
    return dict(row._mapping)


async def confirm_password(ctx: TenantContext, user_id: int, password: str) -> dict[str, Any]:
    """The account (with ``email``) once ``password`` is its password, else 403 ``wrong_password``.

    Wrong guesses count against the account's sign-in budget (login's, keyed by email), so a
    stolen access token is no faster a way to guess the password than the login form; the email,
    which would name a fresh budget, cannot be changed without the password either.
    """
    async with ctx.db.connect() as conn:
        row = (
            await conn.execute(
                sa.text(f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE id = :id"), {"id": user_id}
            )
        ).first()
    if row is None:
        raise signed_out()
    too_many = "Too many wrong passwords for this account; wait a while."
    if not await check_password(ctx.login_limiter, row.email.lower(), row.password_hash, password, too_many=too_many):
        raise ApiError(403, "wrong_password", "The password is wrong.")
    return {name: getattr(row, name) for name in ("id", "email", "name")}


def routes(ctx: TenantContext) -> list[Route]:
    """``/api/users/me`` and ``POST /api/auth/password``."""

    async def get_me(request: Request) -> Response:
        """``{"user": {id, email, name, created_at}}`` of the signed-in user."""
        user_id = await caller_id(ctx, request)
        async with ctx.db.connect() as conn:
            return json_response({"user": await load_user(conn, user_id)})

    async def update_me(request: Request) -> Response:
        """Change ``name`` and/or ``email`` (fields left out keep their value); answers the account.

        A new email (not just its case) needs ``current_password``: the email is what signs in.
        """
        user_id = await caller_id(ctx, request)
        changes = (await read_json(request, AccountUpdate)).changes()
        password = changes.pop("current_password", None)
        if "email" in changes:
            async with ctx.db.connect() as conn:
                current = (await load_user(conn, user_id))["email"]
            if changes["email"].lower() != current.lower():
                if password is None:
                    raise invalid("current_password", "needed to change the email")
                await confirm_password(ctx, user_id, password)
        try:
            async with ctx.db.transaction() as conn:
                if changes:
                    # Column names come from the model's fields (unknown keys were refused), never the caller.
                    sets = ", ".join(f"{name} = :{name}" for name in changes)
                    await conn.execute(sa.text(f"UPDATE users SET {sets} WHERE id = :id"), {**changes, "id": user_id})
                if "email" in changes:
                    # Reset links went to the old address, which may be why it is being left.
                    await reset_tokens.spend_all(conn, user_id)
                user = await load_user(conn, user_id)
        except IntegrityError:
            # The only unique index an update can hit is lower(email).
            raise email_taken() from None
        return json_response({"user": user})

    async def change_password(request: Request) -> Response:
        """Replace the password; every sign-in ends and this one continues with the new pair."""
        user_id = await caller_id(ctx, request)
        body = await read_json(request, PasswordChange)
        user = await confirm_password(ctx, user_id, body.current_password)
        password_hash = await hash_password(body.new_password)
        async with ctx.db.transaction() as conn:
            changed = (
                await conn.execute(
                    sa.text("UPDATE users SET password_hash = :h WHERE id = :id RETURNING id"),
                    {"h": password_hash, "id": user_id},
                )
            ).scalar()
            if changed is None:
                raise signed_out()
            # Whoever holds an old refresh token (a lost phone, the reason to change) is out.
            await ctx.refresh.forget_subject(conn, str(user_id))
            # A reset link asked for earlier would undo the change.
            await reset_tokens.spend_all(conn, user_id)
            refresh = await ctx.refresh.issue(conn, str(user_id))
        return json_response(token_pair(ctx, str(user_id), refresh, user=user))

    async def delete_me(request: Request) -> Response:
        """Delete the account with its wishlists, items, tags, reservations and sign-ins, at once."""
        user_id = await caller_id(ctx, request)
        body = await read_json(request, AccountDelete)
        await confirm_password(ctx, user_id, body.password)
        async with ctx.db.transaction() as conn:
            # Foreign keys cascade to wishlists (their items, tags on them, reservations on them),
            # tags, and the user's reservations on other people's lists.
            await conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id})
            await ctx.refresh.forget_subject(conn, str(user_id))
        return Response(status_code=204)

    return [
        Route("/api/users/me", get_me, methods=["GET"]),
        Route("/api/users/me", update_me, methods=["PUT", "PATCH"]),
        Route("/api/users/me", delete_me, methods=["DELETE"]),
        Route("/api/auth/password", change_password, methods=["POST"]),
    ]
