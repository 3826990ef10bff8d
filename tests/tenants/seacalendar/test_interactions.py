"""Discord interactions: Ed25519 signatures checked, then /poll create, /poll list and /qotw answer."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from shared.tenant import TenantContext
from tests.fakes.discord import FakeDiscord
from tests.tenants.seacalendar.conftest import assert_error
from tests.tenants.seacalendar.test_auth import sea_token

URL = "/seacalendar/discord/interactions"
GUILD, CHANNEL = "700000000000000001", "700000000000000002"


def command(name: str, sub: str, **args: Any) -> dict[str, Any]:
    options = [{"name": key, "type": 4 if isinstance(value, int) else 3, "value": value} for key, value in args.items()]
    return {
        "type": 2,
        "id": "1",
        "guild_id": GUILD,
        "channel_id": CHANNEL,
        "member": {"user": {"id": "700000000000000099", "username": "zed", "global_name": "Zed"}},
        "data": {"name": name, "type": 1, "options": [{"type": 1, "name": sub, "options": options}]},
    }


async def send(sea: httpx.AsyncClient, fake: FakeDiscord, payload: dict[str, Any]) -> httpx.Response:
    body = orjson.dumps(payload)
    return await sea.post(URL, content=body, headers=fake.sign(body))


async def test_ping_with_a_good_signature(sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]) -> None:
    fake, _ = fake_discord
    answer = await send(sea, fake, {"type": 1})
    assert answer.status_code == 200 and answer.json() == {"type": 1}


async def test_bad_signatures_are_401(sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]) -> None:
    fake, _ = fake_discord
    body = b'{"type":1}'
    headers = fake.sign(body)
    assert_error(await sea.post(URL, content=b'{"type":2}', headers=headers), 401, "invalid_signature")
    forged = {**headers, "X-Signature-Ed25519": "00" * 64}
    assert_error(await sea.post(URL, content=body, headers=forged), 401, "invalid_signature")
    assert_error(
        await sea.post(URL, content=body, headers={**headers, "X-Signature-Ed25519": "zz"}), 401, "invalid_signature"
    )
    assert_error(await sea.post(URL, content=body), 401, "invalid_signature")
    stale = fake.sign(body, timestamp=int(time.time()) - 3600)
    assert_error(await sea.post(URL, content=body, headers=stale), 401, "invalid_signature")
    # A digit Python's isdigit() takes but int() refuses ("²", sent as latin-1), and a huge number.
    for timestamp in (b"\xb2", b"9" * 400):
        odd = [(b"x-signature-ed25519", b"00" * 64), (b"x-signature-timestamp", timestamp)]
        assert_error(await sea.post(URL, content=body, headers=odd), 401, "invalid_signature")


async def test_signed_but_malformed(sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]) -> None:
    fake, _ = fake_discord
    assert_error(await sea.post(URL, content=b"{nope", headers=fake.sign(b"{nope")), 400, "malformed_json")
    assert_error(await send(sea, fake, {"type": 99}), 400, "unsupported_interaction")
    assert_error(await send(sea, fake, {**command("poll", "list"), "member": {}}), 400, "bad_interaction")


async def test_poll_create_and_list(
    sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str], sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    created = await send(
        sea,
        fake,
        command("poll", "create", title="Picnic", options="2030-07-01 12:00-15:00, 2030-07-02", deadline_days=3),
    )
    assert created.status_code == 200, created.text
    data = created.json()
    assert data["type"] == 4 and data["data"]["flags"] == 64 and "Picnic" in data["data"]["content"]
    async with sea_ctx.db.connect() as conn:
        poll = (
            await conn.execute(
                sa.text("SELECT * FROM polls WHERE guild_id = :g ORDER BY id DESC LIMIT 1"), {"g": GUILD}
            )
        ).one()
        options = (
            await conn.execute(
                sa.text("SELECT date, start_time, end_time FROM poll_options WHERE poll_id = :p ORDER BY position"),
                {"p": poll.id},
            )
        ).all()
    assert poll.type == "event" and poll.channel_id == CHANNEL and not poll.is_private and poll.voting_deadline
    assert [str(o.date) for o in options] == ["2030-07-01", "2030-07-02"] and str(options[0].end_time) == "15:00:00"
    generic = await send(sea, fake, command("poll", "create", title="Snacks", options="chips, fruit"))
    assert "Snacks" in generic.json()["data"]["content"]
    listed = (await send(sea, fake, command("poll", "list"))).json()["data"]["content"]
    assert "Picnic" in listed and "Snacks" in listed
    empty = (await send(sea, fake, command("poll", "create", title="", options=""))).json()["data"]["content"]
    assert "title" in empty


async def test_qotw_answer(
    sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str], sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    nothing = (await send(sea, fake, command("qotw", "answer", text="hi"))).json()["data"]["content"]
    assert "No question" in nothing
    async with sea_ctx.db.transaction() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO questions (guild_id, text, status, posted_at) "
                "VALUES (:g, 'Tea or coffee?', 'posted', now())"
            ),
            {"g": GUILD},
        )
    saved = (await send(sea, fake, command("qotw", "answer", text="Tea"))).json()["data"]["content"]
    assert "Tea or coffee?" in saved
    async with sea_ctx.db.connect() as conn:
        text = (
            await conn.execute(
                sa.text(
                    "SELECT r.text FROM responses r JOIN users u ON u.id = r.user_id "
                    "WHERE u.discord_id = '700000000000000099'"
                )
            )
        ).scalar()
    assert text == "Tea"


async def test_replies_quoting_a_title_ping_no_one(
    sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    for payload in (
        command("poll", "create", title="@everyone party", options="chips, fruit"),
        command("poll", "list"),
    ):
        data = (await send(sea, fake, payload)).json()["data"]
        assert "@everyone party" in data["content"] and data["allowed_mentions"] == {"parse": []}


async def test_commands_after_the_account_was_deleted(
    sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str], sea_ctx: TenantContext
) -> None:
    # The poll messages carry no buttons, so no interaction names a poll: a deleted one is simply
    # not listed, and its creator coming back through a command gets a fresh account.
    fake, _ = fake_discord
    payload = command("poll", "create", title="Regatta", options="2030-08-01, 2030-08-02")
    payload["member"] = {"user": {"id": "700000000000000098", "username": "yan", "global_name": "Yan"}}
    assert "Regatta" in (await send(sea, fake, payload)).json()["data"]["content"]
    async with sea_ctx.db.connect() as conn:
        first = await conn.scalar(sa.text("SELECT id FROM users WHERE discord_id = '700000000000000098'"))
    signed_in = sea_token(first, auth_time=int(time.time()))
    assert (await sea.request("DELETE", "/seacalendar/api/users/me", headers=signed_in)).status_code == 204
    listed = await send(sea, fake, command("poll", "list"))
    assert listed.status_code == 200 and listed.json()["data"]["flags"] == 64
    assert "Regatta" not in listed.json()["data"]["content"]
    again = await send(sea, fake, payload)
    assert again.status_code == 200 and "Regatta" in again.json()["data"]["content"]
    async with sea_ctx.db.connect() as conn:
        second = await conn.scalar(sa.text("SELECT id FROM users WHERE discord_id = '700000000000000098'"))
    assert second is not None and second != first
