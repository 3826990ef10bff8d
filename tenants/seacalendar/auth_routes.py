"""Sign-in: Discord OAuth (redirect and callback), local password login, refresh, logout."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shared.auth.discord import DiscordOAuth
from shared.auth.passwords import check_password
from shared.auth.session_routes import session_routes, token_pair
from shared.errors import ApiError
from shared.http.body import parse_model, read_json
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.seacalendar.schemas import LoginBody, Strict
from tenants.seacalendar.settings import sea_settings
from tenants.seacalendar.users import COLUMNS, load_user, upsert_discord_user


class BeginQuery(Strict):
    # ``json``: the callback answers with the tokens (API clients); ``redirect``: back to the web UI.
    response: Literal["json", "redirect"] = "redirect"


async def load_account(conn: AsyncConnection, subject: str) -> dict[str, Any] | None:
    """What a refreshed sign-in says about the account (401 once it is deleted)."""
    return {"user": await load_user(conn, int(subject))}


def routes(ctx: TenantContext) -> list[Route]:
    """Routes under ``/api/auth``."""
    settings = sea_settings(ctx)
    oauth = DiscordOAuth(settings, ctx.settings.require_secret(), ctx.db, f"onebox_oauth_{ctx.name}")

    def callback_url(request: Request) -> str:
        if settings.discord_redirect_uri:
            return settings.discord_redirect_uri
        return f"{request.url.scheme}://{request.url.netloc}/{ctx.name}/api/auth/callback"

    async def discord(request: Request) -> Response:
        """Start signing in with Discord (redirects to Discord's consent page)."""
        query = parse_model(BeginQuery, dict(request.query_params))
        secure = request.url.scheme == "https"
        return await oauth.begin(callback_url(request), secure, {"response": query.response})

    async def callback(request: Request) -> Response:
        """Discord sends the browser back here: create or update the account and sign in."""
        identity, extra = await oauth.complete(request)
        async with ctx.db.transaction() as conn:
            user = await upsert_discord_user(conn, identity)
            refresh = await ctx.refresh.issue(conn, str(user["id"]))
        pair = token_pair(ctx, str(user["id"]), refresh, user=user)
        if extra.get("response") == "json":
            response: Response = json_response(pair)
        else:
            # Tokens travel in the fragment, which browsers never send to a server or put in logs.
            fragment = urlencode({k: pair[k] for k in ("access_token", "refresh_token", "expires_in")})
            response = RedirectResponse(f"{settings.seacalendar_ui_path}#{fragment}", status_code=303)
        oauth.clear_cookie(response)
        return response

    async def login(request: Request) -> Response:
        """Sign in with a local username and password (set through PUT /api/users/me)."""
        body = await read_json(request, LoginBody)
        async with ctx.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.text(f"SELECT {COLUMNS}, password_hash FROM users WHERE lower(username) = lower(:u)"),
                    {"u": body.username},
                )
            ).first()
        stored = None if row is None else row.password_hash
        too_many = "Too many sign-in attempts for this account; wait a while."
        right = await check_password(ctx.login_limiter, body.username.lower(), stored, body.password, too_many=too_many)
        if not right or row is None:  # no account: a wrong guess all the same, counted and timed alike
            raise ApiError(401, "invalid_credentials", "The username or password is wrong.")
        user = {k: v for k, v in row._mapping.items() if k != "password_hash"}
        async with ctx.db.transaction() as conn:
            refresh = await ctx.refresh.issue(conn, str(row.id))
        return json_response(token_pair(ctx, str(row.id), refresh, user=user))

    return [
        Route("/api/auth/discord", discord, methods=["GET"]),
        Route("/api/auth/callback", callback, methods=["GET"]),
        Route("/api/auth/login", login, methods=["POST"]),
        *session_routes(ctx, load_account),
    ]
