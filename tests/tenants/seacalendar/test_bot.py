"""The bot against the fake Discord: poll messages, edits from the bus, reminders once across a restart,
rate limits and server errors, expiry, question of the week, heartbeat and errors in health."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.settings import Settings
from shared.tenant import TenantContext
from tenants.seacalendar.bot import qotw, scheduler
from tenants.seacalendar.bot.discord_rest import DiscordError, DiscordRest
from tenants.seacalendar.bot.main import Bot, bot_dsn, open_pool, tenant_bus
from tenants.seacalendar.bot.messages import DELETED
from tenants.seacalendar.settings import SeaCalendarSettings
from tests.fakes.discord import BOT_TOKEN, FakeDiscord
from tests.support.waiting import wait_for
from tests.tenants.seacalendar.conftest import (
    API,
    Member,
    SignIn,
    create_poll,
    discord_env,
    schedule_qotw_now,
    soon,
    vote,
)
from tests.tenants.seacalendar.test_interactions import command, send

CHANNEL = "800000000000000001"
RunBot = Callable[..., Any]


@pytest.fixture
def run_bot(make_settings: Callable[..., Settings], fake_discord: tuple[FakeDiscord, str]) -> RunBot:
    """Start a bot process's worth of work (own pool and LISTEN connection) in this loop."""
    _, url = fake_discord

    @asynccontextmanager
    async def start(
        token: str = BOT_TOKEN,
        crash: bool = False,
        backoff: float = 0.05,
        refused_probe: float = 300.0,
        **overrides: Any,
    ) -> AsyncIterator[Bot]:
        settings = make_settings(tenants=["seacalendar"])
        dsn = bot_dsn(settings)
        pool = await open_pool(dsn)
        values: dict[str, Any] = {
            "discord_api_base": f"{url}/api",
            "seacalendar_bot_tick": 0.1,
            "seacalendar_edit_debounce": 0.05,
            "seacalendar_claim_lease": 0.5,
            **overrides,
        }
        sea = SeaCalendarSettings(_env_file=None, **values)  # type: ignore[call-arg]
        bot = Bot(
            pool,
            tenant_bus(settings, dsn),
            sea,
            DiscordRest(f"{url}/api", token, backoff=backoff, refused_probe=refused_probe),
        )
        stop = asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        try:
            yield bot
        finally:
            if crash:
                task.cancel()
            stop.set()
            (outcome,) = await asyncio.gather(task, return_exceptions=True)
            await pool.close()
            if isinstance(outcome, Exception):
                raise outcome

    return start


async def deliveries(ctx: TenantContext, poll_id: int) -> list[tuple[str, str]]:
    async with ctx.db.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT d.discord_id, d.status FROM reminder_deliveries d JOIN reminders r ON r.id = d.reminder_id "
                "WHERE r.poll_id = :p ORDER BY d.discord_id"
            ),
            {"p": poll_id},
        )
        return [(r.discord_id, r.status) for r in rows]


async def make_due(ctx: TenantContext, poll_id: int) -> None:
    async with ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE reminders SET scheduled_for = now() - interval '1 second' WHERE poll_id = :p"),
            {"p": poll_id},
        )


async def message_id_of(ctx: TenantContext, poll_id: int) -> str | None:
    async with ctx.db.connect() as conn:
        value = (await conn.execute(sa.text("SELECT message_id FROM polls WHERE id = :p"), {"p": poll_id})).scalar()
    return str(value) if value is not None else None


async def test_posts_the_poll_and_edits_it_after_a_vote(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
    sea_ctx: TenantContext,
) -> None:
    fake, _ = fake_discord
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    async with run_bot():
        poll = await create_poll(sea, ann, title="Bot watched", channel_id=CHANNEL, invitees=[bob.discord_id])
        nonce = f"poll-{poll['id']}"
        posted = await wait_for(lambda: [m for m in fake.channel_messages(CHANNEL) if m["nonce"] == nonce])
        assert posted[0]["embeds"][0]["title"] == "Bot watched"
        message_id = posted[0]["id"]
        assert await wait_for(lambda: message_id_of(sea_ctx, poll["id"])) == message_id
        await vote(sea, bob, poll["id"], available=[poll["options"][0]["id"]])
        edits = await wait_for(lambda: [e for e in fake.edits if e["id"] == message_id])
        assert edits[-1]["embeds"][0]["fields"][0]["value"].startswith("✅ 1 available")
        await sea.post(
            f"{API}/polls/{poll['id']}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth
        )
        await wait_for(lambda: "Date chosen" in fake.messages[message_id]["embeds"][0]["footer"]["text"])
    assert len([m for m in fake.channel_messages(CHANNEL) if m["nonce"] == nonce]) == 1


@pytest.mark.parametrize("deleted", ["poll", "account"])
async def test_a_deleted_poll_leaves_a_notice_in_discord(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
    sea_ctx: TenantContext,
    deleted: str,
) -> None:
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    async with run_bot():
        poll = await create_poll(sea, ann, title="Soon gone", channel_id=CHANNEL)
        message_id = await wait_for(lambda: message_id_of(sea_ctx, poll["id"]))
        path = f"{API}/polls/{poll['id']}" if deleted == "poll" else f"{API}/users/me"
        assert (await sea.request("DELETE", path, headers=ann.auth)).status_code == 204
        await wait_for(lambda: fake.messages[message_id]["embeds"][0]["description"] == DELETED)
        assert fake.messages[message_id]["content"] == "📅 This poll was deleted."
        assert fake.messages[message_id]["embeds"][0]["fields"] == []


@pytest.mark.parametrize("outage", [False, True], ids=["restart", "outage past the nonce lifetime"])
async def test_vote_reminders_go_out_once_across_a_restart(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
    sea_ctx: TenantContext,
    outage: bool,
) -> None:
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    invitees = [str(900_000_000_000_000_000 + 10 * int(outage) + n) for n in range(4)]
    poll = await create_poll(sea, ann, invitees=invitees, voting_deadline=soon(2))
    await make_due(sea_ctx, poll["id"])
    held_before = fake.held
    release = fake.hold_dms(after=2)
    try:
        async with run_bot(crash=True):
            # Two DMs go out; the other two are claimed and in flight when the bot dies.
            await wait_for(lambda: fake.held - held_before == 2)
            await wait_for(lambda: _statuses(sea_ctx, poll["id"], ["sending", "sending", "sent", "sent"]))
        assert sum(len(fake.dms_to(i)) for i in invitees) == 2
    finally:
        # Discord finishes the requests the dead bot made: their messages exist, unknown to the database.
        release.set()
    await wait_for(lambda: sum(len(fake.dms_to(i)) for i in invitees) == 4)
    # Down longer than Discord remembers nonces: the next run must find those DMs in the conversations.
    fake.nonce_ttl_s = 0.0 if outage else None
    try:
        async with run_bot():
            await wait_for(lambda: _statuses(sea_ctx, poll["id"], ["sent"] * 4))
    finally:
        fake.nonce_ttl_s = None
    assert [len(fake.dms_to(i)) for i in invitees] == [1, 1, 1, 1]
    assert "haven't voted" in fake.dms_to(invitees[0])[0]["content"]
    async with sea_ctx.db.connect() as conn:
        sent = (
            await conn.execute(sa.text("SELECT sum(reminders_sent) FROM invites WHERE poll_id = :p"), {"p": poll["id"]})
        ).scalar()
    assert sent == 4


async def _statuses(ctx: TenantContext, poll_id: int, expected: list[str]) -> bool:
    return sorted(status for _, status in await deliveries(ctx, poll_id)) == expected


async def finalize_in_two_days(
    sea: httpx.AsyncClient, ctx: TenantContext, creator: Member, poll_id: int, option_id: int
) -> None:
    """Move the option to two days from now and finalise on it: its 1-day and 2-hour reminders are scheduled."""
    async with ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE poll_options SET date = (now() + interval '2 days')::date WHERE id = :o"), {"o": option_id}
        )
    finalized = await sea.post(f"{API}/polls/{poll_id}/finalize", json={"option_id": option_id}, headers=creator.auth)
    assert finalized.status_code == 200, finalized.text


async def test_voters_are_not_reminded_and_finalising_sends_event_reminders(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
    sea_ctx: TenantContext,
) -> None:
    fake, _ = fake_discord
    ann, bob, cy = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, cy.discord_id], voting_deadline=soon(2))
    first = poll["options"][0]["id"]
    await vote(sea, bob, poll["id"], available=[first])
    await make_due(sea_ctx, poll["id"])
    async with run_bot():
        await wait_for(lambda: fake.dms_to(cy.discord_id))
        assert fake.dms_to(bob.discord_id) == []
        await finalize_in_two_days(sea, sea_ctx, ann, poll["id"], first)
        await make_due(sea_ctx, poll["id"])
        await wait_for(lambda: len(fake.dms_to(bob.discord_id)) == 2 and len(fake.dms_to(ann.discord_id)) == 2)
    assert all("📅" in m["content"] for m in fake.dms_to(bob.discord_id))
    assert len(fake.dms_to(cy.discord_id)) == 1  # cy never said yes: no event reminders


async def test_event_reminders_skip_voters_taken_off_a_private_poll(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
    sea_ctx: TenantContext,
) -> None:
    # Dee said yes, then the creator took her off the (private) poll: she can no longer open it,
    # so its event reminders must not reach her; Bob, still invited, hears of it.
    fake, _ = fake_discord
    ann, bob, dee = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Dee")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, dee.discord_id])
    assert poll["is_private"]
    first = poll["options"][0]["id"]
    for member in (bob, dee):
        assert (await vote(sea, member, poll["id"], available=[first])).status_code == 200
    removed = await sea.put(f"{API}/polls/{poll['id']}", json={"invitees": [bob.discord_id]}, headers=ann.auth)
    assert removed.status_code == 200, removed.text
    assert (await sea.get(f"{API}/polls/{poll['id']}", headers=dee.auth)).status_code == 404
    await finalize_in_two_days(sea, sea_ctx, ann, poll["id"], first)
    async with run_bot():
        await make_due(sea_ctx, poll["id"])
        await wait_for(lambda: len(fake.dms_to(bob.discord_id)) == 2 and len(fake.dms_to(ann.discord_id)) == 2)
    assert fake.dms_to(dee.discord_id) == []
    assert {d for d, _ in await deliveries(sea_ctx, poll["id"])} == {ann.discord_id, bob.discord_id}


async def test_an_invitee_removed_after_the_reminder_was_expanded_is_not_reminded(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    make_settings: Callable[..., Settings],
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
    sea_ctx: TenantContext,
) -> None:
    # Deliveries are made when the reminder is due but can wait to be sent (a backlog, a retry):
    # Bob is taken off the poll in between, so only Cy hears of it.
    fake, _ = fake_discord
    ann, bob, cy = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, cy.discord_id], voting_deadline=soon(2))
    await make_due(sea_ctx, poll["id"])
    pool = await open_pool(bot_dsn(make_settings(tenants=["seacalendar"])))
    try:
        assert await scheduler.expand_due_reminders(pool) == 2
    finally:
        await pool.close()
    removed = await sea.put(f"{API}/polls/{poll['id']}", json={"invitees": [cy.discord_id]}, headers=ann.auth)
    assert removed.status_code == 200, removed.text
    async with run_bot():
        await wait_for(lambda: _statuses(sea_ctx, poll["id"], ["sent", "skipped"]))
    assert fake.dms_to(bob.discord_id) == [] and len(fake.dms_to(cy.discord_id)) == 1


async def test_rate_limits_and_server_errors_are_waited_out(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
) -> None:
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    async with run_bot() as bot:
        await wait_for(bot.ready.is_set)  # start-up catch-up done: only this poll's post is in flight below
        fake.rate_limit("POST /channels/messages", times=2, retry_after=0.3)
        fake.fail("POST /channels/messages", times=1)
        start = len(fake.requests)
        poll = await create_poll(sea, ann, channel_id=CHANNEL, is_private=False)
        await wait_for(lambda: [m for m in fake.channel_messages(CHANNEL) if m["nonce"] == f"poll-{poll['id']}"])
        health = await wait_for(lambda: _bot_health(sea, lambda bot: bot.get("rate_limited", 0) >= 2))
    calls = [
        (t, status)
        for t, method, path, status in fake.requests[start:]
        if (method, path) == ("POST", "/channels/messages")
    ]
    assert [status for _, status in calls[:4]] == [429, 429, 502, 200]
    assert calls[1][0] - calls[0][0] >= 0.29 and calls[2][0] - calls[1][0] >= 0.29  # retry_after honoured
    assert health["bot"]["alive"] is True and health["bot"]["state"] == "running"
    metrics = (await sea.get("/metrics")).text  # the reading the health request just took
    assert 'onebox_seacalendar_bot_up{tenant="seacalendar"} 1.0' in metrics
    assert 'onebox_seacalendar_bot_messages_posted_total{tenant="seacalendar"}' in metrics
    rate_limited = next(
        line for line in metrics.splitlines() if line.startswith("onebox_seacalendar_bot_rate_limited_total")
    )
    assert float(rate_limited.split()[-1]) >= 2


async def _bot_health(sea: httpx.AsyncClient, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    doc: dict[str, Any] = (await sea.get("/seacalendar/health")).json()
    return doc if check(doc.get("bot", {})) else None


async def test_errors_show_in_health(sea: httpx.AsyncClient, sign_in: SignIn, run_bot: RunBot) -> None:
    ann = await sign_in("Ann")
    async with run_bot(token="wrong-token"):
        await create_poll(sea, ann, channel_id=CHANNEL, is_private=False)
        # The error is this bot's (an earlier run's last error stays on record): counted, and named.
        health = await wait_for(
            lambda: _bot_health(sea, lambda bot: bot.get("errors", 0) >= 1 and "401" in (bot.get("last_error") or ""))
        )
    assert health["bot"]["token_refused"] is True


async def test_rest_client_gives_up_on_long_rate_limits_and_client_errors(
    fake_discord: tuple[FakeDiscord, str],
) -> None:
    fake, url = fake_discord
    rest = DiscordRest(f"{url}/api", BOT_TOKEN, max_retry_after=1.0, backoff=0.01)
    try:
        with pytest.raises(DiscordError) as bad:
            await rest.open_dm("not-a-user")
        assert bad.value.status == 400 and bad.value.code == 50035 and not bad.value.retryable
        fake.fail("POST /users/@me/channels", times=5)
        with pytest.raises(DiscordError) as down:
            await rest.open_dm("123456789012")
        assert down.value.status == 502
        fake.rate_limit("POST /users/@me/channels", times=1, retry_after=120)
        with pytest.raises(DiscordError) as limited:
            await rest.open_dm("123456789012")
        assert limited.value.status == 429 and limited.value.retryable
    finally:
        await rest.close()


async def test_routes_discord_names_one_bucket_share_its_budget_per_channel(
    fake_discord: tuple[FakeDiscord, str],
) -> None:
    fake, url = fake_discord
    rest = DiscordRest(f"{url}/api", BOT_TOKEN, backoff=0.01)
    other = "800000000000000009"
    try:
        fake.share_bucket("messages-hash", "POST /channels/messages", "GET /channels/messages")
        await rest.send_message(CHANNEL, {"content": "one"})  # each route names its bucket
        fake.spend("GET /channels/messages", reset_after=0.6)
        await rest.sent_since(CHANNEL, "one", datetime.now(UTC) - timedelta(minutes=1))
        spent_at = fake.requests[-1][0]
        # Another channel's budget is its own: no wait.
        await rest.send_message(other, {"content": "elsewhere"})
        assert fake.requests[-1][0] - spent_at < 0.5
        # The same channel's posting shares the spent budget: it waits for the reset, no 429 collected.
        await rest.send_message(CHANNEL, {"content": "two"})
        assert fake.requests[-1][0] - spent_at >= 0.55 and fake.requests[-1][3] == 200
    finally:
        fake.bucket_ids.clear()
        await rest.close()


async def test_a_long_rate_limit_is_remembered_instead_of_asked_again(
    fake_discord: tuple[FakeDiscord, str],
) -> None:
    # Every 429 counts towards Discord's invalid-request limit (10,000 per 10 minutes, then a ban):
    # while a bucket is closed for longer than the bot would wait, calls on it fail without asking.
    fake, url = fake_discord
    rest = DiscordRest(f"{url}/api", BOT_TOKEN, max_retry_after=1.0, backoff=0.01)
    try:
        fake.rate_limit("POST /channels/messages", times=1, retry_after=120, scope="shared")
        with pytest.raises(DiscordError):
            await rest.send_message(CHANNEL, {"content": "one"})
        asked = len(fake.requests)
        with pytest.raises(DiscordError) as again:
            await rest.send_message(CHANNEL, {"content": "two"})
        assert len(fake.requests) == asked and again.value.status == 429 and again.value.retry_after > 100
        await rest.send_message("800000000000000009", {"content": "another channel's bucket is open"})
        fake.rate_limit("POST /users/@me/channels", times=1, retry_after=120, scope="global")
        with pytest.raises(DiscordError):
            await rest.open_dm("123456789012")
        asked = len(fake.requests)
        with pytest.raises(DiscordError) as closed:
            await rest.send_message("800000000000000009", {"content": "a global limit closes every route"})
        assert len(fake.requests) == asked and closed.value.status == 429
    finally:
        await rest.close()


async def test_expiry_and_question_of_the_week(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
    sea_ctx: TenantContext,
) -> None:
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann)
    async with sea_ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE polls SET voting_deadline = now() - interval '1 minute' WHERE id = :p"), {"p": poll["id"]}
        )
    guild, channel = "810000000000000001", "810000000000000002"
    await schedule_qotw_now(sea, fake, ann, sea_ctx, guild, channel)
    await sea.post(f"{API}/qotw/questions", json={"guild_id": guild, "text": "Favourite boat?"}, headers=ann.auth)
    await sea.post(f"{API}/qotw/questions", json={"guild_id": guild, "text": "Next week's"}, headers=ann.auth)
    async with run_bot():
        await wait_for(lambda: fake.channel_messages(channel))
        await wait_for(lambda: _status(sea, ann, poll["id"], "expired"))
    assert [m["content"].count("Favourite boat?") for m in fake.channel_messages(channel)] == [1]
    listed = (await sea.get(f"{API}/qotw/questions", params={"guild_id": guild}, headers=ann.auth)).json()
    assert [q["status"] for q in listed["questions"]] == ["queued", "posted"]


async def test_a_question_posted_before_a_long_outage_is_not_posted_again(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    make_settings: Callable[..., Settings],
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
    sea_ctx: TenantContext,
) -> None:
    # A run claimed the question and posted it, then died before recording it; the bot is down
    # longer than Discord remembers the nonce, so only the channel's history tells.
    fake, url = fake_discord
    ann = await sign_in("Ann")
    guild, channel = "820000000000000001", "820000000000000002"
    await schedule_qotw_now(sea, fake, ann, sea_ctx, guild, channel)
    await sea.post(f"{API}/qotw/questions", json={"guild_id": guild, "text": "Best knot?"}, headers=ann.auth)
    pool = await open_pool(bot_dsn(make_settings(tenants=["seacalendar"])))
    rest = DiscordRest(f"{url}/api", BOT_TOKEN)
    try:
        async with pool.acquire() as conn:
            await conn.execute(qotw.CLAIM)
            (row,) = await conn.fetch(qotw.POSTING)
        earlier = await rest.send_message(channel, {"content": qotw.question_text(row["text"])}, nonce=f"q-{row['id']}")
    finally:
        await rest.close()
        await pool.close()
    fake.nonce_ttl_s = 0.0
    try:
        async with run_bot():
            await wait_for(lambda: _question_posted(sea_ctx, row["id"]))
    finally:
        fake.nonce_ttl_s = None
    assert [m["id"] for m in fake.channel_messages(channel)] == [earlier["id"]]
    async with sea_ctx.db.connect() as conn:
        message_id = (
            await conn.execute(sa.text("SELECT message_id FROM questions WHERE id = :q"), {"q": row["id"]})
        ).scalar()
    assert message_id == earlier["id"]


async def _question_posted(ctx: TenantContext, question_id: int) -> bool:
    async with ctx.db.connect() as conn:
        status = (
            await conn.execute(sa.text("SELECT status FROM questions WHERE id = :q"), {"q": question_id})
        ).scalar()
    return bool(status == "posted")


async def _status(sea: httpx.AsyncClient, member: Any, poll_id: int, status: str) -> bool:
    doc = (await sea.get(f"{API}/polls/{poll_id}", headers=member.auth)).json()
    return bool(doc["status"] == status)


# The worker as supervisor starts it (gateway.worker), reporting at exit which of the modules the bot
# must do without were loaded.
WORKER = """import atexit, sys
atexit.register(lambda: print("loaded:", sorted({m.split(".")[0] for m in sys.modules} & {"sqlalchemy", "starlette"})))
from gateway.worker import run
run("seacalendar", "bot")
"""


async def test_the_worker_process_does_its_work_without_sqlalchemy(
    sea: httpx.AsyncClient,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    make_settings: Callable[..., Settings],
    sea_ctx: TenantContext,
    tmp_path: Path,
) -> None:
    fake, url = fake_discord
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    settings = make_settings(tenants=["seacalendar"])
    env = {
        **os.environ,
        **discord_env(url, fake.public_key),
        "ONEBOX_DATABASE_URL": settings.database_url or "",
        "ONEBOX_SECRET_KEY": settings.require_secret(),
        "ONEBOX_DB_PREFIX": settings.db_prefix,
        "ONEBOX_DATA_DIR": str(settings.data_dir),
        "ONEBOX_TENANTS": "seacalendar",
        "ONEBOX_SEACALENDAR_BOT_TICK": "0.1",
        "ONEBOX_SEACALENDAR_EDIT_DEBOUNCE": "0.05",
    }
    started = datetime.now(UTC)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE
    )
    try:
        poll = await create_poll(sea, ann, title="Lean", channel_id=CHANNEL, invitees=[bob.discord_id])
        posted = await wait_for(
            lambda: [m for m in fake.channel_messages(CHANNEL) if m["nonce"] == f"poll-{poll['id']}"]
        )
        await make_due(sea_ctx, poll["id"])
        await wait_for(lambda: fake.dms_to(bob.discord_id))
        await vote(sea, bob, poll["id"], available=[poll["options"][0]["id"]])
        await wait_for(lambda: fake.messages[posted[0]["id"]]["embeds"][0]["fields"][0]["value"].startswith("✅ 1"))
        health = await wait_for(
            lambda: _bot_health(
                sea,
                lambda bot: bot.get("messages_edited", 0) >= 1 and datetime.fromisoformat(bot["started_at"]) > started,
            )
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(worker.communicate(), 15)
    assert health["bot"]["reminders_sent"] >= 1 and health["bot"]["errors"] == 0
    assert worker.returncode == 0
    assert out.decode().splitlines()[-1] == "loaded: []"


async def test_bot_token_calls_name_the_api_version(
    sea: httpx.AsyncClient,
    sea_ctx: TenantContext,
    sign_in: SignIn,
    fake_discord: tuple[FakeDiscord, str],
    run_bot: RunBot,
) -> None:
    # A path without a version gets Discord's default, v6, which its docs list as deprecated.
    fake, _ = fake_discord
    ann = await sign_in("Ann")
    async with run_bot():
        poll = await create_poll(sea, ann, channel_id=CHANNEL, is_private=False)  # the gateway checks the channel
        await wait_for(lambda: message_id_of(sea_ctx, poll["id"]))
    assert fake.versions and set(fake.versions) == {10}


def _sample(option: dict[str, Any]) -> Any:
    """A value Discord would send for a registered option."""
    if option["type"] == 4:
        return option.get("min_value", 1)
    return {"options": "tea, cake"}.get(option["name"], f"some {option['name']}")


async def test_the_slash_commands_are_registered_at_start_and_answer_as_registered(
    run_bot: RunBot, fake_discord: tuple[FakeDiscord, str], sea: httpx.AsyncClient
) -> None:
    fake, _ = fake_discord
    fake.commands = None  # the fake lives for the session
    fake.fail("PUT /applications/commands", times=5)  # the first start's attempt: 5 tries, all 502
    async with run_bot() as bot:
        commands = await wait_for(lambda: fake.commands)
        assert bot.errors >= 1  # the failed attempt was reported, and the next tick registered them

        async def registered_in_health() -> bool:
            return bool((await sea.get("/seacalendar/health")).json()["bot"].get("commands_registered"))

        await wait_for(registered_in_health)
    assert {c["name"] for c in commands} == {"poll", "qotw"}
    assert all(c["contexts"] == [0] for c in commands)  # server channels only: polls belong to a server
    # Every registered subcommand, sent as Discord would with every option filled, is one we serve.
    for registered in commands:
        for sub in registered["options"]:
            values = {o["name"]: _sample(o) for o in sub.get("options", [])}
            answer = await send(sea, fake, command(registered["name"], sub["name"], **values))
            assert answer.status_code == 200, answer.text
            content = answer.json()["data"]["content"]
            assert not content.startswith("Unknown command"), content
            if (registered["name"], sub["name"]) == ("poll", "create"):
                assert "created" in content, content
    # Registering replaces the set, so a second start leaves the same commands, not duplicates.
    async with run_bot():
        await wait_for(lambda: fake.commands is not commands and fake.commands)
    assert [c["name"] for c in fake.commands or []] == [c["name"] for c in commands]


async def test_commands_under_another_application_id_are_refused_and_reported(
    run_bot: RunBot, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    fake.commands = None  # the fake lives for the session
    asked_before = len(fake.requests)
    async with run_bot(discord_client_id="1100000000000000999") as bot:
        await wait_for(lambda: bot.errors >= 2)  # retried on the next tick, not given up on
        assert not bot.commands_registered
    assert fake.commands is None
    refused = [r for r in fake.requests[asked_before:] if r[2] == "/applications/commands"]
    assert refused and all(status == 403 for *_, status in refused)
