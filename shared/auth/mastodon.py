"""Mastodon linkage: per-instance app registration (cached), authorization code with state and
PKCE, ``verify_credentials`` — and a guard so that an instance name can't aim our requests at
internal addresses.

The instance is a name the user types, and we send requests to it from the server: a classic
SSRF hole. So the name must be a plain DNS host name, every address it resolves to must be a
public one, and we connect to the address we checked (sending the name as Host and TLS SNI), so
a second, different DNS answer can't slip in between the check and the connection. Redirects
are not followed. Instances listed in ``MastodonConfig.instances`` (name → base URL) skip the
guard: that is how tests reach a fake on loopback, and how an operator allows a private one.

The state is also bound to the browser that started the sign-in (``bind_browser`` /
``check_browser``, a signed HttpOnly cookie), as the Discord flow does: otherwise someone's own
callback URL, opened by a victim, signs the victim into that someone's account.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import orjson
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from shared.auth.oauth_state import SignedCookie
from shared.db.pool import TenantDatabase
from shared.errors import ApiError
from shared.http.addresses import is_public, resolve

STATE_TTL_SECONDS = 600
BROWSER_COOKIE = "onebox_mastodon_state"
_MAX_RESPONSE = 256 * 1024
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def create_mastodon_tables(op: Any) -> None:
    """Create ``mastodon_apps`` and ``mastodon_oauth_states`` (call from a tenant migration)."""
    op.create_table(
        "mastodon_apps",
        sa.Column("instance", sa.Text, primary_key=True),
        sa.Column("redirect_uri", sa.Text, primary_key=True),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("client_secret", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "mastodon_oauth_states",
        sa.Column("state", sa.Text, primary_key=True),
        sa.Column("instance", sa.Text, nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("code_verifier", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


@dataclass(frozen=True)
class MastodonConfig:
    """How we present ourselves to instances, and which instances skip the address guard."""

    app_name: str = "onebox"
    website: str | None = None
    scopes: str = "read:accounts"
    instances: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0


@dataclass(frozen=True)
class MastodonAccount:
    """The account ``verify_credentials`` vouched for."""

    instance: str
    id: str
    acct: str
    display_name: str
    avatar: str | None


@dataclass(frozen=True)
class _Target:
    base_url: str  # where we connect (a checked address, or a configured base URL)
    public_url: str  # what the browser is sent to
    host: str | None = None  # Host header and SNI when connecting to an address


def _error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message)


def normalize_instance(raw: str) -> str:
    """A lower-case ASCII host name, or 400 ``invalid_instance`` (no scheme, port, path or user)."""
    name = raw.strip().lower().rstrip(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise _error(400, "invalid_instance", "The instance must be a host name like example.social.") from None
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise _error(400, "invalid_instance", "The instance must be a host name like example.social.")
    return name


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class MastodonOAuth:
    """App registration, the authorization-code flow and identity, for one tenant database."""

    def __init__(self, config: MastodonConfig, db: TenantDatabase, secret: str) -> None:
        self.config = config
        self.db = db
        self.cookie = SignedCookie(secret, "mastodon-state")
        # No keep-alive: connections are made to addresses, and a pooled one must never carry a
        # request for another instance that happens to share the address.
        self.http = httpx.AsyncClient(
            timeout=config.timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": f"{config.app_name} (Mastodon sign-in)"},
        )

    def bind_browser(self, response: Response, authorize_url: str, path: str, secure: bool) -> None:
        """Tie the state of ``authorize_url`` to this browser: a signed cookie on ``response`` for ``path``."""
        state = parse_qs(urlsplit(authorize_url).query)["state"][0]
        response.set_cookie(
            BROWSER_COOKIE, self.cookie.dumps({"s": state}, STATE_TTL_SECONDS), max_age=STATE_TTL_SECONDS,
            path=path, httponly=True, samesite="lax", secure=secure,
        )  # fmt: skip

    def check_browser(self, request: Request) -> None:
        """400 ``invalid_state`` unless this browser started the sign-in whose callback this is."""
        started = self.cookie.loads(request.cookies.get(BROWSER_COOKIE))
        expected = str((started or {}).get("s", "")).encode()
        if not expected or not secrets.compare_digest(expected, request.query_params.get("state", "").encode()):
            raise _error(400, "invalid_state", "This sign-in was started in another browser, or long ago; start again.")

    def forget_browser(self, response: Response, path: str) -> None:
        """Drop the cookie once the sign-in is done."""
        response.delete_cookie(BROWSER_COOKIE, path=path, httponly=True, samesite="lax")

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    async def _target(self, instance: str) -> _Target:
        if instance in self.config.instances:
            base = self.config.instances[instance].rstrip("/")
            return _Target(base, base)
        addresses = await resolve(instance, 443)
        if not addresses:
            raise _error(400, "unknown_instance", f"{instance} does not resolve to any address.")
        if not all(is_public(a) for a in addresses):
            raise _error(403, "instance_forbidden", f"{instance} points at an address we won't connect to.")
        ip = ipaddress.ip_address(addresses[0])
        literal = f"[{ip}]" if ip.version == 6 else str(ip)
        return _Target(f"https://{literal}", f"https://{instance}", host=instance)

    async def _call(
        self, target: _Target, method: str, path: str, what: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any] | None]:
        """(status, JSON object or None); 502 when the instance can't be reached."""
        headers = dict(kwargs.pop("headers", {}))
        extensions: dict[str, Any] = {}
        if target.host is not None:
            headers["Host"] = target.host
            extensions["sni_hostname"] = target.host
        request = self.http.build_request(
            method, target.base_url + path, headers=headers, extensions=extensions, **kwargs
        )
        try:
            response = await self.http.send(request, stream=True)
            try:
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > _MAX_RESPONSE:
                        raise _error(502, "not_mastodon", f"The instance sent an oversized answer to {what}.")
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            message = f"The instance did not answer {what}: {type(exc).__name__}."
            raise _error(502, "instance_unreachable", message) from None
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = None
        return response.status_code, doc if isinstance(doc, dict) else None

    async def _app(self, instance: str, target: _Target, redirect_uri: str) -> tuple[str, str]:
        query = sa.text("SELECT client_id, client_secret FROM mastodon_apps WHERE instance = :i AND redirect_uri = :r")
        async with self.db.connect() as conn:
            row = (await conn.execute(query, {"i": instance, "r": redirect_uri})).first()
        if row is not None:
            return row.client_id, row.client_secret
        form = {"client_name": self.config.app_name, "redirect_uris": redirect_uri, "scopes": self.config.scopes}
        if self.config.website:
            form["website"] = self.config.website
        status, doc = await self._call(target, "POST", "/api/v1/apps", "the app registration", data=form)
        if doc is not None and 400 <= status < 500 and status not in (404, 405):
            raise _error(502, "instance_refused", f"The instance refused to register this app (HTTP {status}).")
        if status != 200 or doc is None or not doc.get("client_id") or not doc.get("client_secret"):
            raise _error(502, "not_mastodon", "The instance does not speak the Mastodon API.")
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO mastodon_apps (instance, redirect_uri, client_id, client_secret) "
                    "VALUES (:i, :r, :c, :s) ON CONFLICT DO NOTHING"
                ),
                {"i": instance, "r": redirect_uri, "c": str(doc["client_id"]), "s": str(doc["client_secret"])},
            )
            row = (await conn.execute(query, {"i": instance, "r": redirect_uri})).one()
        return row.client_id, row.client_secret

    async def start(self, raw_instance: str, redirect_uri: str) -> str:
        """Register with the instance if needed, remember a fresh state; the authorize URL."""
        instance = normalize_instance(raw_instance)
        target = await self._target(instance)
        client_id, _ = await self._app(instance, target, redirect_uri)
        state = secrets.token_urlsafe(32)
        verifier, challenge = _pkce()
        async with self.db.transaction() as conn:
            await conn.execute(
                sa.text("DELETE FROM mastodon_oauth_states WHERE created_at < now() - make_interval(secs => :t)"),
                {"t": STATE_TTL_SECONDS},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO mastodon_oauth_states (state, instance, redirect_uri, code_verifier) "
                    "VALUES (:s, :i, :r, :v)"
                ),
                {"s": state, "i": instance, "r": redirect_uri, "v": verifier},
            )
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": self.config.scopes,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{target.public_url}/oauth/authorize?{urlencode(query)}"

    async def finish(self, state: str | None, code: str | None, error: str | None) -> MastodonAccount:
        """Spend the state, exchange the code and ask the instance who signed in."""
        if not state:
            raise _error(400, "invalid_state", "The sign-in state is missing.")
        async with self.db.transaction() as conn:
            row = (
                await conn.execute(
                    sa.text(
                        "DELETE FROM mastodon_oauth_states WHERE state = :s "
                        "AND created_at >= now() - make_interval(secs => :t) "
                        "RETURNING instance, redirect_uri, code_verifier"
                    ),
                    {"s": state, "t": STATE_TTL_SECONDS},
                )
            ).first()
        if row is None:
            raise _error(400, "invalid_state", "The sign-in state is unknown, used or expired; start again.")
        if error:
            raise _error(403, "authorization_denied", "The instance did not authorise the sign-in.")
        if not code:
            raise _error(400, "missing_code", "The instance sent no authorization code.")
        target = await self._target(row.instance)
        client_id, client_secret = await self._app(row.instance, target, row.redirect_uri)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": row.redirect_uri,
            "scope": self.config.scopes,
            "code_verifier": row.code_verifier,
        }
        status, doc = await self._call(target, "POST", "/oauth/token", "the code exchange", data=form)
        token = doc.get("access_token") if doc else None
        if status != 200 or not isinstance(token, str):
            raise _error(400, "invalid_grant", "The instance did not accept the authorization code.")
        auth = {"Authorization": f"Bearer {token}"}
        status, account = await self._call(
            target, "GET", "/api/v1/accounts/verify_credentials", "verify_credentials", headers=auth
        )
        # We keep no Mastodon token: identity is all we needed.
        revoke = {"client_id": client_id, "client_secret": client_secret, "token": token}
        # Best effort: the token only reads the account, and some instances can't revoke.
        with contextlib.suppress(ApiError):
            await self._call(target, "POST", "/oauth/revoke", "the token revocation", data=revoke)
        if status != 200 or account is None or not account.get("id") or not account.get("username"):
            raise _error(502, "not_mastodon", "The instance did not say which account signed in.")
        # The signed-in account is the instance's own, so its address is username@instance; a domain
        # in the instance's answer is ignored, or evil.social could present its users as anyone's.
        acct = f"{str(account['username'])[:200]}@{row.instance}"
        avatar = account.get("avatar")
        # Only web images: whatever else an instance sends is not ours to hand to browsers.
        if not isinstance(avatar, str) or len(avatar) > 2000 or not avatar.startswith(("https://", "http://")):
            avatar = None
        return MastodonAccount(
            instance=row.instance,
            id=str(account["id"])[:100],
            acct=acct,
            display_name=str(account.get("display_name") or account["username"])[:200],
            avatar=avatar,
        )
