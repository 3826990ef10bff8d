"""A Mastodon instance in miniature, served for real on loopback: apps, OAuth, verify_credentials.

It speaks the parts of Mastodon's API that sign-in uses, with Mastodon's shapes and errors.
Where a real instance would show its login page, ``/oauth/authorize`` approves at once as
``account`` (or refuses, when ``deny`` is set). Two other personalities live under prefixes:
``/refusing`` (an instance that won't register apps) and ``/html`` (a web site, not Mastodon).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route


def _error(status: int, error: str, description: str | None = None) -> JSONResponse:
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status)


async def _form(request: Request) -> dict[str, str]:
    # Parsed by hand: Starlette's form parser needs python-multipart, which onebox doesn't use.
    return dict(parse_qsl((await request.body()).decode()))


class FakeMastodon:
    """State and ASGI app of the fake instance."""

    def __init__(self) -> None:
        self.account: dict[str, Any] = {
            "id": "109348",
            "username": "luna",
            "acct": "luna",
            "display_name": "Luna Lovegood",
            "avatar": "https://files.fake.test/avatars/luna.png",
            "url": "https://fake.test/@luna",
        }
        self.deny = False
        self.apps: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.revoked: list[str] = []
        self.app = Starlette(
            routes=[
                Mount("/refusing", routes=[Route("/api/v1/apps", self.refuse_app, methods=["POST"])]),
                Mount("/html", routes=[Route("/{path:path}", self.web_page, methods=["GET", "POST"])]),
                Route("/api/v1/apps", self.create_app, methods=["POST"]),
                Route("/oauth/authorize", self.authorize, methods=["GET"]),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/oauth/revoke", self.revoke, methods=["POST"]),
                Route("/api/v1/accounts/verify_credentials", self.verify_credentials, methods=["GET"]),
            ]
        )

    async def create_app(self, request: Request) -> Response:
        """``POST /api/v1/apps``."""
        form = await _form(request)
        name, redirect_uris = form.get("client_name"), form.get("redirect_uris")
        if not name or not isinstance(name, str):
            return _error(422, "Validation failed: Application name can't be blank")
        if not isinstance(redirect_uris, str) or not redirect_uris.startswith(("http://", "https://")):
            return _error(422, "Validation failed: Redirect URI must be an absolute URI.")
        client_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        scopes = str(form.get("scopes") or "read").split()
        self.apps[client_id] = {"secret": secret, "redirect_uris": redirect_uris.split(), "scopes": scopes}
        return JSONResponse(
            {
                "id": str(len(self.apps)),
                "name": name,
                "website": form.get("website"),
                "scopes": scopes,
                "redirect_uri": redirect_uris,
                "redirect_uris": redirect_uris.split(),
                "client_id": client_id,
                "client_secret": secret,
                "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
            }
        )

    async def refuse_app(self, _request: Request) -> Response:
        """An instance that has closed app registration."""
        return _error(403, "This action is not allowed")

    async def web_page(self, _request: Request) -> Response:
        """Any web site that isn't Mastodon."""
        return HTMLResponse("<!doctype html><title>Just a blog</title><p>Hello.</p>")

    async def authorize(self, request: Request) -> Response:
        """``GET /oauth/authorize``: approves at once as ``account`` (or refuses, if ``deny``)."""
        q = request.query_params
        app = self.apps.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if app is None or redirect_uri not in app["redirect_uris"] or q.get("response_type") != "code":
            return HTMLResponse("<p>The redirect URI or client is not valid.</p>", status_code=400)
        if not set(q.get("scope", "read").split()) <= set(app["scopes"]):
            return HTMLResponse("<p>The requested scope is invalid.</p>", status_code=400)
        state = {"state": q["state"]} if "state" in q else {}
        if self.deny:
            query = {"error": "access_denied", "error_description": "The resource owner denied the request.", **state}
            return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)
        code = secrets.token_urlsafe(32)
        self.codes[code] = {
            "client_id": q["client_id"],
            "redirect_uri": redirect_uri,
            "challenge": q.get("code_challenge"),
            "account": dict(self.account),
        }
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, **state})}", status_code=302)

    async def token(self, request: Request) -> Response:
        """``POST /oauth/token`` (authorization_code, with PKCE S256 when it was started with it)."""
        form = await _form(request)
        app = self.apps.get(str(form.get("client_id", "")))
        if app is None or form.get("client_secret") != app["secret"]:
            return _error(401, "invalid_client", "Client authentication failed.")
        grant = self.codes.pop(str(form.get("code", "")), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _error(400, "invalid_grant", "The provided authorization grant is invalid or expired.")
        if grant["client_id"] != form.get("client_id") or grant["redirect_uri"] != form.get("redirect_uri"):
            return _error(400, "invalid_grant", "The redirect URI does not match.")
        if grant["challenge"] is not None:
            verifier = str(form.get("code_verifier", "")).encode()
            expected = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            if expected != grant["challenge"]:
                return _error(400, "invalid_grant", "The code verifier does not match.")
        token = secrets.token_urlsafe(32)
        self.tokens[token] = grant["account"]
        return JSONResponse({"access_token": token, "token_type": "Bearer", "scope": "read:accounts", "created_at": 0})

    async def revoke(self, request: Request) -> Response:
        """``POST /oauth/revoke``."""
        form = await _form(request)
        token = str(form.get("token", ""))
        if self.tokens.pop(token, None) is not None:
            self.revoked.append(token)
        return JSONResponse({})

    async def verify_credentials(self, request: Request) -> Response:
        """``GET /api/v1/accounts/verify_credentials``."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        account = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if account is None:
            return _error(401, "The access token is invalid")
        return JSONResponse({**account, "locked": False, "bot": False, "followers_count": 3, "statuses_count": 42})
