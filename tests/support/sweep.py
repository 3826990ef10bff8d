"""Sweeping an app's routes with hostile input, and what counts as a failure.

The routes are read from the app itself, so a route added later is swept too. Each is called
with path parameters a client could send by mistake or on purpose (huge numbers, NUL bytes, very
long text, not-a-number, traversal, bytes that are not UTF-8) and hostile query strings (limits
out of range, tampered cursors, NUL bytes, bytes that are not UTF-8); without a token, with
another tenant's token, with a valid token of the tenant itself (of a real account where routes
look the account up), and with Authorization headers
that are no token of ours (an unsigned ``alg: none`` JWT, another scheme, 8 KB). Methods that take
a body also get malformed JSON, and objects with the fields the route's own 422 names set to
hostile values (NUL, integers past 64 bits, wrong types, 100 KB).

A failure is a transport error, a 5xx (but 501 for an XRPC method we don't serve, and 503 with
Retry-After for a feature the app has no settings for) or a 4xx that is not JSON in the shared shape (or, under
``/xrpc/``, XRPC's).
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from gateway import registry
from gateway.context import signing_key
from shared.auth.mastodon import MastodonAccount
from shared.auth.tokens import TokenService
from shared.tenant import TenantContext
from tenants.astro import profiles as astro_profiles

# What a path parameter may be sent as (URL-encoded as a client would).
PATH_VALUES = ["0", "-1", "99999999999999999999", "%00", "x" * 3000, "..%2F..%2Fetc", "%C3%A9%27%3B--", "1.5",
               "%FF%FE", "%ED%A0%80"]  # fmt: skip
QUERY = {
    "limit": "-5",
    "cursor": "not-a-cursor\x00",
    "q": "\x00",
    "type": "nonsense",
    "actor": "\x00bad",
    "uri": "at://\x00",
    "uris": "x",
    "from": "garbage",
    "to": "garbage",
    "page": "-1",
    "tz": "Mars/Olympus",
    "date": "2026-13-45",
    "code": "\x00",
    "state": "forged",
}
BODIES: list[tuple[str, bytes]] = [
    ("application/json", b"{not json"),
    ("application/json", b"[]"),
    ("application/json", b'"a string"'),
    ("application/json", b"{}"),
    ("text/plain", b"hello"),
    ("application/json", b'{"a": ' * 5000 + b"1" + b"}" * 5000),
]
# Values every field a route's 422 names is set to, one body per value.
FIELD_VALUES: list[Any] = ["\x00", -(2**70), [], {"x": 1}, "x" * 100_000, None, True, "2026-99-99T99:99"]
# Authorization headers that are not a bearer token this gateway issued (an unsigned "alg: none"
# token, another scheme, a token of 8 KB, a bare scheme).
_UNSIGNED = ".".join(
    base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
    for part in ({"alg": "none", "typ": "JWT"}, {"sub": "1", "aud": "wishlist", "iss": "onebox", "exp": 2**40})
)
AUTHORIZATIONS = ["Bearer " + _UNSIGNED + ".", "Basic Zm9vOmJhcg==", "Bearer " + "a" * 8000, "Bearer a.b.c",
                  "Bearer  x  y", "Token x"]  # fmt: skip
# A subject no account has (as after a restore from an older backup), per tenant's id format.
GHOSTS = {"wishlist": "987654321987", "seacalendar": "987654321987", "astro": str(uuid.UUID(int=1)),
          "feed": "did:plc:sweeper"}  # fmt: skip


def endpoints(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path template, methods) of every HTTP route, mounts (and the CORS wrapper around them) walked."""
    for route in routes:
        if isinstance(route, Route):
            yield prefix + route.path, set(route.methods or {"GET"}) - {"HEAD"}
        elif isinstance(route, Mount):
            inner = getattr(route.app, "routes", None) or getattr(getattr(route.app, "app", None), "routes", None)
            if inner:
                yield from endpoints(list(inner), prefix + route.path)


def fill(template: str, value: str) -> str:
    """The template with every ``{param}`` (or ``{param:conv}``) set to ``value``."""
    out, rest = "", template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        _, _, rest = tail.partition("}")
        out += head + value
    return out + rest


def shaped(response: httpx.Response) -> bool:
    """A JSON error in the onebox shape, or (under /xrpc/) the XRPC shape."""
    try:
        body = response.json()
    except ValueError:
        return False
    if "/xrpc/" in str(response.request.url) and isinstance(body, dict) and isinstance(body.get("error"), str):
        return "message" in body
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


def unconfigured(response: httpx.Response) -> bool:
    """501 for an XRPC method we don't serve; 503 for a feature this app has no settings for."""
    if response.status_code == 501:
        return "/xrpc/" in str(response.request.url)
    if response.status_code != 503 or not shaped(response) or "retry-after" not in response.headers:
        return False
    return str(response.json()["error"]["code"]).endswith("_not_configured")


async def _wishlist_account(_ctx: TenantContext, client: httpx.AsyncClient) -> str:
    email = f"sweeper-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": "Sweep-Password-1", "name": "Sweeper"}
    response = await client.post("/wishlist/api/auth/register", json=body)
    response.raise_for_status()
    return str(response.json()["user"]["id"])


async def _astro_account(ctx: TenantContext, _client: httpx.AsyncClient) -> str:
    # Members come from a Mastodon sign-in; the row that sign-in writes stands in for one.
    account = MastodonAccount("sweep.example", uuid.uuid4().hex, "sweeper", "Sweeper", None)
    async with ctx.db.transaction() as conn:
        return str(await astro_profiles.upsert_member(conn, account))


# Tenants whose routes look the caller's account up (401 once it is gone): their own token names
# a real account, or every route would refuse it before reading the hostile body.
ACCOUNTS: dict[str, Callable[[TenantContext, httpx.AsyncClient], Awaitable[str]]] = {
    "wishlist": _wishlist_account,
    "astro": _astro_account,
}


async def tokens(app: Starlette, client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """Per mounted tenant: a valid token of its own (a real account, or :data:`GHOSTS`), and one of another tenant."""
    secret = app.state.settings.secret_key.get_secret_value()
    issued = {}
    for name, ctx in app.state.contexts.items():
        other = next(o for o in registry.TENANTS if o != name)
        foreign = TokenService(signing_key(secret, other), other).issue_access(GHOSTS[other])
        subject = await ACCOUNTS[name](ctx, client) if name in ACCOUNTS else GHOSTS[name]
        issued[name] = {"own": ctx.tokens.issue_access(subject), "foreign": foreign}
    return issued


async def sweep(app: Starlette, client: httpx.AsyncClient, extra_paths: Sequence[str] = ()) -> list[str]:
    """Send the hostile input to every route of ``app`` (and ``extra_paths``, GET and POST); the failures."""
    failures: list[str] = []
    issued = await tokens(app, client)
    # Also bytes that are not UTF-8 (a lone surrogate, 0xFF), which no encoder would produce.
    query = "?" + str(httpx.QueryParams(QUERY)) + "&q=%ED%A0%80&cursor=%FF"

    async def check(method: str, url: str, auth: str | None, body: bytes | None = None, ctype: str = "") -> Any:
        headers = {"Authorization": auth if " " in (auth or "") else f"Bearer {auth}"} if auth else {}
        if ctype:
            headers["Content-Type"] = ctype
        try:
            response = await client.request(method, url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            failures.append(f"{method} {url[:120]}: {type(exc).__name__} {exc}")
            return None
        sent = f"{method} {url[:120]} [{(body or b'')[:80]!r}]"
        if response.status_code >= 500 and not unconfigured(response):
            failures.append(f"{sent}: {response.status_code} {response.text[:300]}")
        elif response.status_code >= 400 and not shaped(response):
            failures.append(f"{sent}: {response.status_code} not in the error shape: {response.text[:200]}")
        return response.json() if response.status_code == 422 and shaped(response) else None

    async def one(tenant: str, method: str, url: str, value: str) -> None:
        """Everything one URL and method get, in order (the 422's field names feed the last bodies)."""
        own = issued[tenant]["own"]
        # Every token on one path value, the tenant's own on the others (keeps the sweep short).
        first = value in ("", "0")
        for auth in (None, issued[tenant]["foreign"], own, *AUTHORIZATIONS) if first else (own,):
            await check(method, url + query, auth)
        if method not in ("POST", "PUT", "PATCH", "DELETE") or value not in ("", "0", "%00"):
            return
        for ctype, body in BODIES:
            await check(method, url, own, body, ctype)
        invalid = await check(method, url, own, b"{}", "application/json")
        details = (invalid or {}).get("error", {}).get("details") or []
        fields = {d["field"].split(".")[0] for d in details if isinstance(d, dict) and d.get("field")}
        for field_value in FIELD_VALUES if fields else []:
            body = json.dumps(dict.fromkeys(sorted(fields), field_value)).encode()
            await check(method, url, own, body, "application/json")

    for template, methods in [*endpoints(app.routes), *((path, {"GET", "POST"}) for path in extra_paths)]:
        tenant = template.strip("/").split("/")[0]
        if tenant in issued:
            values = PATH_VALUES if "{" in template else [""]
            for value, method in itertools.product(values, sorted(methods)):
                await one(tenant, method, fill(template, value), value)
    return failures


def report(failures: list[str]) -> str:
    """The first failures and how many there were, for an assertion message."""
    return "\n".join(failures[:40]) + f"\n({len(failures)} in all)"
