"""``onebox seacalendar bot``: the bot's loop, its bus subscription and its heartbeat.

It reads and writes the tenant database only (its own small pool and its own LISTEN connection)
and talks to Discord over REST. Without ``ONEBOX_DISCORD_BOT_TOKEN`` it stays up idle — closing
expired polls, which needs no Discord — and says so in ``/seacalendar/health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from shared.db.notify import Event
from shared.settings import Settings
from shared.tenant import TenantContext
from tenants.seacalendar.bot import qotw, scheduler
from tenants.seacalendar.bot.discord_rest import DiscordRest
from tenants.seacalendar.bot.messages import PollMessages
from tenants.seacalendar.settings import SeaCalendarSettings

log = logging.getLogger("onebox.seacalendar.bot")

EDIT_EVENTS = {"vote_updated", "poll_updated", "poll_finalized", "poll_cancelled", "poll_expired"}
HEARTBEAT = """INSERT INTO worker_state (name, state, started_at, heartbeat_at, details)
VALUES ('bot', :state, :started, now(), CAST(:details AS jsonb))
ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, started_at = EXCLUDED.started_at,
    heartbeat_at = now(), details = EXCLUDED.details,
    last_error = COALESCE(CAST(:error AS text), worker_state.last_error),
    last_error_at = CASE WHEN CAST(:error AS text) IS NULL THEN worker_state.last_error_at ELSE now() END"""


class Bot:
    """One bot process's work, given a tenant context (database and bus) and settings."""

    def __init__(self, ctx: TenantContext, settings: SeaCalendarSettings, rest: DiscordRest | None = None) -> None:
        self.ctx = ctx
        self.settings = settings
        token = settings.discord_bot_token
        if rest is None and token is not None:
            rest = DiscordRest(
                settings.api_base, token.get_secret_value(), max_retry_after=settings.seacalendar_max_retry_after
            )
        self.rest = rest
        self.started = datetime.now(UTC)
        self.errors = 0
        self._error: str | None = None
        self._wake = asyncio.Event()
        self.ready = asyncio.Event()  # set once listening and caught up
        self.messages = (
            PollMessages(ctx.db, rest, settings.seacalendar_public_url, settings.seacalendar_edit_debounce, self.report)
            if rest is not None
            else None
        )
        self.deliveries = (
            scheduler.Deliveries(
                ctx.db,
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
        return "running" if self.rest is not None else "idle: ONEBOX_DISCORD_BOT_TOKEN is not set"

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
        }
        error, self._error = self._error, None
        async with self.ctx.db.transaction() as conn:
            await conn.execute(
                sa.text(HEARTBEAT),
                {
                    "state": self.state,
                    "started": self.started,
                    "details": orjson.dumps(details).decode(),
                    "error": error,
                },
            )

    async def tick(self) -> None:
        """One pass of timed work; each step's failure is reported and the others still run."""
        steps: list[Callable[[], Awaitable[Any]]] = [lambda: scheduler.expire_polls(self.ctx.db, self.ctx.bus)]
        if self.rest is not None:
            rest = self.rest
            steps += [self._reminders, lambda: qotw.post_due_questions(self.ctx.db, rest)]
        for step in steps:
            try:
                await step()
            except Exception as exc:
                self.report(exc)
        await self.heartbeat()

    async def _reminders(self) -> None:
        assert self.deliveries is not None
        await scheduler.expand_due_reminders(self.ctx.db)
        await self.deliveries.run_once()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set."""
        self.ctx.bus.subscribe(self.on_event)
        self.ctx.bus.start()
        try:
            await self.heartbeat()
            await self.ctx.bus.wait_listening(30)
            if self.messages is not None:
                try:
                    await self.messages.catch_up()
                except Exception as exc:
                    self.report(exc)
            self.ready.set()
            while not stop.is_set():
                await self.tick()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        _first(stop.wait(), self._wake.wait()), timeout=self.settings.seacalendar_bot_tick
                    )
        finally:
            if self.messages is not None:
                await self.messages.close()
            await self.ctx.bus.stop()
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
    from prometheus_client import CollectorRegistry

    from gateway.context import build_context, resolve_admin_url
    from gateway.logs import configure
    from gateway.registry import load

    configure(settings.log_format, settings.log_level)
    small = settings.model_copy(update={"pool_sizes": {**settings.pool_sizes, "seacalendar": 2}})
    ctx = build_context(load("seacalendar"), small, resolve_admin_url(settings), CollectorRegistry(), role="bot")

    stopped_by: list[int] = []

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda sig=sig: (stopped_by.append(sig), stop.set()))
        try:
            await Bot(ctx, SeaCalendarSettings()).run(stop)
        finally:
            await ctx.db.close()

    asyncio.run(main())
    if stopped_by:
        # Asked to stop (supervisor's SIGTERM): exit now rather than return to an idling caller.
        raise SystemExit(0)
