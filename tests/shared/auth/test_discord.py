"""The shared Discord sign-in pieces on their own: signed cookies, single-use states, the authlib dance."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.errors import HANDLERS
from shared.auth.discord import DiscordOAuth
from shared.auth.discord_settings import DiscordSettings
from shared.auth.oauth_state import OAuthStates, SignedCookie
from shared.tenant import TenantContext
from tests.fakes.discord import CLIENT_ID, CLIENT_SECRET, FakeDiscord
from tests.support.server import serve


def test_signed_cookie_round_trip_tamper_expiry_and_purpose() -> None:
    cookie = SignedCookie("s" * 40, "oauth:a")
    value = cookie.dumps({"s": "state", "v": "verifier"}, ttl=60)
    assert cookie.loads(value) == {"s": "state", "v": "verifier"}
    payload, mac = value.split(".")
    assert cookie.loads(f"{payload}x.{mac}") is None
    assert cookie.loads(f"{payload}.{mac[:-2]}AA") is None
    assert cookie.loads(None) is None and cookie.loads("no-dot") is None and cookie.loads("a.b.c") is None
    assert SignedCookie("s" * 40, "oauth:b").loads(value) is None
    assert SignedCookie("t" * 40, "oauth:a").loads(value) is None
    assert cookie.loads(cookie.dumps({"s": 1}, ttl=-1)) is None


async def test_states_are_single_use(tenant_ctx: Callable[[str], TenantContext]) -> None:
    db = tenant_ctx("seacalendar").db
    states = OAuthStates(ttl=60)
    async with db.transaction() as conn:
        await states.remember(conn, "state-one")
    async with db.transaction() as conn:
        assert await states.consume(conn, "state-one") is True
        assert await states.consume(conn, "state-one") is False
        assert await states.consume(conn, "never-issued") is False
    expired = OAuthStates(ttl=-1)
    async with db.transaction() as conn:
        await expired.remember(conn, "state-two")
        assert await expired.consume(conn, "state-two") is False


@pytest.fixture
async def dance(tenant_ctx: Callable[[str], TenantContext]) -> AsyncIterator[tuple[FakeDiscord, str]]:
    """A fake Discord and a minimal app that runs DiscordOAuth's begin/complete, both on loopback."""
    fake = FakeDiscord()
    async with serve(fake.app) as discord_url:
        settings = DiscordSettings(
            _env_file=None,  # type: ignore[call-arg]
            discord_client_id=CLIENT_ID,
            discord_client_secret=CLIENT_SECRET,
            discord_api_base=f"{discord_url}/api/",
        )
        oauth = DiscordOAuth(settings, "k" * 40, tenant_ctx("seacalendar").db, "test_dance")

        async def start(request: Request) -> Response:
            return await oauth.begin(f"{request.base_url}cb", secure=False, extra={"n": "1"})

        async def callback(request: Request) -> Response:
            identity, extra = await oauth.complete(request)
            return JSONResponse({"id": identity.id, "name": identity.global_name, "extra": extra})

        app = Starlette(routes=[Route("/start", start), Route("/cb", callback)], exception_handlers=HANDLERS)
        async with serve(app) as url:
            yield fake, url


async def test_authlib_dance_with_pkce(dance: tuple[FakeDiscord, str]) -> None:
    fake, url = dance
    async with httpx.AsyncClient(base_url=url) as browser, httpx.AsyncClient() as discord_side:
        start = await browser.get("/start")
        assert start.status_code == 302 and "code_challenge=" in start.headers["location"]
        consent = await discord_side.get(start.headers["location"])
        answer = await browser.get(consent.headers["location"])
        assert answer.json() == {"id": fake.user["id"], "name": "Nelly", "extra": {"n": "1"}}

        # Same state, another verifier (re-signed with the key): Discord's PKCE check refuses the code.
        start = await browser.get("/start")
        signer = SignedCookie("k" * 40, "oauth:test_dance")
        doc = signer.loads(browser.cookies.get("test_dance"))
        assert doc is not None
        browser.cookies.set("test_dance", signer.dumps({**doc, "v": "x" * 64}, ttl=60))
        consent = await discord_side.get(start.headers["location"])
        refused = await browser.get(consent.headers["location"])
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "discord_error"


async def test_unconfigured_sign_in_is_503(tenant_ctx: Callable[[str], TenantContext]) -> None:
    from shared.errors import ApiError

    # Explicit Nones: another test module's fixture may have pointed the environment at a fake.
    settings = DiscordSettings(_env_file=None, discord_client_id=None, discord_client_secret=None)  # type: ignore[call-arg]
    oauth = DiscordOAuth(settings, "k" * 40, tenant_ctx("seacalendar").db, "x")
    with pytest.raises(ApiError) as refused:
        await oauth.begin("http://127.0.0.1/cb", secure=False)
    assert refused.value.status == 503 and refused.value.code == "discord_not_configured"
