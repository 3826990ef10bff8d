"""The reusable Mastodon client: instance names, the address guard (on), and the OAuth flow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from shared.auth.mastodon import MastodonConfig, MastodonOAuth, normalize_instance
from shared.errors import ApiError
from tests.conftest import SECRET
from tests.fakes.mastodon import FakeMastodon
from tests.support.server import serve

REDIRECT = "https://box.example/astro/api/auth/mastodon/callback"


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[tuple[FakeMastodon, str]]:
    instance = FakeMastodon()
    async with serve(instance.app) as url:
        yield instance, url


@pytest.fixture
async def guarded(tenant_ctx: Callable[[str], Any]) -> AsyncIterator[MastodonOAuth]:
    """A client with no allow-list: every instance goes through the address guard."""
    client = MastodonOAuth(MastodonConfig(), tenant_ctx("astro").db, SECRET)
    yield client
    await client.aclose()


@pytest.fixture
async def allowed(tenant_ctx: Callable[[str], Any], fake: tuple[FakeMastodon, str]) -> AsyncIterator[MastodonOAuth]:
    """A client that knows ``fake.example`` as the fake on loopback."""
    client = MastodonOAuth(MastodonConfig(instances={"fake.example": fake[1]}), tenant_ctx("astro").db, SECRET)
    yield client
    await client.aclose()


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Mastodon.Social.", "mastodon.social"),
        ("  hachyderm.io ", "hachyderm.io"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_instance_names_are_normalised(raw: str, name: str) -> None:
    assert normalize_instance(raw) == name


@pytest.mark.parametrize(
    "raw", ["", "https://mastodon.social", "mastodon.social:443", "a b.example", "-bad.example", "a..example",
            "me@mastodon.social", "mastodon.social/path", "x" * 64 + ".example", "[::1]"],
)  # fmt: skip
def test_malformed_instance_names_are_refused(raw: str) -> None:
    with pytest.raises(ApiError) as caught:
        normalize_instance(raw)
    assert caught.value.status == 400 and caught.value.code == "invalid_instance"


@pytest.mark.parametrize(
    ("instance", "status", "code"),
    [("localhost", 403, "instance_forbidden"), ("127.0.0.1", 403, "instance_forbidden"),
     ("10.9.8.7", 403, "instance_forbidden"), ("0", 403, "instance_forbidden"),
     ("nothing-here.invalid", 400, "unknown_instance"), ("fake.example", 400, "unknown_instance")],
)  # fmt: skip
async def test_guard_refuses_private_and_unknown_instances(
    guarded: MastodonOAuth, instance: str, status: int, code: str
) -> None:
    with pytest.raises(ApiError) as caught:
        await guarded.start(instance, REDIRECT)
    assert (caught.value.status, caught.value.code) == (status, code)


async def test_flow_against_the_fake(allowed: MastodonOAuth, fake: tuple[FakeMastodon, str]) -> None:
    instance, _ = fake
    url = await allowed.start("fake.example", REDIRECT)
    query = parse_qs(urlsplit(url).query)
    assert query["redirect_uri"] == [REDIRECT] and query["scope"] == ["read:accounts"]
    async with httpx.AsyncClient() as browser:
        back = (await browser.get(url)).headers["location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    account = await allowed.finish(params["state"], params["code"], None)
    assert (account.instance, account.id, account.acct) == ("fake.example", instance.account["id"], "luna@fake.example")
    with pytest.raises(ApiError) as replay:
        await allowed.finish(params["state"], params["code"], None)
    assert replay.value.code == "invalid_state"
    registered = len(instance.apps)
    await allowed.start("fake.example", REDIRECT)
    assert len(instance.apps) == registered  # the app registration is cached in the database


async def test_wrong_pkce_verifier_is_refused_by_the_instance(
    allowed: MastodonOAuth, fake: tuple[FakeMastodon, str], tenant_ctx: Callable[[str], Any]
) -> None:
    url = await allowed.start("fake.example", REDIRECT)
    async with httpx.AsyncClient() as browser:
        back = (await browser.get(url)).headers["location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    async with tenant_ctx("astro").db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE mastodon_oauth_states SET code_verifier = 'tampered' WHERE state = :s"),
            {"s": params["state"]},
        )
    with pytest.raises(ApiError) as caught:
        await allowed.finish(params["state"], params["code"], None)
    assert (caught.value.status, caught.value.code) == (400, "invalid_grant")
