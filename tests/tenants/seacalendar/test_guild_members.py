"""Listing the bot's servers one is in, and searching a server's members by name (the web UI's server and
invitee pickers), for its members only."""

from __future__ import annotations

import httpx
import pytest

from tenants.seacalendar.guilds import MAX_LISTED_GUILDS
from tests.fakes.discord import COMMUNITY_GUILD, FakeDiscord
from tests.tenants.seacalendar.conftest import API, Member, SignIn, assert_error

GUILD = "830000000000000001"


async def _server(fake: FakeDiscord, sign_in: SignIn, guild: str = GUILD) -> Member:
    """A server of the fake with Ann in it and three members search can find; returns Ann."""
    ann = await sign_in("Ann")
    fake.add_guild(guild, members={ann.discord_id: 0})
    fake.add_profile(guild, "830000000000000011", "robert", global_name="Bob", nick="Bobby")
    fake.add_profile(guild, "830000000000000012", "roberta", global_name="Bea")
    fake.add_profile(guild, "830000000000000013", "rob_the_third")
    fake.add_profile(guild, "830000000000000014", "zed", nick="Robin")
    return ann


def _search(guild: str = GUILD, **params: str) -> str:
    return f"{API}/guilds/{guild}/members?" + "&".join(f"{k}={v}" for k, v in params.items())


async def test_members_are_found_by_username_or_nickname_with_the_name_the_server_shows(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann = await _server(fake, sign_in)
    answer = await sea.get(_search(query="ROB"), headers=ann.auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "members": [
            {"discord_id": "830000000000000011", "username": "robert", "display_name": "Bobby"},
            {"discord_id": "830000000000000012", "username": "roberta", "display_name": "Bea"},
            {"discord_id": "830000000000000013", "username": "rob_the_third", "display_name": "rob_the_third"},
            {"discord_id": "830000000000000014", "username": "zed", "display_name": "Robin"},
        ]
    }
    two = await sea.get(_search(query="rob", limit="2"), headers=ann.auth)
    assert [m["username"] for m in two.json()["members"]] == ["robert", "roberta"]
    assert (await sea.get(_search(query="nobody"), headers=ann.auth)).json() == {"members": []}


@pytest.mark.parametrize(
    "params",
    [{"query": ""}, {"query": "%20%20"}, {"query": "x" * 101}, {}, {"query": "rob", "limit": "0"},
     {"query": "rob", "limit": "26"}, {"query": "rob", "limit": "ten"}, {"query": "rob", "sort": "name"}],
)  # fmt: skip
async def test_bad_searches_are_refused_before_discord_is_asked(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str], params: dict[str, str]
) -> None:
    fake, _ = fake_discord
    ann = await _server(fake, sign_in)
    asked = len(fake.requests)
    assert_error(await sea.get(_search(**params), headers=ann.auth), 422, "validation_error")
    assert_error(await sea.get(_search("not-a-server", query="rob"), headers=ann.auth), 422, "validation_error")
    assert len(fake.requests) == asked


async def test_only_the_servers_members_may_search_it(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    await _server(fake, sign_in)
    mallory = await sign_in("Mallory")
    assert_error(await sea.get(_search(query="rob"), headers=mallory.auth), 403, "not_in_guild")
    assert_error(await sea.get(_search("830000000000000099", query="rob"), headers=mallory.auth), 403, "not_in_guild")
    assert_error(await sea.get(_search(query="rob")), 401, "unauthorized")


async def test_another_tenants_token_is_refused(sea: httpx.AsyncClient) -> None:
    from gateway.context import signing_key
    from shared.auth.tokens import TokenService
    from tests.conftest import SECRET

    foreign = TokenService(signing_key(SECRET, "wishlist"), "wishlist").issue_access("1")
    answer = await sea.get(_search(query="rob"), headers={"Authorization": f"Bearer {foreign}"})
    assert_error(answer, 401, "unauthorized")


async def test_discord_busy_or_failing_is_said_as_the_other_guild_routes_say_it(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann = await _server(fake, sign_in)
    fake.rate_limit("GET /guilds/members/search", retry_after=2.2)
    busy = await sea.get(_search(query="rob"), headers=ann.auth)
    assert_error(busy, 503, "discord_busy")
    assert busy.headers["retry-after"] == "3"
    fake.fail("GET /guilds/members/search")
    assert_error(await sea.get(_search(query="rob"), headers=ann.auth), 502, "discord_unavailable")
    assert (await sea.get(_search(query="rob"), headers=ann.auth)).status_code == 200


async def test_the_bots_servers_one_is_in_are_listed_by_name(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann = await _server(fake, sign_in, "830000000000000101")
    fake.guilds["830000000000000101"]["name"] = "quiz club"
    mallory = await sign_in("Mallory")
    mine = await sea.get(f"{API}/guilds", headers=ann.auth)
    assert mine.status_code == 200, mine.text
    # The fake's community server has everyone in it; sorted by name, whatever its case.
    assert mine.json() == {
        "guilds": [{"id": COMMUNITY_GUILD, "name": "Community"}, {"id": "830000000000000101", "name": "quiz club"}],
        "listed": True,
    }
    assert (await sea.get(f"{API}/guilds", headers=mallory.auth)).json()["guilds"] == [
        {"id": COMMUNITY_GUILD, "name": "Community"}
    ]
    assert_error(await sea.get(f"{API}/guilds"), 401, "unauthorized")


async def test_too_many_servers_are_not_asked_about_one_by_one(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    extra = [str(831_000_000_000_000_000 + n) for n in range(MAX_LISTED_GUILDS)]
    for guild in extra:
        fake.add_guild(guild, members={ann.discord_id: 0})
    try:
        asked = len(fake.requests)
        assert (await sea.get(f"{API}/guilds", headers=ann.auth)).json() == {"guilds": [], "listed": False}
        assert [route for _, _, route, _ in fake.requests[asked:]] == ["/users/@me/guilds"]
    finally:
        for guild in extra:
            del fake.guilds[guild]


async def test_listing_servers_when_discord_is_busy_or_failing(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    fake.rate_limit("GET /guilds/members", retry_after=1.5)
    busy = await sea.get(f"{API}/guilds", headers=ann.auth)
    assert_error(busy, 503, "discord_busy")
    assert busy.headers["retry-after"] == "2"
    fake.fail("GET /users/@me/guilds")
    assert_error(await sea.get(f"{API}/guilds", headers=ann.auth), 502, "discord_unavailable")
    assert (await sea.get(f"{API}/guilds", headers=ann.auth)).status_code == 200
