"""Sign-in with Mastodon, and the onebox token pair that follows."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from shared.auth.mastodon import MastodonOAuth
from shared.auth.session_routes import session_routes, token_pair
from shared.errors import ApiError, unauthorized
from shared.http.body import parse_model
from shared.http.client_ip import client_ip
from shared.http.responses import json_response
from shared.tenant import TenantContext
from tenants.astro import profiles
from tenants.astro.models import InstanceQuery
from tenants.astro.settings import AstroSettings


async def member_id(ctx: TenantContext, request: Request) -> uuid.UUID:
    """The signed-in member's id from the bearer token, or 401 (also once the account is deleted).

    Access tokens outlive an account deletion by up to their 15 minutes, so the member is looked
    up: one primary-key probe, on a tenant whose requests are few.
    """
    claims = await ctx.tokens.authenticate(request)
    try:
        member = uuid.UUID(claims.subject)
    except ValueError:
        raise unauthorized("The access token does not name a member.") from None
    async with ctx.db.connect() as conn:
        if not await profiles.exists(conn, member):
            raise profiles.account_deleted()
    return member


async def load_account(conn: AsyncConnection, subject: str) -> dict[str, Any] | None:
    """A refreshed sign-in names the member; None once the account is deleted."""
    try:
        member = uuid.UUID(subject)
    except ValueError:
        return None
    return {"member_id": subject} if await profiles.exists(conn, member) else None


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
COOKIE_PATH = "/{}/api/auth/mastodon"  # the sign-in routes, all the state cookie is sent to


def routes(ctx: TenantContext, oauth: MastodonOAuth, settings: AstroSettings) -> list[Route]:
    """Routes under ``/api/auth``."""

    def redirect_uri(request: Request) -> str:
        """Where the instance sends the browser back: the configured public URL.

        Never the Host header on a public box: anyone can send one, and the instance would then
        deliver the victim's code to the attacker's host (which replays it here). Without the
        setting, only a box reached on its own loopback (development, tests) may use it.
        """
        if settings.astro_public_url:
            base = settings.astro_public_url
        elif request.url.hostname in LOOPBACK:
            base = f"{request.url.scheme}://{request.url.netloc}"
        else:
            raise ApiError(
                503, "astro_not_configured", "Mastodon sign-in needs ONEBOX_PUBLIC_URL (this box's public URL).",
                headers={"Retry-After": "3600"},
            )  # fmt: skip
        return f"{base.rstrip('/')}/{ctx.name}/api/auth/mastodon/callback"

    async def mastodon_start(request: Request) -> Response:
        """Start signing in with a Mastodon instance (302 to it; JSON ``authorize_url`` on request)."""
        query = parse_model(InstanceQuery, dict(request.query_params))
        caller = client_ip(request.scope, ctx.settings.trust_proxy_headers)
        ctx.login_limiter.hit(
            f"mastodon:{caller}",
            "Too many sign-in attempts; wait a while.",
        )
        url = await oauth.start(query.instance, redirect_uri(request))
        response: Response
        if "application/json" in request.headers.get("accept", ""):
            response = json_response({"authorize_url": url})
        else:
            response = RedirectResponse(url, status_code=302)
        oauth.bind_browser(response, url, COOKIE_PATH.format(ctx.name), secure=request.url.scheme == "https")
        return response

    async def mastodon_callback(request: Request) -> Response:
        """Where the instance sends the browser back: link the account, sign in (tokens in the fragment)."""
        params = request.query_params
        oauth.check_browser(request)
        account = await oauth.finish(params.get("state"), params.get("code"), params.get("error"))
        async with ctx.db.transaction() as conn:
            member = await profiles.upsert_member(conn, account)
            refresh = await ctx.refresh.issue(conn, str(member))
        tokens = token_pair(ctx, str(member), refresh, member_id=str(member))
        # The fragment never reaches a server or a log; the web UI reads and clears it.
        fragment = urlencode({k: tokens[k] for k in ("access_token", "refresh_token", "expires_in")})
        response = RedirectResponse(f"/{ctx.name}/#{fragment}", status_code=303)
        oauth.forget_browser(response, COOKIE_PATH.format(ctx.name))
        return response

    return [
        Route("/api/auth/mastodon", mastodon_start, methods=["GET"]),
        Route("/api/auth/mastodon/callback", mastodon_callback, methods=["GET"]),
        *session_routes(ctx, load_account),
    ]
