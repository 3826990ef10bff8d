"""A small Discord REST client that waits out rate limits and retries server errors.

Discord answers 429 with ``retry_after`` (seconds, in the JSON body; ``Retry-After`` in the
headers) and announces each route bucket's budget in ``X-RateLimit-Remaining`` /
``X-RateLimit-Reset-After``: when a bucket is spent the next call on it waits for the reset
instead of collecting a 429. Routes that share a budget answer with the same
``X-RateLimit-Bucket`` hash; once a route has named its hash, its calls are counted under that
hash with their major parameters, so a spent budget holds back every route that shares it. A
429 closes its bucket (every bucket, if global) for every caller until its ``retry_after`` has
passed; a call that would wait longer than ``max_retry_after`` fails at once without asking
Discord again. 5xx answers and network errors are retried with exponential backoff;
other 4xx answers are final and raised as :class:`DiscordError`.

A 401 means the bot token itself is refused (revoked or reset in the developer portal), so every
call would get one: the client stops calling and fails each call at once, asking again once per
``refused_probe`` seconds, because Discord counts 401s towards the same invalid-request limit
and a bot that kept trying would get the box's address banned. Such a failure is retryable: the
work waits for a good token instead of being given up.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime
from typing import Any

import httpx

log = logging.getLogger("onebox.seacalendar.discord")

# Discord's buckets are per route with the "major" parameter (channel, guild, webhook) kept.
_MINOR_IDS = re.compile(r"(?<!channels)(?<!guilds)(?<!webhooks)/\d{5,}")
_IDS = re.compile(r"/\d{5,}")
_MAJOR_IDS = re.compile(r"/(?:channels|guilds|webhooks)/(\d{5,})")


# Without a version in the path Discord serves its default, v6, which it lists as deprecated.
API_VERSION = "v10"


def versioned(api_base: str) -> str:
    """The REST base for bot-token calls: ``<api_base>/v10``."""
    return f"{api_base.rstrip('/')}/{API_VERSION}"


# Titles and questions are members' text: "@everyone" in one must not ping a whole server.
NO_PINGS: dict[str, Any] = {"allowed_mentions": {"parse": []}}


class DiscordError(Exception):
    """A call that failed for good: ``status`` 0 means Discord could not be reached."""

    def __init__(self, status: int, message: str, code: int = 0, retry_after: float = 0.0) -> None:
        super().__init__(f"Discord {status}: {message}")
        self.status = status
        self.code = code
        self.retry_after = retry_after  # a 429's: how long Discord asked to wait; a 401's: until the next try
        self.retryable = status in (0, 401, 429) or status >= 500


# Snowflakes count milliseconds from the first second of 2015, shifted past 22 bits of worker and sequence.
DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_at(moment: datetime) -> int:
    """The smallest snowflake of ``moment`` (for ``after=`` on message history)."""
    return max(0, int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22


def bucket_of(method: str, path: str) -> str:
    """The rate-limit bucket key of a call before Discord has named its bucket: the route, majors kept."""
    return f"{method} {_MINOR_IDS.sub('/:id', path)}"


def route_of(method: str, path: str) -> str:
    """The route of a call, every id taken out (what Discord's bucket hashes are announced for)."""
    return f"{method} {_IDS.sub('/:id', path)}"


def majors_of(path: str) -> str:
    """The major parameters of a call's path (a shared bucket is still counted per channel, guild, webhook)."""
    return "/".join(_MAJOR_IDS.findall(path))


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: httpx.Response) -> tuple[float, bool]:
    """A 429's wait in seconds (``retry_after`` in the body, else ``Retry-After``) and whether it is global."""
    body = _body(response)
    value = body.get("retry_after")
    if value is None:
        value = response.headers.get("retry-after", "1")
    is_global = bool(body.get("global")) or response.headers.get("x-ratelimit-global", "").lower() == "true"
    return float(value), is_global


def _message_of(response: httpx.Response) -> str:
    """An error answer's ``message`` ('' without one)."""
    return str(_body(response).get("message", ""))


def _code_of(response: httpx.Response) -> int:
    """An error answer's JSON error ``code`` (0 without one)."""
    code = _body(response).get("code", 0)
    return code if isinstance(code, int) else 0


class DiscordRest:
    """Calls to ``<api_base>/v10`` as the bot."""

    def __init__(
        self,
        api_base: str,
        token: str,
        max_retry_after: float = 60.0,
        attempts: int = 5,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        refused_probe: float = 300.0,
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=versioned(api_base),
            headers={"Authorization": f"Bot {token}", "User-Agent": "DiscordBot (onebox, 1)"},
            timeout=15.0,
            transport=transport,
        )
        self.max_retry_after = max_retry_after
        self.attempts = attempts
        self.backoff = backoff
        self._resets: dict[str, float] = {}  # bucket -> monotonic time its budget returns
        self._hashes: dict[str, str] = {}  # route -> the X-RateLimit-Bucket hash Discord named for it
        self._global_until = 0.0
        self.rate_limited = 0  # 429s received, for health
        self.refused_probe = refused_probe
        self.refused: str | None = None  # Discord's message while it refuses the token, for health
        self._probe_at = 0.0  # monotonic time the next call may try the refused token again

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    def _check_token(self) -> None:
        """Fail at once while the token is refused, but let one call through per ``refused_probe``."""
        if self.refused is None:
            return
        now = time.monotonic()
        if now < self._probe_at:
            raise DiscordError(401, f"the bot token is refused ({self.refused})", retry_after=self._probe_at - now)
        self._probe_at = now + self.refused_probe  # this call is the probe; the others keep failing

    def _refuse_token(self, response: httpx.Response) -> DiscordError:
        message = _message_of(response) or "401: Unauthorized"
        if self.refused is None:
            log.error("Discord refused the bot token (%s): no calls until it is accepted again", message)
        self.refused = message
        self._probe_at = time.monotonic() + self.refused_probe
        return DiscordError(401, f"the bot token is refused ({message})", retry_after=self.refused_probe)

    async def _wait_for_budget(self, bucket: str) -> None:
        until = max(self._resets.get(bucket, 0.0), self._global_until)
        delay = until - time.monotonic()
        if delay > self.max_retry_after:
            # Asking anyway would only collect another 429, and Discord counts those towards its
            # invalid-request limit (10,000 per 10 minutes, then the IP is banned).
            raise DiscordError(429, f"rate limited for {delay:.0f}s more", retry_after=delay)
        if delay > 0:
            await asyncio.sleep(delay)

    def _remember_budget(self, bucket: str, headers: httpx.Headers) -> None:
        if headers.get("x-ratelimit-remaining") == "0":
            reset_after = float(headers.get("x-ratelimit-reset-after", "1") or 1)
            self._resets[bucket] = time.monotonic() + reset_after
        else:
            self._resets.pop(bucket, None)

    def _remember_429(self, bucket: str, response: httpx.Response) -> float:
        """Note until when the bucket (or, for a global 429, every bucket) is closed; returns the wait.

        Remembered rather than only slept on, so every later call on the bucket, from any task,
        waits too, or fails at once when the wait is longer than the caller would stall for.
        """
        seconds, is_global = _retry_after(response)
        until = time.monotonic() + seconds
        if is_global:
            self._global_until = max(self._global_until, until)
        else:
            self._resets[bucket] = max(self._resets.get(bucket, 0.0), until)
        return seconds

    def _bucket(self, route: str, method: str, path: str) -> str:
        """Where a call's budget is counted: Discord's hash for its route with the majors, once known."""
        known = self._hashes.get(route)
        return f"{known}:{majors_of(path)}" if known is not None else bucket_of(method, path)

    def _learn_bucket(self, route: str, method: str, path: str, headers: httpx.Headers) -> str:
        """Note the hash an answer names for its route; returns the call's bucket key from now on."""
        named = headers.get("x-ratelimit-bucket")
        if named:
            self._hashes[route] = named
        return self._bucket(route, method, path)

    async def request(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One call, with waits and retries; returns the decoded JSON body (None for 204)."""
        route = route_of(method, path)
        bucket = self._bucket(route, method, path)
        failures = 0
        self._check_token()
        while True:
            await self._wait_for_budget(bucket)
            try:
                response = await self.http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                failures += 1
                if failures >= self.attempts:
                    raise DiscordError(0, f"unreachable: {exc!r}") from None
                await asyncio.sleep(self.backoff * 2 ** (failures - 1))
                continue
            bucket = self._learn_bucket(route, method, path, response.headers)
            if response.status_code == 429:
                self.rate_limited += 1
                retry_after = self._remember_429(bucket, response)
                if retry_after > self.max_retry_after:
                    raise DiscordError(429, f"rate limited for {retry_after:.0f}s", retry_after=retry_after)
                log.info("429 on %s; waiting %.2fs", bucket, retry_after)
                continue  # _wait_for_budget waits it out
            if response.status_code >= 500:
                failures += 1
                if failures >= self.attempts:
                    raise DiscordError(response.status_code, "server error")
                await asyncio.sleep(self.backoff * 2 ** (failures - 1))
                continue
            self._remember_budget(bucket, response.headers)
            if response.status_code == 401:
                raise self._refuse_token(response)
            if self.refused is not None:
                log.info("Discord accepts the bot token again")
                self.refused = None
            if response.status_code >= 400:
                raise DiscordError(response.status_code, _message_of(response), _code_of(response))
            return None if response.status_code == 204 else response.json()

    async def send_message(self, channel_id: str, payload: dict[str, Any], nonce: str | None = None) -> dict[str, Any]:
        """Post a message; with ``nonce`` Discord returns the earlier message instead of posting twice."""
        body = {**NO_PINGS, **payload, **({"nonce": nonce, "enforce_nonce": True} if nonce else {})}
        message: dict[str, Any] = await self.request("POST", f"/channels/{channel_id}/messages", body)
        return message

    async def sent_since(self, channel_id: str, content: str, moment: datetime) -> dict[str, Any] | None:
        """A message with ``content`` that a bot posted in the channel since ``moment`` (of its last 100).

        What a run that died after posting left behind: its nonce protects only "the past few
        minutes", and a bot can be down for longer.
        """
        params = {"after": str(snowflake_at(moment)), "limit": 100}
        messages: list[dict[str, Any]] = await self.request("GET", f"/channels/{channel_id}/messages", params=params)
        return next((m for m in messages if m.get("author", {}).get("bot") and m.get("content") == content), None)

    async def edit_message(self, channel_id: str, message_id: str, payload: dict[str, Any]) -> None:
        """Replace a message's content and embeds."""
        await self.request("PATCH", f"/channels/{channel_id}/messages/{message_id}", {**NO_PINGS, **payload})

    async def open_dm(self, user_id: str) -> str:
        """The id of the DM channel with ``user_id``."""
        channel: dict[str, Any] = await self.request("POST", "/users/@me/channels", {"recipient_id": user_id})
        return str(channel["id"])
