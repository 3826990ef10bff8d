"""Discord sign-in: OAuth 2 authorization code with ``state`` and PKCE (S256), via authlib.

The dance keeps no server session: :meth:`DiscordOAuth.begin` puts ``state`` and the PKCE verifier
in a signed, HttpOnly, SameSite=Lax cookie and records the state as single-use;
:meth:`DiscordOAuth.complete` checks both, exchanges the code and reads ``/users/@me``. Every
failure is an :class:`ApiError` (4xx, or 502 when Discord itself is down), never a 500.
"""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shared.auth.discord_settings import DiscordSettings
from shared.auth.oauth_state import OAuthStates, SignedCookie
from shared.db.pool import TenantDatabase
from shared.errors import ApiError

DANCE_TTL = 600


@dataclass(frozen=True)
class DiscordIdentity:
    """The signed-in Discord account (``/users/@me``)."""

    id: str
    username: str
    global_name: str | None
    avatar: str | None


def _oauth_client(**kwargs: Any) -> Any:
    """authlib's async httpx client, imported on first use.

    authlib ≥ 1.7 prefers the ``httpx2`` fork and warns when it falls back to ``httpx``, which the
    rest of onebox already loads; one HTTP client in memory is worth silencing that one warning.
    """
    from authlib.deprecate import AuthlibDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        from authlib.integrations.httpx_client import AsyncOAuth2Client

    return AsyncOAuth2Client(**kwargs)


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


class DiscordOAuth:
    """The sign-in dance of one tenant."""

    def __init__(self, settings: DiscordSettings, secret: str, db: TenantDatabase, cookie_name: str) -> None:
        self.settings = settings
        self.db = db
        self.cookie_name = cookie_name
        self.cookie = SignedCookie(secret, f"oauth:{cookie_name}")
        self.states = OAuthStates(DANCE_TTL)

    @property
    def configured(self) -> bool:
        """Whether client id and secret are set."""
        return bool(self.settings.discord_client_id and self.settings.discord_client_secret)

    def _require_configured(self) -> None:
        if not self.configured:
            raise ApiError(
                503,
                "discord_not_configured",
                "Discord sign-in is not configured (ONEBOX_DISCORD_CLIENT_ID / ONEBOX_DISCORD_CLIENT_SECRET).",
                headers={"Retry-After": "3600"},
            )

    def _client(self, redirect_uri: str) -> Any:
        secret = self.settings.discord_client_secret
        return _oauth_client(
            client_id=self.settings.discord_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            redirect_uri=redirect_uri,
            scope="identify",
            code_challenge_method="S256",
            timeout=10.0,
        )

    async def begin(self, redirect_uri: str, secure: bool, extra: dict[str, str] | None = None) -> Response:
        """Redirect to Discord's consent page, with the dance's state in a signed cookie."""
        self._require_configured()
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        client = self._client(redirect_uri)
        async with client:
            url, _ = client.create_authorization_url(
                f"{self.settings.api_base}/oauth2/authorize", state=state, code_verifier=verifier
            )
        async with self.db.transaction() as conn:
            await self.states.remember(conn, state)
        doc = {"s": state, "v": verifier, "r": redirect_uri, "x": extra or {}}
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(
            self.cookie_name,
            self.cookie.dumps(doc, DANCE_TTL),
            max_age=DANCE_TTL,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        return response

    def clear_cookie(self, response: Response) -> None:
        """Drop the dance cookie from the browser."""
        response.delete_cookie(self.cookie_name, path="/", httponly=True, samesite="lax")

    async def complete(self, request: Request) -> tuple[DiscordIdentity, dict[str, str]]:
        """Check the callback, exchange the code, and return the account and the ``extra`` of begin."""
        self._require_configured()
        doc = self.cookie.loads(request.cookies.get(self.cookie_name))
        if doc is None:
            raise _bad("invalid_state", "The sign-in session is missing or expired; start again.")
        state = request.query_params.get("state", "")
        if not state or not secrets.compare_digest(state, str(doc.get("s", ""))):
            raise _bad("invalid_state", "The sign-in state does not match; start again.")
        async with self.db.transaction() as conn:
            fresh = await self.states.consume(conn, state)
        if not fresh:
            raise _bad("state_reused", "This sign-in link was already used; start again.")
        error = request.query_params.get("error")
        if error:
            description = request.query_params.get("error_description", "")[:200]
            raise _bad("discord_denied", f"Discord refused the sign-in: {error} {description}".strip())
        code = request.query_params.get("code")
        if not code:
            raise _bad("missing_code", "Discord sent no authorization code.")
        identity = await self._exchange(str(doc["r"]), code, str(doc["v"]))
        extra = doc.get("x") or {}
        return identity, {str(k): str(v) for k, v in extra.items()}

    async def _exchange(self, redirect_uri: str, code: str, verifier: str) -> DiscordIdentity:
        from authlib.integrations.base_client import OAuthError

        client = self._client(redirect_uri)
        try:
            async with client:
                await client.fetch_token(
                    f"{self.settings.api_base}/oauth2/token",
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                )
                response = await client.get(f"{self.settings.api_base}/users/@me")
        except OAuthError as exc:
            raise _bad("discord_error", f"Discord refused the code: {exc.error}.") from None
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            if status < 500:
                raise _bad("discord_error", f"Discord answered {status} to the token request.") from None
            raise ApiError(502, "discord_unavailable", f"Discord answered {status}; try again.") from None
        except httpx.HTTPError:
            raise ApiError(502, "discord_unavailable", "Discord could not be reached; try again.") from None
        return self._identity(response)

    @staticmethod
    def _identity(response: httpx.Response) -> DiscordIdentity:
        if response.status_code >= 500:
            raise ApiError(502, "discord_unavailable", f"Discord answered {response.status_code}; try again.")
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict) or not str(data.get("id", "")).isdigit():
            raise _bad("discord_error", f"Discord did not return the account (HTTP {response.status_code}).")
        return DiscordIdentity(
            id=str(data["id"]),
            username=str(data.get("username") or data["id"]),
            global_name=data.get("global_name"),
            avatar=data.get("avatar"),
        )
