"""Accounts: register, login, refresh, logout."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.auth.passwords import check_password, hash_password
from shared.auth.session_routes import session_routes, token_pair
from shared.errors import ApiError
from shared.http.body import read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.wishlist.account_routes import email_taken
from tenants.wishlist.schemas import Login, Register


async def load_account(conn: AsyncConnection, subject: str) -> dict[str, Any] | None:
    """What a refreshed sign-in says about the account; None once it is deleted."""
    row = (
        await conn.execute(sa.text("SELECT id, email, name FROM users WHERE id = :id"), {"id": int(subject)})
    ).first()
    return {"user": dict(row._mapping)} if row is not None else None


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/auth``."""

    async def register(request: Request) -> Response:
        """Create an account and sign in."""
        body = await read_json(request, Register)
        password_hash = await hash_password(body.password)
        try:
            async with ctx.db.transaction() as conn:
                row = (
                    await conn.execute(
                        sa.text(
                            "INSERT INTO users (email, name, password_hash) VALUES (:e, :n, :h) "
                            "RETURNING id, email, name"
                        ),
                        {"e": body.email, "n": body.name, "h": password_hash},
                    )
                ).one()
                user = dict(row._mapping)
                refresh = await ctx.refresh.issue(conn, str(user["id"]))
        except IntegrityError:
            raise email_taken() from None
        return json_response(token_pair(ctx, str(user["id"]), refresh, user=user), status=201)

    async def login(request: Request) -> Response:
        """Sign in with email and password."""
        body = await read_json(request, Login)
        async with ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.text("SELECT id, email, name, password_hash FROM users WHERE lower(email) = lower(:e)"),
                    {"e": body.email},
                )
            ).first()
        stored = None if row is None else row.password_hash
        too_many = "Too many sign-in attempts for this account; wait a while."
        right = await check_password(ctx.login_limiter, body.email.lower(), stored, body.password, too_many=too_many)
        if not right or row is None:  # no account: a wrong guess all the same, counted and timed alike
            raise ApiError(401, "invalid_credentials", "The email or password is wrong.")
        user = {"id": row.id, "email": row.email, "name": row.name}
        async with ctx.db.transaction() as conn:
            refresh = await ctx.refresh.issue(conn, str(row.id))
        return json_response(token_pair(ctx, str(user["id"]), refresh, user=user))

    return [
        Route("/api/auth/register", register, methods=["POST"]),
        Route("/api/auth/login", login, methods=["POST"]),
        *session_routes(ctx, load_account),
    ]
