"""Astro fixtures: a fake Mastodon on loopback and a gateway mounting astro that knows it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from shared.settings import Settings
from tests.fakes.mastodon import FakeMastodon
from tests.support.database import free_port
from tests.support.server import serve

SignIn = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture(scope="session")
async def fake_mastodon() -> AsyncIterator[tuple[FakeMastodon, str]]:
    """The fake instance and its base URL."""
    fake = FakeMastodon()
    async with serve(fake.app) as url:
        yield fake, url


@pytest.fixture(scope="session")
def astro_app(
    settings: Settings, make_settings: Callable[..., Settings], fake_mastodon: tuple[FakeMastodon, str]
) -> Starlette:
    """A gateway with astro only, whose allow-list maps test names to the fake's personalities.

    Every other instance name goes through the public-address guard, as in production.
    """
    _, url = fake_mastodon
    instances = {
        "fake.test": url,
        "refusing.test": f"{url}/refusing",
        "html.test": f"{url}/html",
        "down.test": f"http://127.0.0.1:{free_port()}",
    }
    # Set only while the app reads its settings, so no other app of the session sees the list.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ONEBOX_ASTRO_MASTODON_INSTANCES", json.dumps(instances))
        return create_app(make_settings(tenants=["astro"]))


@pytest.fixture(scope="session")
async def astro_url(astro_app: Starlette) -> AsyncIterator[str]:
    async with serve(astro_app) as url:
        yield url


@pytest.fixture
async def astro(astro_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the astro gateway."""
    async with httpx.AsyncClient(base_url=astro_url, timeout=15) as http:
        yield http


async def follow_sign_in(astro: httpx.AsyncClient, fake: FakeMastodon, instance: str = "fake.test") -> httpx.Response:
    """Start at onebox, pass the fake's authorize page, and return onebox's callback answer."""
    start = await astro.get("/astro/api/auth/mastodon", params={"instance": instance})
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient(timeout=15) as browser:
        authorized = await browser.get(start.headers["location"])
    assert authorized.status_code == 302, authorized.text
    return await astro.get(authorized.headers["location"])


@pytest.fixture
def sign_in(astro: httpx.AsyncClient, fake_mastodon: tuple[FakeMastodon, str]) -> SignIn:
    """Sign a fresh Mastodon account in; its tokens, member id and auth headers."""
    fake, _ = fake_mastodon

    async def run(name: str = "member") -> dict[str, Any]:
        account_id = str(uuid.uuid4().int % 10**12)
        fake.account = {**fake.account, "id": account_id, "username": name, "acct": name, "display_name": name}
        done = await follow_sign_in(astro, fake)
        assert done.status_code == 303, done.text
        fragment = {k: v[0] for k, v in parse_qs(urlsplit(done.headers["location"]).fragment).items()}
        headers = {"Authorization": f"Bearer {fragment['access_token']}"}
        profile = (await astro.get("/astro/api/profile", headers=headers)).json()
        return {**fragment, "headers": headers, "id": profile["id"], "account_id": account_id}

    return run
