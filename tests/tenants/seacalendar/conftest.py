"""SeaCalendar fixtures: a fake Discord on loopback, a gateway that knows it, members signed in through it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from gateway.app import create_app
from shared.settings import Settings
from shared.tenant import TenantContext
from tenants.seacalendar.guilds import MANAGE_GUILD
from tests.fakes.discord import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, FakeDiscord
from tests.support.server import serve

API = "/seacalendar/api"
_snowflakes = itertools.count(300_000_000_000_000_000)


@dataclass
class Member:
    """A member signed in through Discord, and their tokens."""

    id: int
    discord_id: str
    name: str
    access: str
    refresh: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


SignIn = Callable[..., Awaitable[Member]]


def discord_env(url: str, public_key: str) -> dict[str, str]:
    """The environment that points SeaCalendar at the fake."""
    return {
        "ONEBOX_DISCORD_CLIENT_ID": CLIENT_ID,
        "ONEBOX_DISCORD_CLIENT_SECRET": CLIENT_SECRET,
        "ONEBOX_DISCORD_BOT_TOKEN": BOT_TOKEN,
        "ONEBOX_DISCORD_PUBLIC_KEY": public_key,
        "ONEBOX_DISCORD_API_BASE": f"{url}/api",
    }


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is ``status`` with the shared error shape and ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


def soon(days: float = 7) -> str:
    """An ISO timestamp ``days`` from now (UTC)."""
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture(scope="session")
async def fake_discord() -> AsyncIterator[tuple[FakeDiscord, str]]:
    """The fake Discord and its base URL (API at ``<url>/api``)."""
    fake = FakeDiscord()
    async with serve(fake.app) as url:
        yield fake, url


@pytest.fixture(scope="session")
def sea_app(make_settings: Callable[..., Settings], fake_discord: tuple[FakeDiscord, str]) -> Iterator[Starlette]:
    """A gateway mounting seacalendar only, configured for the fake Discord."""
    fake, url = fake_discord
    with pytest.MonkeyPatch.context() as patch:
        for name, value in discord_env(url, fake.public_key).items():
            patch.setenv(name, value)
        yield create_app(make_settings(tenants=["seacalendar"]))


@pytest.fixture(scope="session")
async def sea_url(sea_app: Starlette) -> AsyncIterator[str]:
    async with serve(sea_app) as url:
        yield url


@pytest.fixture(scope="session")
def sea_ctx(sea_app: Starlette) -> TenantContext:
    ctx: TenantContext = sea_app.state.contexts["seacalendar"]
    return ctx


@pytest.fixture
async def sea(sea_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the seacalendar gateway."""
    async with httpx.AsyncClient(base_url=sea_url, timeout=15) as http:
        yield http


async def discord_dance(sea: httpx.AsyncClient, response: str = "json") -> httpx.Response:
    """Start at onebox, pass the fake's consent page, and return onebox's callback answer."""
    start = await sea.get(f"{API}/auth/discord", params={"response": response})
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient(timeout=15) as browser:
        consent = await browser.get(start.headers["location"])
    assert consent.status_code == 302, consent.text
    return await sea.get(consent.headers["location"])


@pytest.fixture
def sign_in(sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]) -> SignIn:
    """Sign a fresh Discord account in through the real OAuth dance."""
    fake, _ = fake_discord

    async def run(name: str = "member") -> Member:
        discord_id = str(next(_snowflakes))
        fake.user = {"id": discord_id, "username": name.lower(), "global_name": name}
        answer = await discord_dance(sea)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return Member(body["user"]["id"], discord_id, name, body["access_token"], body["refresh_token"])

    return run


async def create_poll(sea: httpx.AsyncClient, member: Member, **fields: Any) -> dict[str, Any]:
    """Create a poll (two dated options, a week to vote by default) and return it."""
    body: dict[str, Any] = {
        "title": "Game night",
        "options": [{"date": "2030-06-01", "start_time": "19:00"}, {"date": "2030-06-02", "start_time": "19:00"}],
        "voting_deadline": soon(),
        **fields,
    }
    response = await sea.post(f"{API}/polls", json=body, headers=member.auth)
    assert response.status_code == 201, response.text
    poll: dict[str, Any] = response.json()
    return poll


async def vote(sea: httpx.AsyncClient, member: Member, poll_id: int, **body: Any) -> httpx.Response:
    return await sea.post(f"{API}/polls/{poll_id}/vote", json=body, headers=member.auth)


async def schedule_qotw_now(
    sea: httpx.AsyncClient, fake: FakeDiscord, member: Member, ctx: TenantContext, guild: str, channel: str
) -> None:
    """A question-of-the-week schedule whose slot is this hour, set a week ago (so the slot is owed),
    by ``member``, who manages ``guild`` (a server of the fake with ``channel`` in it)."""
    fake.add_guild(guild, channels=(channel,), members={member.discord_id: MANAGE_GUILD})
    now = datetime.now(UTC)
    config = {"guild_id": guild, "channel_id": channel, "weekday": now.weekday(), "hour": now.hour}
    assert (await sea.put(f"{API}/qotw/config", json=config, headers=member.auth)).status_code == 200
    async with ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE qotw_configs SET updated_at = now() - interval '8 days' WHERE guild_id = :g"), {"g": guild}
        )
