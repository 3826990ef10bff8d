"""Discord in miniature, served for real on loopback: OAuth2, the REST calls the bot makes, signed interactions.

OAuth follows Discord's authorization-code flow with PKCE (``/oauth2/authorize`` approves at once
as ``user``, or redirects with ``error=access_denied`` when ``deny`` is set). REST answers with
Discord's shapes and rate-limit headers; ``rate_limit(route, times, retry_after)`` makes the next
calls answer 429 with ``retry_after`` in the body, and ``fail(route, times)`` answers 502.
``enforce_nonce`` is honoured as Discord does: a repeated nonce returns the first message, for
``nonce_ttl_s`` ("the past few minutes"; None: for ever). A channel's history is listed with
``after`` (a snowflake) and ``limit``, newest first.
``sign(body)`` produces the Ed25519 headers Discord puts on interaction webhooks.
``PUT /applications/{id}/commands`` replaces the global commands (``commands``) after Discord's
checks of names, descriptions, option order and limits (50035 otherwise).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import re
import secrets
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

CLIENT_ID = "1100000000000000001"
BOT_USER = {"id": "1100000000000000002", "username": "onebox", "bot": True}
DISCORD_EPOCH_MS = 1_420_070_400_000
CLIENT_SECRET = "fake-client-secret"
BOT_TOKEN = "fake-bot-token"


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


# The server every channel not otherwise placed belongs to; anyone is a member of it.
COMMUNITY_GUILD = "700000000000000001"


def _api_error(status: int, message: str, code: int = 0) -> JSONResponse:
    return JSONResponse({"message": message, "code": code}, status_code=status)


class FakeDiscord:
    """State and ASGI app of the fake (mounted at ``/api``, like discord.com)."""

    def __init__(self) -> None:
        self.user: dict[str, Any] = {"id": "80351110224678912", "username": "nelly", "global_name": "Nelly"}
        self.deny = False
        self.token_failure: str | None = None  # "invalid_grant" or "server_error"
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.edits: list[dict[str, Any]] = []
        self.requests: list[tuple[float, str, str, int]] = []  # (time, method, route, status)
        self.versions: list[int | None] = []  # API version of each bot-token call (None: Discord's default)
        self._limits: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self._failures: dict[str, int] = defaultdict(int)
        self.bucket_ids: dict[str, str] = {}  # route -> the X-RateLimit-Bucket hash it answers with
        self._spent: dict[str, float] = {}  # route -> Reset-After of its next answer, whose budget is spent
        self._nonces: dict[str, tuple[str, float]] = {}  # nonce -> (message id, monotonic time)
        self.nonce_ttl_s: float | None = None
        self._created_ms: dict[str, int] = {}  # message id -> when it was posted
        self._dm_hold: tuple[int, asyncio.Event] | None = None
        self.held = 0
        self._search_hold: asyncio.Event | None = None
        self.held_searches = 0
        # Channels the bot may not see or post in (403 Missing Access), and which guild a channel is
        # in: any other channel is one of COMMUNITY_GUILD, which everyone is a member of.
        self.forbidden_channels: set[str] = set()
        self.channel_guilds: dict[str, str] = {}
        # guild id -> {"owner_id", "members": {discord id: permission bits}, "open": anyone is a member,
        # "profiles": {discord id: {"username", "global_name", "nick"}} of the members search finds}
        self.guilds: dict[str, dict[str, Any]] = {
            COMMUNITY_GUILD: {"name": "Community", "owner_id": None, "members": {}, "open": True, "profiles": {}}
        }
        self.commands: list[dict[str, Any]] | None = None  # the application's global commands, once registered
        self._ids = itertools.count(1_200_000_000_000_000_000)
        self.key = Ed25519PrivateKey.generate()
        self.public_key = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        routes = [
            Route("/oauth2/authorize", self.authorize, methods=["GET"]),
            Route("/oauth2/token", self.token, methods=["POST"]),
            Route("/users/@me", self.me, methods=["GET"]),
            Route("/users/@me/channels", self.open_dm, methods=["POST"]),
            Route("/users/@me/guilds", self.my_guilds, methods=["GET"]),
            Route("/channels/{channel_id}", self.get_channel, methods=["GET"]),
            Route("/guilds/{guild_id}", self.get_guild, methods=["GET"]),
            Route("/guilds/{guild_id}/members/search", self.search_members, methods=["GET"]),
            Route("/guilds/{guild_id}/members/{user_id}", self.get_member, methods=["GET"]),
            Route("/channels/{channel_id}/messages", self.create_message, methods=["POST"]),
            Route("/channels/{channel_id}/messages", self.list_messages, methods=["GET"]),
            Route("/channels/{channel_id}/messages/{message_id}", self.edit_message, methods=["PATCH"]),
            Route("/applications/@me", self.application, methods=["GET"]),
            Route("/applications/{application_id}/commands", self.put_commands, methods=["PUT"]),
        ]
        # Versioned paths as Discord serves them; a bare /api is its default version (v6, deprecated).
        self.app = Starlette(routes=[Mount("/api/v{version:int}", routes=routes), Mount("/api", routes=routes)])

    # -- test controls -------------------------------------------------------------------------
    def rate_limit(self, route: str, times: int = 1, retry_after: float = 0.2, scope: str = "user") -> None:
        """Answer the next ``times`` calls of ``route`` (e.g. ``POST /channels/messages``) with 429.

        ``scope`` is Discord's ``X-RateLimit-Scope``: ``user``, ``shared`` or ``global`` (the bot's
        limit over every route, flagged ``global`` in the body and ``X-RateLimit-Global``).
        """
        self._limits[route].extend([(retry_after, scope)] * times)

    def share_bucket(self, bucket_id: str, *routes: str) -> None:
        """Answer ``routes`` with one ``X-RateLimit-Bucket`` hash: Discord's sign that they share a budget."""
        self.bucket_ids.update(dict.fromkeys(routes, bucket_id))

    def spend(self, route: str, reset_after: float) -> None:
        """The next answer on ``route`` says its bucket has nothing left for ``reset_after`` seconds."""
        self._spent[route] = reset_after

    def fail(self, route: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``route`` with 502."""
        self._failures[route] += times

    def hold_dms(self, after: int) -> asyncio.Event:
        """Let ``after`` more DMs through, then keep DM posts waiting until the returned event is set."""
        release = asyncio.Event()
        self._dm_hold = (after, release)
        return release

    def hold_next_search(self) -> asyncio.Event:
        """Keep the next member search waiting (and only it) until the returned event is set."""
        release = asyncio.Event()
        self._search_hold = release
        return release

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The headers Discord sends with an interaction."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.key.sign(stamp.encode() + body).hex()
        return {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp, "Content-Type": "application/json"}

    def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first."""
        return [m for m in self.messages.values() if m["channel_id"] == channel_id]

    def dms_to(self, user_id: str) -> list[dict[str, Any]]:
        """Direct messages the bot sent to ``user_id``."""
        return self.channel_messages(f"dm-{user_id}")

    # -- OAuth2 --------------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return _oauth_error("invalid_request", "unknown client or response type")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return _oauth_error("invalid_request", "PKCE S256 is required")
        target = q["redirect_uri"]
        if self.deny:
            params = {"error": "access_denied", "error_description": "The resource owner denied", "state": q["state"]}
            return RedirectResponse(f"{target}?{urlencode(params)}", status_code=302)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"redirect_uri": target, "challenge": q["code_challenge"], "user": dict(self.user)}
        return RedirectResponse(f"{target}?{urlencode({'code': code, 'state': q['state']})}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            return _oauth_error("invalid_client", "bad client credentials", 401)
        if self.token_failure == "server_error":
            return Response("upstream trouble", status_code=500)
        grant = self.codes.pop(form.get("code", ""), None)
        if self.token_failure == "invalid_grant" or grant is None or form.get("grant_type") != "authorization_code":
            return _oauth_error("invalid_grant", 'Invalid "code" in request.')
        challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge.rstrip(b"=").decode() != grant["challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return _oauth_error("invalid_grant", "PKCE verifier or redirect_uri mismatch")
        access = secrets.token_urlsafe(24)
        self.tokens[access] = grant["user"]
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 604800, "scope": "identify"}
        return JSONResponse({**body, "refresh_token": secrets.token_urlsafe(24)})

    async def me(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme == "Bearer" and token in self.tokens:
            return JSONResponse({"avatar": None, "discriminator": "0", **self.tokens[token]})
        return _api_error(401, "401: Unauthorized")

    # -- REST the bot uses ---------------------------------------------------------------------
    async def _gate(self, request: Request, route: str) -> Response | None:
        """Authentication, simulated rate limits and failures, shared by the bot's routes."""
        self.versions.append(request.path_params.get("version"))
        if request.headers.get("authorization") != f"Bot {BOT_TOKEN}":
            return self._log(route, _api_error(401, "401: Unauthorized"))
        if self._limits[route]:
            retry_after, scope = self._limits[route].pop(0)
            body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": scope == "global"}
            headers = {"Retry-After": str(max(1, round(retry_after))), "X-RateLimit-Scope": scope}
            if scope == "global":
                headers["X-RateLimit-Global"] = "true"
            return self._log(route, JSONResponse(body, status_code=429, headers=headers))
        if self._failures[route]:
            self._failures[route] -= 1
            return self._log(route, Response("bad gateway", status_code=502))
        return None

    def _log(self, route: str, response: Response) -> Response:
        method, _, path = route.partition(" ")
        self.requests.append((time.monotonic(), method, path, response.status_code))
        reset_after = self._spent.pop(route, None)
        response.headers.update(
            {
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "4" if reset_after is None else "0",
                "X-RateLimit-Reset-After": "1.0" if reset_after is None else str(reset_after),
            }
        )
        if route in self.bucket_ids:
            response.headers["X-RateLimit-Bucket"] = self.bucket_ids[route]
        return response

    @staticmethod
    def _invalid_body(body: dict[str, Any]) -> str | None:
        """What Discord's form validation refuses in a message body (50035 Invalid Form Body)."""
        if len(body.get("content") or "") > 2000:
            return "content: Must be 2000 or fewer in length."
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            return "embeds: Must be 10 or fewer in length."
        total = 0
        for embed in embeds:
            fields = embed.get("fields") or []
            if len(fields) > 25:
                return "embeds.0.fields: Must be 25 or fewer in length."
            for key, limit in (("title", 256), ("description", 4096)):
                if len(embed.get(key) or "") > limit:
                    return f"embeds.0.{key}: Must be {limit} or fewer in length."
            footer = (embed.get("footer") or {}).get("text") or ""
            if len(footer) > 2048:
                return "embeds.0.footer.text: Must be 2048 or fewer in length."
            for field in fields:
                if len(field.get("name") or "") > 256 or len(field.get("value") or "") > 1024:
                    return "embeds.0.fields: field too long."
            total += len(embed.get("title") or "") + len(embed.get("description") or "") + len(footer)
            total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in fields)
        if total > 6000:
            return "embeds: Embed size exceeds maximum size of 6000"
        return None

    def add_guild(
        self,
        guild_id: str,
        channels: tuple[str, ...] = (),
        members: dict[str, int] | None = None,
        owner: str | None = None,
        name: str | None = None,
    ) -> None:
        """A server the bot is in: its channels, and its members with their permission bits."""
        members = {**({owner: 0} if owner else {}), **(members or {})}  # the owner is a member too
        self.guilds[guild_id] = {
            "name": name or f"Server {guild_id}", "owner_id": owner, "members": members, "open": False, "profiles": {}
        }  # fmt: skip
        for channel in channels:
            self.channel_guilds[channel] = guild_id

    def add_profile(
        self, guild_id: str, user_id: str, username: str, global_name: str | None = None, nick: str | None = None
    ) -> None:
        """A member of ``guild_id`` (added with no permissions if new) whose names member search matches."""
        guild = self.guilds[guild_id]
        guild["members"].setdefault(user_id, 0)
        guild["profiles"][user_id] = {"username": username, "global_name": global_name, "nick": nick}

    async def search_members(self, request: Request) -> Response:
        """Discord's Search Guild Members: a case-insensitive prefix of the username or the nickname."""
        route = "GET /guilds/members/search"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        guild = self.guilds.get(request.path_params["guild_id"])
        if guild is None:
            return self._log(route, _api_error(404, "Unknown Guild", 10004))
        if (hold := self._search_hold) is not None:
            self._search_hold = None
            self.held_searches += 1
            await hold.wait()
        query = request.query_params.get("query", "").lower()
        limit = request.query_params.get("limit", "1")
        if not query or not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return self._log(route, _api_error(400, "Invalid Form Body", 50035))
        found = [
            {"user": {"id": uid, "username": p["username"], "global_name": p["global_name"]}, "nick": p["nick"],
             "roles": [f"role-{uid}"], "joined_at": "2024-01-01T00:00:00.000000+00:00"}
            for uid, p in guild["profiles"].items()
            if p["username"].lower().startswith(query) or (p["nick"] or "").lower().startswith(query)
        ]  # fmt: skip
        return self._log(route, JSONResponse(found[: int(limit)]))

    async def my_guilds(self, request: Request) -> Response:
        """Get Current User Guilds, for the bot: its servers as partial guilds, by id, ``limit`` (1-200)."""
        route = "GET /users/@me/guilds"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        limit = request.query_params.get("limit", "200")
        if not limit.isdigit() or not 1 <= int(limit) <= 200:
            return self._log(route, _api_error(400, "Invalid Form Body", 50035))
        after = int(request.query_params.get("after") or 0)
        listed = [
            {"id": guild_id, "name": guild["name"], "icon": None, "owner": False, "permissions": "0", "features": []}
            for guild_id, guild in sorted(self.guilds.items(), key=lambda item: int(item[0]))
            if int(guild_id) > after
        ]
        return self._log(route, JSONResponse(listed[: int(limit)]))

    async def get_channel(self, request: Request) -> Response:
        route = "GET /channels"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        channel = request.path_params["channel_id"]
        if channel in self.forbidden_channels:
            return self._log(route, _api_error(403, "Missing Access", 50001))
        guild = self.channel_guilds.get(channel, COMMUNITY_GUILD)
        return self._log(route, JSONResponse({"id": channel, "type": 0, "guild_id": guild}))

    async def get_guild(self, request: Request) -> Response:
        route = "GET /guilds"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        guild_id = request.path_params["guild_id"]
        guild = self.guilds.get(guild_id)
        if guild is None:
            return self._log(route, _api_error(404, "Unknown Guild", 10004))
        roles = [{"id": guild_id, "permissions": "0"}]  # @everyone
        roles += [{"id": f"role-{uid}", "permissions": str(bits)} for uid, bits in guild["members"].items()]
        return self._log(route, JSONResponse({"id": guild_id, "owner_id": guild["owner_id"], "roles": roles}))

    async def get_member(self, request: Request) -> Response:
        route = "GET /guilds/members"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        guild = self.guilds.get(request.path_params["guild_id"])
        user = request.path_params["user_id"]
        if guild is None:
            return self._log(route, _api_error(404, "Unknown Guild", 10004))
        if user in guild["members"]:
            return self._log(route, JSONResponse({"user": {"id": user}, "roles": [f"role-{user}"]}))
        if guild["open"]:
            return self._log(route, JSONResponse({"user": {"id": user}, "roles": []}))
        return self._log(route, _api_error(404, "Unknown Member", 10007))

    async def open_dm(self, request: Request) -> Response:
        route = "POST /users/@me/channels"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        recipient = str((await request.json()).get("recipient_id", ""))
        if not recipient.isdigit():
            return self._log(route, _api_error(400, "Invalid Form Body", 50035))
        return self._log(route, JSONResponse({"id": f"dm-{recipient}", "type": 1, "recipients": [{"id": recipient}]}))

    async def create_message(self, request: Request) -> Response:
        route = "POST /channels/messages"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        body = await request.json()
        if request.path_params["channel_id"] in self.forbidden_channels:
            return self._log(route, _api_error(403, "Missing Access", 50001))
        if (problem := self._invalid_body(body)) is not None:
            return self._log(route, _api_error(400, f"Invalid Form Body: {problem}", 50035))
        if self._dm_hold is not None and request.path_params["channel_id"].startswith("dm-"):
            allowed, release = self._dm_hold
            if allowed > 0:
                self._dm_hold = (allowed - 1, release)
            else:
                self.held += 1
                await release.wait()
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce in self._nonces:
            earlier, at = self._nonces[nonce]
            if self.nonce_ttl_s is None or time.monotonic() - at <= self.nonce_ttl_s:
                return self._log(route, JSONResponse(self.messages[earlier]))
        message = {
            "id": str(next(self._ids)),
            "author": BOT_USER,
            "timestamp": datetime.now(UTC).isoformat(),
            "channel_id": request.path_params["channel_id"],
            "content": body.get("content", ""),
            "embeds": body.get("embeds", []),
            "nonce": nonce,
            "allowed_mentions": body.get("allowed_mentions"),
            "guild_id": self.channel_guilds.get(request.path_params["channel_id"]),
        }
        self.messages[message["id"]] = message
        self._created_ms[message["id"]] = int(time.time() * 1000)
        if nonce is not None:
            self._nonces[nonce] = (message["id"], time.monotonic())
        return self._log(route, JSONResponse(message))

    async def list_messages(self, request: Request) -> Response:
        route = "GET /channels/messages"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        try:
            after_ms = (int(request.query_params.get("after", "0")) >> 22) + DISCORD_EPOCH_MS
            limit = min(max(int(request.query_params.get("limit", "50")), 1), 100)
        except ValueError:
            return self._log(route, _api_error(400, "Invalid Form Body", 50035))
        channel = request.path_params["channel_id"]
        found = [
            m for m in self.messages.values() if m["channel_id"] == channel and self._created_ms[m["id"]] >= after_ms
        ]
        return self._log(route, JSONResponse(found[::-1][:limit]))

    async def application(self, request: Request) -> Response:
        route = "GET /applications/@me"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        return self._log(route, JSONResponse({"id": CLIENT_ID, "name": "onebox", "bot": BOT_USER}))

    async def put_commands(self, request: Request) -> Response:
        route = "PUT /applications/commands"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        if request.path_params["application_id"] != CLIENT_ID:
            return self._log(route, _api_error(403, "Missing Access", 50001))
        body = await request.json()
        problem = _invalid_commands(body)
        if problem is not None:
            return self._log(route, _api_error(400, f"Invalid Form Body: {problem}", 50035))
        self.commands = [{**command, "id": str(next(self._ids)), "application_id": CLIENT_ID} for command in body]
        return self._log(route, JSONResponse(self.commands))

    async def edit_message(self, request: Request) -> Response:
        route = "PATCH /channels/messages"
        if (refused := await self._gate(request, route)) is not None:
            return refused
        message = self.messages.get(request.path_params["message_id"])
        if message is None or message["channel_id"] != request.path_params["channel_id"]:
            return self._log(route, _api_error(404, "Unknown Message", 10008))
        body = await request.json()
        if (problem := self._invalid_body(body)) is not None:
            return self._log(route, _api_error(400, f"Invalid Form Body: {problem}", 50035))
        message.update({k: body[k] for k in ("content", "embeds", "allowed_mentions") if k in body})
        self.edits.append(dict(message))
        return self._log(route, JSONResponse(message))


# Discord's rules for a chat command's and its options' names (lower case where a case exists).
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
OPTION_TYPES = range(1, 12)


def _invalid_commands(body: Any) -> str | None:
    """What Discord refuses in a bulk overwrite of global commands (at most 100 chat commands)."""
    if not isinstance(body, list) or len(body) > 100:
        return "a list of at most 100 commands"
    names = [c.get("name") for c in body if isinstance(c, dict)]
    if len(names) != len(body) or len(set(names)) != len(names):
        return "commands must be objects with distinct names"
    for command in body:
        if command.get("type", 1) != 1:
            return "only chat commands here"
        if (problem := _invalid_named(command, "command")) is not None:
            return problem
        if (problem := _invalid_options(command.get("options", []), depth=0)) is not None:
            return f"{command['name']}: {problem}"
    return None


def _invalid_named(thing: dict[str, Any], what: str) -> str | None:
    name, description = thing.get("name"), thing.get("description")
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
        return f"{what} name {name!r} is not 1-32 lower-case letters, digits, - or _"
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        return f"{what} {name}: description must be 1-100 characters"
    return None


def _invalid_options(options: Any, depth: int) -> str | None:
    if not isinstance(options, list) or len(options) > 25:
        return "at most 25 options"
    seen_optional = False
    for option in options:
        if not isinstance(option, dict) or option.get("type") not in OPTION_TYPES:
            return "an option without a valid type"
        if (problem := _invalid_named(option, "option")) is not None:
            return problem
        if option["type"] == 1:
            if depth > 1 or any(o.get("type") == 1 for o in option.get("options", [])):
                return "subcommands nest in a command or a group only"
            if (problem := _invalid_options(option.get("options", []), depth + 1)) is not None:
                return problem
            continue
        if option.get("required"):
            if seen_optional:
                return f"required option {option['name']} after an optional one"
        else:
            seen_optional = True
        if option["type"] == 3 and not 0 <= option.get("max_length", 6000) <= 6000:
            return f"option {option['name']}: max_length over 6000"
    return None
