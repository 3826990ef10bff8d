"""The bot within Discord's limits: no pings from members' text, embed sizes, rate limits, refused channels."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.tenant import TenantContext
from tenants.seacalendar.bot.discord_rest import DiscordError, DiscordRest
from tenants.seacalendar.bot.main import Bot
from tenants.seacalendar.guilds import MANAGE_GUILD
from tests.fakes.discord import BOT_TOKEN, FakeDiscord
from tests.support.waiting import wait_for
from tests.tenants.seacalendar.conftest import API, Member, SignIn, create_poll, schedule_qotw_now, soon, vote
from tests.tenants.seacalendar.test_bot import RunBot, run_bot

__all__ = ["run_bot"]  # a fixture: pytest finds it here through this import

Fake = tuple[FakeDiscord, str]


@pytest.fixture
def start_bot(run_bot: RunBot) -> RunBot:
    """test_bot's ``run_bot``, waiting until the bot's start-up catch-up is done."""

    @asynccontextmanager
    async def start(**options: Any) -> AsyncIterator[Bot]:
        async with run_bot(**options) as bot:
            await wait_for(bot.ready.is_set)
            yield bot

    return start


async def _sql(ctx: TenantContext, sql: str, **params: Any) -> None:
    async with ctx.db.transaction() as conn:
        await conn.execute(sa.text(sql), params)


async def _retire(ctx: TenantContext, poll_id: int) -> None:
    """Keep later tests' bots from picking this poll up in their start-up catch-up."""
    await _sql(ctx, "UPDATE polls SET status = 'cancelled' WHERE id = :p", p=poll_id)
    await _sql(
        ctx,
        "UPDATE reminder_deliveries SET status = 'skipped' WHERE reminder_id IN "
        "(SELECT id FROM reminders WHERE poll_id = :p)",
        p=poll_id,
    )


async def _never(condition: Callable[[], Any], seconds: float) -> bool:
    """True when ``condition`` stays falsy for ``seconds``."""
    try:
        await wait_for(condition, timeout=seconds)
    except AssertionError:
        return True
    return False


async def test_poll_title_cannot_ping_everyone(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    channel = "820000000000000001"
    ann = await sign_in("Ann")
    async with start_bot():
        poll = await create_poll(sea, ann, title="@everyone free pizza", channel_id=channel, is_private=False)
        posted = await wait_for(lambda: fake.channel_messages(channel))
    await _retire(sea_ctx, poll["id"])
    assert "@everyone" in posted[0]["content"]
    # Without allowed_mentions Discord parses @everyone/@here/roles/users in content: every member is pinged.
    assert posted[0]["allowed_mentions"] is not None, "poll announcement sent without allowed_mentions"
    assert posted[0]["allowed_mentions"].get("parse") == []


async def test_question_of_the_week_cannot_ping_everyone(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    guild, channel = "820000000000000010", "820000000000000011"
    ann = await sign_in("Ann")
    await schedule_qotw_now(sea, fake, ann, sea_ctx, guild, channel)
    question = {"guild_id": guild, "text": "@everyone what's your boat?"}
    assert (await sea.post(f"{API}/qotw/questions", json=question, headers=ann.auth)).status_code == 201
    async with start_bot():
        posted = await wait_for(lambda: fake.channel_messages(channel))
    assert "@everyone" in posted[0]["content"]
    assert posted[0]["allowed_mentions"] is not None, "question posted without allowed_mentions"


async def _sql_message_id(ctx: TenantContext, poll_id: int) -> Any:
    async with ctx.db.connect() as conn:
        return (await conn.execute(sa.text("SELECT message_id FROM polls WHERE id = :p"), {"p": poll_id})).scalar()


async def test_one_guild_with_a_broken_channel_does_not_stop_every_guilds_question(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    ann, bea = await sign_in("Ann"), await sign_in("Bea")
    broken = ("820000000000000040", "820000000000000041")  # the bot was removed from this channel
    fine = ("820000000000000042", "820000000000000043")
    try:
        for member, (guild, channel) in ((ann, broken), (bea, fine)):
            await schedule_qotw_now(sea, fake, member, sea_ctx, guild, channel)
            body = {"guild_id": guild, "text": f"Question for {guild}"}
            assert (await sea.post(f"{API}/qotw/questions", json=body, headers=member.auth)).status_code == 201
        fake.forbidden_channels.add(broken[1])  # since then, the bot was removed from that channel
        async with start_bot():
            never = await _never(lambda: fake.channel_messages(fine[1]), 3.0)
    finally:
        fake.forbidden_channels.discard(broken[1])
        await _sql(sea_ctx, "UPDATE questions SET status = 'posted' WHERE guild_id = :g", g=broken[0])
    assert not never, "guild B's question of the week was never posted because guild A's channel refuses the bot"


async def test_question_of_the_week_waits_for_its_slot_when_first_enabled(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    if later.weekday() < now.weekday():
        pytest.skip("the next hour is in next week")
    guild, channel = "820000000000000050", "820000000000000051"
    ann = await sign_in("Ann")
    # Scheduled for one hour from now, this week.
    fake.add_guild(guild, channels=(channel,), members={ann.discord_id: MANAGE_GUILD})
    config = {"guild_id": guild, "channel_id": channel, "weekday": later.weekday(), "hour": later.hour}
    assert (await sea.put(f"{API}/qotw/config", json=config, headers=ann.auth)).status_code == 200
    for text in ("Week one", "Week two"):
        await sea.post(f"{API}/qotw/questions", json={"guild_id": guild, "text": text}, headers=ann.auth)
    try:
        async with start_bot():
            early = not await _never(lambda: fake.channel_messages(channel), 1.5)
    finally:
        await _sql(sea_ctx, "UPDATE qotw_configs SET enabled = false WHERE guild_id = :g", g=guild)
    # It posts now, an hour before its slot, then posts "Week two" at the slot: two questions in one hour.
    assert not early, f"posted before the slot: {[m['content'] for m in fake.channel_messages(channel)]}"


async def test_a_long_poll_still_fits_discords_embed_limits(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    channel = "820000000000000060"
    ann = await sign_in("Ann")
    options = [{"label": f"Option {n}: " + "x" * 100} for n in range(25)]
    start = len(fake.requests)
    async with start_bot():
        poll = await create_poll(
            sea, ann, type="generic", description="d" * 3000, options=options, channel_id=channel, is_private=False
        )
        never = await _never(lambda: fake.channel_messages(channel), 2.0)
    await _retire(sea_ctx, poll["id"])
    async with sea_ctx.db.connect() as conn:
        error = (await conn.execute(sa.text("SELECT last_error FROM worker_state WHERE name = 'bot'"))).scalar()
    refused = [r[3] for r in fake.requests[start:] if r[2] == "/channels/messages"]
    assert not never, f"a valid poll was never announced; Discord answered {refused}: {error}"


async def test_options_beyond_25_are_not_silently_dropped_from_the_message(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    channel = "820000000000000061"
    ann = await sign_in("Ann")
    options = [{"label": f"Choice {n}"} for n in range(30)]
    async with start_bot():
        poll = await create_poll(sea, ann, type="generic", options=options, channel_id=channel, is_private=False)
        message = (await wait_for(lambda: fake.channel_messages(channel)))[0]
    await _retire(sea_ctx, poll["id"])
    embed = message["embeds"][0]
    shown = " ".join([f["name"] for f in embed["fields"]] + [embed.get("description", ""), embed["footer"]["text"]])
    assert "Choice 29" in shown or "more" in shown, "options 26-30 vanish from the Discord message without a hint"


async def test_a_rate_limited_reminder_retries_no_sooner_than_discord_asked(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    invitee = "930000000000000001"
    poll = await _poll_with_a_due_reminder(sea, await sign_in("Ann"), sea_ctx, invitee)
    fake.rate_limit("POST /users/@me/channels", times=1, retry_after=600)  # over max_retry_after (60 s)
    try:
        async with start_bot():
            row = await wait_for(lambda: _delivery(sea_ctx, poll["id"]))
    finally:
        await _retire(sea_ctx, poll["id"])
    wait = (row.next_attempt_at - row.now).total_seconds()
    assert wait >= 590, f"Discord said retry in 600 s; the bot retries in {wait:.0f} s (and gives up after 5 tries)"


async def _poll_with_a_due_reminder(
    sea: httpx.AsyncClient, creator: Member, ctx: TenantContext, invitee: str
) -> dict[str, Any]:
    """A poll inviting ``invitee``, its vote reminder due now."""
    poll = await create_poll(sea, creator, invitees=[invitee], voting_deadline=soon(2))
    await _sql(ctx, "UPDATE reminders SET scheduled_for = now() - interval '1 second' WHERE poll_id = :p", p=poll["id"])
    return poll


async def _delivery(ctx: TenantContext, poll_id: int) -> Any:
    async with ctx.db.connect() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "SELECT d.status, d.last_error, d.attempts, d.next_attempt_at, now() AS now "
                    "FROM reminder_deliveries d JOIN reminders r ON r.id = d.reminder_id WHERE r.poll_id = :p"
                ),
                {"p": poll_id},
            )
        ).first()
    return row if row is not None and row.status == "pending" and row.last_error else None


async def test_a_stale_edit_retried_after_a_5xx_does_not_overwrite_a_newer_tally(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    channel = "820000000000000020"
    ann, bob, cy = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy")
    # The production backoff (DiscordRest default 0.5 s): longer than the edit debounce.
    async with start_bot(backoff=0.5) as bot:
        poll = await create_poll(sea, ann, channel_id=channel, is_private=False)
        message = (await wait_for(lambda: fake.channel_messages(channel)))[0]
        await wait_for(lambda: _sql_message_id(sea_ctx, poll["id"]))
        first = poll["options"][0]["id"]
        start = len(fake.requests)
        fake.fail("PATCH /channels/messages", times=1)  # one 502, as Discord gives now and then
        await vote(sea, bob, poll["id"], available=[first])  # edit A renders "1 voted", gets the 502, backs off
        await wait_for(lambda: any(r[2] == "/channels/messages" and r[3] == 502 for r in fake.requests[start:]))
        await vote(sea, cy, poll["id"], available=[first])  # edit B renders "2 voted" and succeeds
        await wait_for(lambda: any("2 voted" in e["embeds"][0]["footer"]["text"] for e in fake.edits))
        await wait_for(lambda: bot.messages.settled, timeout=20)  # edit A's retry has landed too
    await _retire(sea_ctx, poll["id"])
    footer = fake.messages[message["id"]]["embeds"][0]["footer"]["text"]
    assert "2 voted" in footer, f"Discord shows a stale tally: {footer!r}"


async def test_an_announcement_that_failed_once_is_retried(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    channel = "820000000000000030"
    ann = await sign_in("Ann")
    async with start_bot():
        fake.fail("POST /channels/messages", times=5)  # a few seconds of Discord 502s (5 attempts)
        poll = await create_poll(sea, ann, channel_id=channel, is_private=False)
        # Tried again, with backoff, once Discord is back (before, only at the next start).
        await wait_for(lambda: fake.channel_messages(channel), timeout=20)
    await _retire(sea_ctx, poll["id"])


async def test_changes_made_while_the_bot_was_down_reach_the_message(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    channel = "820000000000000031"
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    async with start_bot():
        poll = await create_poll(sea, ann, channel_id=channel, is_private=False)
        message = (await wait_for(lambda: fake.channel_messages(channel)))[0]
        await wait_for(lambda: _sql_message_id(sea_ctx, poll["id"]))
    # the bot restarts (deploy, memmon cap); meanwhile a vote and the finalisation happen
    await vote(sea, bob, poll["id"], available=[poll["options"][0]["id"]])
    finalized = await sea.post(
        f"{API}/polls/{poll['id']}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth
    )
    assert finalized.status_code == 200
    async with start_bot():
        await wait_for(lambda: "Date chosen" in fake.messages[message["id"]]["embeds"][0]["footer"]["text"], 20)
    await _retire(sea_ctx, poll["id"])


async def test_a_refused_token_stops_the_calls_and_gives_up_no_work(
    sea: httpx.AsyncClient, sign_in: SignIn, fake_discord: Fake, start_bot: Any, sea_ctx: TenantContext
) -> None:
    fake, _ = fake_discord
    invitee = "930000000000000002"
    poll = await _poll_with_a_due_reminder(sea, await sign_in("Ann"), sea_ctx, invitee)
    asked_before = len(fake.requests)
    try:
        async with start_bot(token="revoked-token") as bot:
            row = await wait_for(lambda: _delivery(sea_ctx, poll["id"]))
            health = await wait_for(lambda: _health_bot(sea, lambda b: b.get("token_refused") is True))
            assert health["state"].startswith("stalled: Discord refuses ONEBOX_DISCORD_BOT_TOKEN")
            refused = len(fake.requests) - asked_before
            # Ticks go on (each one's steps fail at once, and are reported), asking Discord nothing more.
            errors = bot.errors
            await wait_for(lambda: bot.errors >= errors + 10)
            assert len(fake.requests) - asked_before == refused
        assert all(status == 401 for *_, status in fake.requests[asked_before:])
        # The reminder waits for a good token: no attempt counted, nothing marked failed.
        assert row.status == "pending" and "refused" in row.last_error and row.attempts == 0
        # A restart with a good token (once the retry is due) delivers it.
        await _sql(
            sea_ctx,
            "UPDATE reminder_deliveries SET next_attempt_at = now() WHERE reminder_id IN "
            "(SELECT id FROM reminders WHERE poll_id = :p)",
            p=poll["id"],
        )
        async with start_bot():
            await wait_for(lambda: fake.dms_to(invitee))
            health = await wait_for(lambda: _health_bot(sea, lambda b: b.get("token_refused") is False))
            assert health["state"] == "running"
    finally:
        await _retire(sea_ctx, poll["id"])


async def _health_bot(sea: httpx.AsyncClient, check: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    bot: dict[str, Any] = (await sea.get("/seacalendar/health")).json().get("bot", {})
    return bot if check(bot) else None


async def test_a_refused_token_is_tried_again_once_per_probe_period(fake_discord: Fake) -> None:
    fake, url = fake_discord
    rest = DiscordRest(f"{url}/api", "revoked-token", backoff=0.01, refused_probe=0.3)
    try:
        asked_before = len(fake.requests)
        with pytest.raises(DiscordError) as first:
            await rest.open_dm("123456789012")
        assert first.value.status == 401 and first.value.retryable and rest.refused == "401: Unauthorized"
        # Meanwhile every call fails without asking: Discord counts each 401 towards an IP ban.
        for _ in range(5):
            with pytest.raises(DiscordError) as meanwhile:
                await rest.open_dm("123456789012")
            assert meanwhile.value.status == 401 and 0 < meanwhile.value.retry_after <= 0.3
        assert len(fake.requests) == asked_before + 1
        # Discord accepts the token again (here: the right one): the next probe goes through.
        rest.http.headers["Authorization"] = f"Bot {BOT_TOKEN}"
        channel = await wait_for(lambda: _open_dm_or_none(rest), timeout=3)
        assert channel and rest.refused is None
        assert len(fake.requests) == asked_before + 2
    finally:
        await rest.close()


async def _open_dm_or_none(rest: DiscordRest) -> str | None:
    try:
        return await rest.open_dm("123456789012")
    except DiscordError as exc:
        assert exc.status == 401
        return None
