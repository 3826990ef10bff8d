"""Input at the edges for SeaCalendar: time zones, far datetimes, huge path ids, odd Discord payloads, rooms."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import socketio
import sqlalchemy as sa

from shared.tenant import TenantContext
from tests.fakes.discord import FakeDiscord
from tests.tenants.seacalendar.conftest import API, SignIn, assert_error, create_poll
from tests.tenants.seacalendar.test_interactions import command, send


def assert_4xx(response: httpx.Response) -> None:
    """A 4xx in the shared JSON error shape (never a 5xx)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)


# --- Time zones -----------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe", "America"])
async def test_a_time_zone_area_is_refused_not_a_500(sea: httpx.AsyncClient, sign_in: SignIn, zone: str) -> None:
    # ZoneInfo("Europe") raises IsADirectoryError: only IANA names are taken.
    ann = await sign_in("Ann")
    body = {"title": "x", "options": [{"date": "2030-06-01"}], "timezone": zone}
    assert_4xx(await sea.post(f"{API}/polls", json=body, headers=ann.auth))
    poll = await create_poll(sea, ann)
    assert_4xx(await sea.put(f"{API}/polls/{poll['id']}", json={"timezone": zone}, headers=ann.auth))


@pytest.mark.parametrize("zone", ["right/UTC", "posix/Europe/Paris", "posixrules", "localtime"])
async def test_a_time_zone_postgres_cannot_use_is_refused_up_front(
    sea: httpx.AsyncClient, sign_in: SignIn, zone: str
) -> None:
    # Python's zoneinfo opens these, PostgreSQL's AT TIME ZONE (event reminders) does not: a poll
    # made with one could never be finalized.
    ann = await sign_in("Ann")
    created = await sea.post(
        f"{API}/polls", json={"title": "x", "options": [{"date": "2030-06-01", "start_time": "19:00"}],
                              "timezone": zone}, headers=ann.auth,
    )  # fmt: skip
    assert created.status_code == 422, created.text
    assert_4xx(created)


async def test_a_poll_in_an_ordinary_zone_is_finalized(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann, timezone="America/St_Johns")
    done = await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": poll["options"][0]["id"]},
                          headers=ann.auth)  # fmt: skip
    assert done.status_code == 200, done.text


# --- Datetimes at the edge ------------------------------------------------------------------


@pytest.mark.parametrize("deadline", ["9999-12-31T23:00:00-05:00", "9999-12-31T23:59:59-23:59"])
async def test_a_deadline_past_year_9999_in_utc_is_refused(
    sea: httpx.AsyncClient, sign_in: SignIn, deadline: str
) -> None:
    ann = await sign_in("Ann")
    body = {"title": "x", "options": [{"date": "2030-06-01"}], "voting_deadline": deadline}
    assert_4xx(await sea.post(f"{API}/polls", json=body, headers=ann.auth))
    poll = await create_poll(sea, ann)
    assert_4xx(await sea.put(f"{API}/polls/{poll['id']}", json={"voting_deadline": deadline}, headers=ann.auth))


@pytest.mark.parametrize(("start", "end"), [("19:00Z", "20:00"), ("19:00", "20:00+05:00")])
async def test_option_times_mixing_offsets_and_none_are_refused(
    sea: httpx.AsyncClient, sign_in: SignIn, start: str, end: str
) -> None:
    # The poll's timezone says where its times are; comparing an aware and a naive one raised TypeError.
    ann = await sign_in("Ann")
    body = {"title": "x", "options": [{"date": "2030-06-01", "start_time": start, "end_time": end}]}
    assert_4xx(await sea.post(f"{API}/polls", json=body, headers=ann.auth))


# --- Path ids -------------------------------------------------------------------------------


async def test_a_poll_id_of_5000_digits_is_a_404(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    # Starlette's int convertor would call int() on it, which raises past 4,300 digits.
    ann = await sign_in("Ann")
    assert_4xx(await sea.get(f"{API}/polls/{'9' * 5000}", headers=ann.auth))


# --- Discord interactions (signed, but odd) -------------------------------------------------


def _odd_payloads() -> list[dict[str, Any]]:
    base = command("poll", "list")
    sub = {"type": 1, "name": "create"}
    return [
        {**base, "data": [1]},
        {**base, "data": "x"},
        {**base, "data": {"name": "poll", "options": {"a": 1}}},
        {**base, "data": {"name": "poll", "options": ["x"]}},
        {**base, "data": {"name": "poll", "options": [{**sub, "options": [{"value": "x"}]}]}},  # no "name"
        {**base, "data": {"name": "poll", "options": [{**sub, "options": "abc"}]}},
        {**base, "data": {"name": "poll", "options": [{**sub, "options": [["x"]]}]}},
        {**base, "member": "x"},
        {**base, "member": {"user": "x"}},
    ]


@pytest.mark.parametrize("payload", _odd_payloads())
async def test_signed_interactions_of_the_wrong_shape_are_4xx(
    sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str], payload: dict[str, Any]
) -> None:
    fake, _ = fake_discord
    answer = await send(sea, fake, payload)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "bad_interaction"


async def test_poll_create_from_discord_keeps_the_option_limit(
    sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str], sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    answer = await send(
        sea, fake, command("poll", "create", title="many", options=",".join(f"o{i}" for i in range(3000)))
    )
    assert "at most 50 options" in answer.json()["data"]["content"]
    async with sea_ctx.db.connect() as conn:
        most = (await conn.execute(sa.text("SELECT count(*) FROM polls WHERE title = 'many'"))).scalar_one()
    assert most == 0  # nothing was made


# --- Socket.IO rooms ------------------------------------------------------------------------


async def test_joining_a_room_with_a_superscript_digit_is_answered(sea_url: str, sign_in: SignIn) -> None:
    # "²".isdigit() is True but int("²") raises: the ack never came back.
    ann = await sign_in("Ann")
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(sea_url, auth={"token": ann.access}, namespaces=["/seacalendar"], transports=["websocket"],
                         wait_timeout=5)  # fmt: skip
    try:
        answer = await client.call("join", {"room": "poll:²"}, namespace="/seacalendar", timeout=3)
        assert answer["ok"] is False
    finally:
        await client.disconnect()


async def test_a_poll_is_posted_only_in_a_channel_of_a_server_its_creator_is_in(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    # Else anyone signed in could have the bot post into any channel of any server that installed it.
    fake, _ = fake_discord
    mallory = await sign_in("Mallory")
    guild, channel, hidden = "820000000000000070", "820000000000000071", "820000000000000073"
    fake.add_guild(guild, channels=(channel,))
    fake.forbidden_channels.add(hidden)
    body = {"title": "x", "options": [{"date": "2030-06-01"}], "channel_id": channel, "is_private": False}
    assert_error(await sea.post(f"{API}/polls", json=body, headers=mallory.auth), 403, "not_in_guild")
    wrong_guild = {**body, "guild_id": "820000000000000072"}
    assert_error(await sea.post(f"{API}/polls", json=wrong_guild, headers=mallory.auth), 422, "channel_not_in_guild")
    unseen = {**body, "channel_id": hidden}
    assert_error(await sea.post(f"{API}/polls", json=unseen, headers=mallory.auth), 422, "unknown_channel")
    fake.guilds[guild]["members"][mallory.discord_id] = 0  # she joins the server
    created = await sea.post(f"{API}/polls", json=body, headers=mallory.auth)
    assert created.status_code == 201, created.text
    assert created.json()["guild_id"] == guild  # taken from Discord when not given


async def test_discord_rate_limiting_a_membership_check_answers_503_with_its_wait(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    guild = "820000000000000080"
    fake.add_guild(guild, channels=("820000000000000081",), members={ann.discord_id: 0})
    fake.rate_limit("GET /guilds/members", retry_after=2.2)
    busy = await sea.get(f"{API}/qotw/questions", params={"guild_id": guild}, headers=ann.auth)
    assert_error(busy, 503, "discord_busy")
    assert busy.headers["retry-after"] == "3"  # Discord's wait, rounded up
    assert (await sea.get(f"{API}/qotw/questions", params={"guild_id": guild}, headers=ann.auth)).status_code == 200
