"""Deleting an account: what goes with it, what stays, the proof it needs, and who hears of it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import socketio
import sqlalchemy as sa

from shared.tenant import TenantContext
from tenants.seacalendar.guilds import MANAGE_GUILD
from tests.fakes.discord import FakeDiscord
from tests.support.waiting import wait_for
from tests.tenants.seacalendar.conftest import API, Member, SignIn, assert_error, create_poll, vote
from tests.tenants.seacalendar.test_auth import sea_token

ME = f"{API}/users/me"
GUILD, CHANNEL = "710000000000000001", "710000000000000002"


async def scalar(ctx: TenantContext, sql: str, **params: Any) -> Any:
    async with ctx.db.connect() as conn:
        return await conn.scalar(sa.text(sql), params)


async def seed_qotw(ctx: TenantContext, member: Member) -> int:
    """A posted question of ``GUILD`` written by ``member``, who answered it too; returns its id."""
    async with ctx.db.transaction() as conn:
        question: int = await conn.scalar(
            sa.text(
                "INSERT INTO questions (guild_id, text, author_id, status, posted_at) "
                "VALUES (:g, 'Best boat?', :u, 'posted', now()) RETURNING id"
            ),
            {"g": GUILD, "u": member.id},
        )
        await conn.execute(
            sa.text("INSERT INTO responses (question_id, user_id, text) VALUES (:q, :u, 'A dinghy')"),
            {"q": question, "u": member.id},
        )
    return question


async def test_deleting_the_account_takes_its_data_and_keeps_what_others_rely_on(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    own = await create_poll(sea, ann, is_private=False, venue={"name": "The Anchor"})
    others = await create_poll(sea, bob, invitees=[ann.discord_id])
    first = others["options"][0]["id"]
    assert (await vote(sea, bob, own["id"], available=[own["options"][0]["id"]])).status_code == 200
    assert (await vote(sea, ann, others["id"], available=[first])).status_code == 200
    assert (await vote(sea, bob, others["id"], available=[first])).status_code == 200
    fake.add_guild(GUILD, channels=(CHANNEL,), members={ann.discord_id: MANAGE_GUILD, bob.discord_id: 0})
    config = {"guild_id": GUILD, "channel_id": CHANNEL, "weekday": 2, "hour": 18}
    assert (await sea.put(f"{API}/qotw/config", json=config, headers=ann.auth)).status_code == 200
    question = await seed_qotw(sea_ctx, ann)
    venue = await scalar(sea_ctx, "SELECT venue_id FROM polls WHERE id = :p", p=own["id"])

    assert (await sea.request("DELETE", ME, headers=ann.auth)).status_code == 204

    assert await scalar(sea_ctx, "SELECT count(*) FROM polls WHERE id = :p", p=own["id"]) == 0
    votes = "SELECT count(*) FROM votes WHERE poll_id = :p OR user_id = :u"
    assert await scalar(sea_ctx, votes, p=own["id"], u=ann.id) == 0
    assert await scalar(sea_ctx, "SELECT count(*) FROM responses WHERE question_id = :q", q=question) == 0
    assert await scalar(sea_ctx, "SELECT author_id IS NULL FROM questions WHERE id = :q", q=question)
    assert await scalar(sea_ctx, "SELECT created_by IS NULL FROM venues WHERE id = :v", v=venue)
    assert await scalar(sea_ctx, "SELECT count(*) FROM refresh_tokens WHERE subject = :s", s=str(ann.id)) == 0
    # Bob's poll stays, with only his vote counted; Ann's invite is the creator's and stays, unvoted.
    kept = (await sea.get(f"{API}/polls/{others['id']}", headers=bob.auth)).json()
    assert kept["tally"]["voters"] == 1 and kept["tally"]["options"][0]["available"] == 1
    assert kept["invitees"] == [{"discord_id": ann.discord_id, "display_name": None, "has_voted": False}]
    assert_error(await sea.get(f"{API}/polls/{own['id']}", headers=bob.auth), 404, "not_found")
    # The server's question of the week goes on, owned by no one, until a manager saves it again.
    shown = await sea.get(f"{API}/qotw/config", params={"guild_id": GUILD}, headers=bob.auth)
    assert shown.status_code == 200 and shown.json()["owner_id"] is None and shown.json()["weekday"] == 2

    # The old access token, still valid for minutes, and the refresh token are refused at once.
    assert_error(await sea.get(ME, headers=ann.auth), 401, "unauthorized")
    assert_error(await sea.get(f"{API}/polls/{others['id']}", headers=ann.auth), 401, "unauthorized")
    assert_error(await vote(sea, ann, others["id"], available=[first]), 401, "unauthorized")
    assert_error(await sea.request("DELETE", ME, headers=ann.auth), 401, "unauthorized")
    refused = await sea.post(f"{API}/auth/refresh", json={"refresh_token": ann.refresh})
    assert_error(refused, 401, "invalid_refresh_token")


async def test_deletion_needs_a_recent_sign_in_or_the_current_password(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    member = await sign_in("Dee")
    refreshed = await sea.post(f"{API}/auth/refresh", json={"refresh_token": member.refresh})
    stale = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    # Discord only, no recent sign-in: nothing to prove it with but signing in again.
    assert_error(await sea.request("DELETE", ME, headers=stale), 403, "reauth_required")
    old_sign_in = sea_token(member.id, auth_time=int(time.time()) - 11 * 60)
    assert_error(await sea.request("DELETE", ME, headers=old_sign_in), 403, "reauth_required")
    guess = {"current_password": "guess-guess"}
    assert_error(await sea.request("DELETE", ME, json=guess, headers=stale), 401, "invalid_credentials")

    credentials = {"username": f"dee{member.id}", "password": "first-password-1"}
    assert (await sea.put(ME, json=credentials, headers=member.auth)).status_code == 200
    assert (await sea.get(ME, headers=stale)).json()["has_password"] is True
    wrong = {"current_password": "first-password-X"}
    assert_error(await sea.request("DELETE", ME, json=wrong, headers=stale), 401, "invalid_credentials")
    assert (await sea.get(ME, headers=stale)).status_code == 200  # still there
    right = {"current_password": "first-password-1"}
    assert (await sea.request("DELETE", ME, json=right, headers=stale)).status_code == 204
    assert_error(await sea.get(ME, headers=member.auth), 401, "unauthorized")
    login = await sea.post(f"{API}/auth/login", json={"username": f"dee{member.id}", "password": "first-password-1"})
    assert_error(login, 401, "invalid_credentials")


async def test_bad_deletion_requests(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    from gateway.context import signing_key
    from shared.auth.tokens import TokenService
    from tests.conftest import SECRET

    member = await sign_in("Eve")
    assert (await sea.get(ME, headers=member.auth)).json()["has_password"] is False
    assert_error(await sea.request("DELETE", ME), 401, "unauthorized")
    foreign = TokenService(signing_key(SECRET, "wishlist"), "wishlist").issue_access(str(member.id))
    assert_error(await sea.request("DELETE", ME, headers={"Authorization": f"Bearer {foreign}"}), 401, "unauthorized")
    headers = {**member.auth, "Content-Type": "application/json"}
    assert_error(await sea.request("DELETE", ME, content=b"{nope", headers=headers), 400, "malformed_json")
    for shape in (b"[]", b'{"password": "x"}', b'{"current_password": 5}', b'{"current_password": ""}'):
        assert_error(await sea.request("DELETE", ME, content=shape, headers=headers), 422, "validation_error")
    assert (await sea.get(ME, headers=member.auth)).status_code == 200
    # The alias prefix reaches the same route.
    assert (await sea.request("DELETE", "/api/seacalendar/users/me", headers=member.auth)).status_code == 204


async def test_watchers_learn_the_poll_is_gone_and_tallies_move(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    own = await create_poll(sea, ann, invitees=[bob.discord_id])
    others = await create_poll(sea, bob, invitees=[ann.discord_id])
    option = others["options"][0]["id"]
    assert (await vote(sea, ann, others["id"], available=[option])).status_code == 200
    # Bob's finished event, where Ann left a memory but never voted.
    past = await create_poll(sea, bob, invitees=[ann.discord_id])
    base = f"{API}/polls/{past['id']}"
    finalized = await sea.post(f"{base}/finalize", json={"option_id": past["options"][0]["id"]}, headers=bob.auth)
    assert finalized.status_code == 200, finalized.text
    memory = (await sea.post(f"{base}/memories", json={"text": "Great night"}, headers=ann.auth)).json()
    kept = (await sea.post(f"{base}/memories", json={"text": "Agreed"}, headers=bob.auth)).json()
    events: list[tuple[str, Any]] = []
    watcher, mine = socketio.AsyncClient(reconnection=False), socketio.AsyncClient(reconnection=False)
    for name in ("poll_deleted", "vote_updated", "memories_removed"):
        watcher.on(name, lambda data, name=name: events.append((name, data)), namespace="/seacalendar")
    for client, member in ((watcher, bob), (mine, ann)):
        await client.connect(sea_url, auth={"token": member.access}, namespaces=["/seacalendar"],
                             transports=["websocket"], wait_timeout=5)  # fmt: skip
    try:
        for room in (f"poll:{own['id']}", f"poll:{others['id']}", f"poll:{past['id']}"):
            joined = await watcher.call("join", {"room": room}, namespace="/seacalendar", timeout=5)
            assert joined["ok"], joined
        assert (await mine.call("join", {"room": f"poll:{own['id']}"}, namespace="/seacalendar", timeout=5))["ok"]
        assert (await sea.request("DELETE", ME, headers=ann.auth)).status_code == 204
        await wait_for(lambda: len(events) == 3)
        # The deleted account's own connection is closed, though its token has minutes left.
        await wait_for(lambda: not mine.connected)
    finally:
        await watcher.disconnect()
        await mine.disconnect()
    assert ("poll_deleted", {"poll_id": own["id"], "channel_id": None, "message_id": None}) in events
    tally = next(data for name, data in events if name == "vote_updated")
    assert tally["poll_id"] == others["id"] and tally["tally"]["voters"] == 0
    assert ("memories_removed", {"poll_id": past["id"], "memory_ids": [memory["id"]]}) in events
    left = (await sea.get(f"{base}/memories", headers=bob.auth)).json()["memories"]
    assert [m["id"] for m in left] == [kept["id"]]


async def test_a_deleted_accounts_token_cannot_connect_and_join(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    public = await create_poll(sea, bob, is_private=False)
    assert (await sea.request("DELETE", ME, headers=ann.auth)).status_code == 204
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[Any] = []
    client.on("connect_error", refusals.append, namespace="/seacalendar")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(sea_url, auth={"token": ann.access}, namespaces=["/seacalendar"],
                             transports=["websocket"], wait_timeout=5)  # fmt: skip
    assert refusals[0]["data"]["code"] == "unauthorized" and "deleted" in refusals[0]["message"]
    # Bob's token, as fresh, connects and joins the public poll Ann could no longer watch.
    await client.connect(sea_url, auth={"token": bob.access}, namespaces=["/seacalendar"], transports=["websocket"],
                         wait_timeout=5)  # fmt: skip
    try:
        joined = await client.call("join", {"room": f"poll:{public['id']}"}, namespace="/seacalendar", timeout=5)
    finally:
        await client.disconnect()
    assert joined["ok"], joined
