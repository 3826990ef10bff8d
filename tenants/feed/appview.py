"""The feed API's shared context: settings, clients and services, built once per app and passed in.

Every route module receives the :class:`AppView` rather than importing anything global, as the
Bluesky AppView hands its context to each endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode
from starlette.requests import HTTPConnection

from shared.auth.bluesky import BlueskyClient, TokenBox
from shared.auth.refresh import RefreshTokens
from shared.auth.tokens import AccessClaims, bearer_token
from shared.errors import unauthorized
from shared.http.addresses import public_only_transport
from shared.settings import env_config
from shared.tenant import TenantContext
from tenants.feed.cursor import Cursors
from tenants.feed.settings import FeedSettings, network_trusted

# Scope claims distinguish the XRPC session's two JWTs, as a PDS's do.
ACCESS_SCOPE = "com.atproto.access"
REFRESH_SCOPE = "com.atproto.refresh"
XRPC_ACCESS_TTL = 2 * 3600
XRPC_REFRESH_TTL = 90 * 24 * 3600


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ApiSettings(BaseSettings):
    """What the feed's API reads besides the shared and indexer settings (``ONEBOX_*``)."""

    model_config = env_config()

    # DIDs allowed to send push broadcasts (comma list).
    feed_admins: Annotated[list[str], NoDecode] = []
    feed_pds_timeout: float = 10.0
    # Native WebSocket: time to authenticate, heartbeat period, frames queued per client before it is cut.
    feed_ws_auth_grace_s: float = 5.0
    feed_ws_heartbeat_s: float = 25.0
    feed_ws_queue: int = 256
    # The DID describeServer reports; default did:web of the request's host.
    feed_service_did: str | None = None

    @field_validator("feed_admins", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split(value)


@dataclass
class AppView:
    """Shared services of the feed API."""

    ctx: TenantContext
    feed: FeedSettings
    api: ApiSettings
    http: httpx.AsyncClient
    bluesky: BlueskyClient
    box: TokenBox
    cursors: Cursors
    xrpc_refresh: RefreshTokens
    community: frozenset[str]
    services: dict[str, Any] = field(default_factory=dict)

    def claims(self, conn: HTTPConnection, token: str | None) -> AccessClaims:
        """Verified access claims of ``token`` (401 when missing, invalid, or an XRPC refresh token)."""
        if token is None:
            raise unauthorized()
        claims = self.ctx.tokens.verify(token)
        if claims.extra.get("scope") == REFRESH_SCOPE:
            raise unauthorized("A refresh token cannot be used as an access token.")
        return claims

    async def viewer(self, conn: HTTPConnection) -> str:
        """The signed-in member's DID, or 401."""
        return self.claims(conn, bearer_token(conn)).subject

    async def maybe_viewer(self, conn: HTTPConnection) -> str | None:
        """The member's DID when a token is sent (an invalid one is still 401), else None."""
        token = bearer_token(conn)
        return None if token is None else self.claims(conn, token).subject


def build(ctx: TenantContext) -> AppView:
    """The AppView of one app (settings read now, HTTP client closed by the tenant's lifespan)."""
    feed = ctx.settings.load(FeedSettings)
    api = ctx.settings.load(ApiSettings)
    secret = ctx.settings.require_secret()
    # PDS and DID document URLs come from data anyone can publish: connections go to public addresses only.
    trusted = network_trusted(feed)
    http = httpx.AsyncClient(
        timeout=api.feed_pds_timeout, follow_redirects=False, transport=public_only_transport(trusted)
    )
    return AppView(
        ctx=ctx,
        feed=feed,
        api=api,
        http=http,
        bluesky=BlueskyClient(http, feed.feed_handle_resolver, feed.plc_url),
        box=TokenBox(secret),
        cursors=Cursors(secret),
        xrpc_refresh=RefreshTokens(XRPC_REFRESH_TTL, ctx.settings.refresh_reuse_grace),
        community=frozenset(feed.feed_tags),
    )
