"""``onebox seacalendar bot``: the bot's loop, its bus subscription and its heartbeat.

It reads and writes the tenant database only (its own small pool and its own LISTEN connection)
and talks to Discord over REST. Without ``ONEBOX_DISCORD_BOT_TOKEN`` it stays up idle — closing
expired polls, which needs no Discord — and says so in ``/seacalendar/health``.

Its queries go to asyncpg directly, the way the feed indexer's do: SQLAlchemy would add ~20 MB of
private memory to a process capped at 128 MB, for nothing the bot needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from shared.db.notify import Event, EventBus, channel_name
from shared.db.urls import resolve_admin_url, tenant_dsn
from shared.settings import Settings
from shared.worker_loop import run_until_stopped
from tenants.seacalendar.bot import qotw, scheduler
from tenants.seacalendar.bot.command_registry import register_commands
from tenants.seacalendar.bot.discord_rest import DiscordRest
from tenants.seacalendar.bot.messages import PollMessages
from tenants.seacalendar.settings import SeaCalendarSettings

log = logging.getLogger("onebox.seacalendar.bot")

TENANT = "seacalendar"
# The bot's connections besides the bus's LISTEN one; with it, within ONEBOX_WORKER_CONNECTIONS (4).
POOL_SIZE = 2
EDIT_EVENTS = {"vote_updated", "poll_updated", "poll_finalized", "poll_cancelled", "poll_expired"}
HEARTBEAT = """INSERT INTO worker_state (name, state, started_at, heartbeat_at, details)
VALUES ('bot', $1, $2, now(), CAST($3 AS jsonb))
ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, started_at = EXCLUDED.started_at,
    heartbeat_at = now(), details = EXCLUDED.details,
    last_error = COALESCE(CAST($4 AS text), worker_state.last_error),
    last_error_at = CASE WHEN CAST($4 AS text) IS NULL THEN worker_state.last_error_at ELSE now() END"""


def bot_dsn(settings: Settings) -> str:
    """libpq URL of the SeaCalendar database with the tenant role's credentials."""
    return tenant_dsn(resolve_admin_url(settings), settings.db_prefix, TENANT, settings.require_secret())


async def open_pool(dsn: str) -> asyncpg.Pool:
    """The bot's connection pool."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=POOL_SIZE,
        server_settings={"application_name": f"onebox-bot:{TENANT}"},
        timeout=5,
        command_timeout=30,
    )
    return pool


def tenant_bus(settings: Settings, dsn: str) -> EventBus:
    """The tenant's NOTIFY bus (its LISTEN connection opens when the bot starts it)."""
    return EventBus(channel_name(settings.db_prefix, TENANT), dsn)


class Bot:
    """One bot process's work, given its database pool, the tenant's bus and settings."""

    def __init__(
        self, pool: asyncpg.Pool, bus: EventBus, settings: SeaCalendarSettings, rest: DiscordRest | None = None
    ) -> None:
        self.pool = pool
        self.bus = bus
        self.settings = settings
        token = settings.discord_bot_token
        if rest is None and token is not None:
            rest = DiscordRest(
                settings.api_base, token.get_secret_value(), max_retry_after=settings.seacalendar_max_retry_after
            )
        self.rest = rest
        self.started = datetime.now(UTC)
        self.errors = 0
        self.commands_registered = False
        self._error: str | None = None
        self._wake = asyncio.Event()
        self.ready = asyncio.Event()  # set once listening and caught up
        self.messages = (
            PollMessages(pool, rest, settings.seacalendar_public_url, settings.seacalendar_edit_debounce, self.report)
            if rest is not None
            else None
        )
        self.deliveries = (
            scheduler.Deliveries(
                pool,
                rest,
                settings.seacalendar_public_url,
                settings.seacalendar_bot_concurrency,
                settings.seacalendar_claim_lease,
            )
            if rest is not None
            else None
        )

    @property
    def state(self) -> str:
        """What the bot is doing, for health."""
        if self.rest is None:
            return "idle: ONEBOX_DISCORD_BOT_TOKEN is not set"
        if self.rest.refused is not None:
            refused = f"Discord refuses ONEBOX_DISCORD_BOT_TOKEN ({self.rest.refused})"
            return f"stalled: {refused}; set a valid one and restart seacalendar-bot"
        return "running"

    def report(self, exc: BaseException) -> None:
        """Remember an error for the next heartbeat (and log it)."""
        self.errors += 1
        self._error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("bot error: %s", self._error)

    async def on_event(self, event: Event) -> None:
        """Bus subscriber: post new polls, edit messages of changed ones, wake the scheduler."""
        poll_id = event.data.get("poll_id")
        if not isinstance(poll_id, int) or self.messages is None:
            return
        if event.event == "poll_created":
            try:
                await self.messages.post(poll_id)
            except Exception as exc:  # reported in health; catch-up on the next start posts it
                self.report(exc)
        elif event.event in EDIT_EVENTS:
            self.messages.edit_soon(poll_id)
        elif event.event == "poll_deleted":
            channel_id, message_id = event.data.get("channel_id"), event.data.get("message_id")
            if isinstance(channel_id, str) and isinstance(message_id, str):
                try:
                    await self.messages.mark_deleted(channel_id, message_id)
                except Exception as exc:  # reported in health; the message keeps its last tally
                    self.report(exc)
        if event.event in ("poll_finalized", "poll_updated", "poll_created"):
            self._wake.set()  # reminders may have become due

    async def heartbeat(self) -> None:
        """Record liveness, counters and the last error in ``worker_state``."""
        details = {
            "errors": self.errors,
            "reminders_sent": self.deliveries.sent if self.deliveries else 0,
            "reminders_failed": self.deliveries.failed if self.deliveries else 0,
            "messages_posted": self.messages.posted if self.messages else 0,
            "messages_edited": self.messages.edited if self.messages else 0,
            "rate_limited": self.rest.rate_limited if self.rest else 0,
            "commands_registered": self.commands_registered,
            "token_refused": self.rest is not None and self.rest.refused is not None,
        }
        error, self._error = self._error, None
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(HEARTBEAT, self.state, self.started, orjson.dumps(details).decode(), error)

    async def register(self) -> None:
        """Register the slash commands with Discord (once per start; a failure is retried next tick)."""
        if self.rest is None or self.commands_registered:
            return
        await register_commands(self.rest, self.settings.discord_client_id)
        self.commands_registered = True

    async def tick(self) -> None:
        """One pass of timed work; each step's failure is reported and the others still run."""
        steps: list[Callable[[], Awaitable[Any]]] = [lambda: scheduler.expire_polls(self.pool, self.bus)]
        if self.rest is not None:
            rest = self.rest
            steps += [self.register, self._reminders, lambda: qotw.post_due_questions(self.pool, rest, self.report)]
        for step in steps:
            try:
                await step()
            except Exception as exc:
                self.report(exc)
        await self.heartbeat()

    async def _reminders(self) -> None:
        assert self.deliveries is not None
        await scheduler.expand_due_reminders(self.pool)
        await self.deliveries.run_once()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set."""
        self.bus.subscribe(self.on_event)
        self.bus.start()
        try:
            await self.heartbeat()
            await self.bus.wait_listening(30)
            if self.messages is not None:
                try:
                    await self.messages.catch_up()
                except Exception as exc:
                    self.report(exc)
            self.ready.set()
            while not stop.is_set():
                await self.tick()
                self._wake.clear()
                # asyncio.timeout, not wait_for: see shared/waits.py (a cancellation must not be lost).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.seacalendar_bot_tick):
                        await _first(stop.wait(), self._wake.wait())
        finally:
            if self.messages is not None:
                await self.messages.close()
            await self.bus.stop()
            if self.rest is not None:
                await self.rest.close()


async def _first(*waits: Any) -> None:
    """Return when the first of ``waits`` completes."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def run(settings: Settings) -> None:
    """Entry point of ``onebox seacalendar bot`` (supervisor runs it)."""
    from gateway.logs import configure

    configure(settings.log_format, settings.log_level)
    dsn = bot_dsn(settings)

    stop = asyncio.Event()

    async def main() -> None:
        pool = await open_pool(dsn)
        try:
            await Bot(pool, tenant_bus(settings, dsn), settings.load(SeaCalendarSettings)).run(stop)
        finally:
            await pool.close()

    run_until_stopped(main, stop.set)
