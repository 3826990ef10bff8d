"""``/seacalendar/health`` beyond the database: live socket connections and the bot's heartbeat; its gauges."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from shared.auth.sockets import connection_count
from shared.tenant import TenantContext
from shared.worker_metrics import worker_gauges
from tenants.seacalendar.settings import sea_settings

BOT = """SELECT state, started_at, heartbeat_at, last_error, last_error_at, details,
    extract(epoch FROM now() - heartbeat_at) AS age FROM worker_state WHERE name = 'bot'"""


READING = "bot_health"  # the last reading, for the gauges
# details the bot heartbeats with -> (metric, help)
JOBS = {
    "reminders_sent": ("onebox_seacalendar_bot_reminders_sent", "Reminder DMs delivered (vote and event)"),
    "reminders_failed": ("onebox_seacalendar_bot_reminders_failed", "Reminder DMs Discord refused"),
    "messages_posted": ("onebox_seacalendar_bot_messages_posted", "Poll messages posted to Discord"),
    "messages_edited": ("onebox_seacalendar_bot_messages_edited", "Poll messages edited as votes came in"),
    "rate_limited": ("onebox_seacalendar_bot_rate_limited", "Discord 429s waited out"),
    "errors": ("onebox_seacalendar_bot_errors", "Bot jobs that failed"),
}


async def check(ctx: TenantContext) -> dict[str, Any]:
    """Socket.IO connections in this process and the bot's last heartbeat and error.

    A missing or stale bot is reported, not failed: the API keeps working without it.
    """
    sio = ctx.state.get("sio")
    doc: dict[str, Any] = {"socketio": {"connections": connection_count(sio, ctx.name) if sio is not None else 0}}
    async with ctx.db.connect() as conn:
        row = (await conn.execute(sa.text(BOT))).first()
    if row is None:
        doc["bot"] = ctx.state[READING] = {"state": "never started", "alive": False}
        return doc
    age = float(row.age)
    doc["bot"] = {
        "state": row.state,
        "alive": age < sea_settings(ctx).seacalendar_bot_stale_after,
        "heartbeat_age_s": round(age, 1),
        "started_at": row.started_at,
        "last_error": row.last_error,
        "last_error_at": row.last_error_at,
        **row.details,
    }
    ctx.state[READING] = doc["bot"]
    return doc


def bot_metrics(tenant: str, bot: dict[str, Any]) -> Iterator[Metric]:
    """The bot's liveness and job counters from one health reading."""
    up = GaugeMetricFamily("onebox_seacalendar_bot_up", "1 while the bot heartbeats", labels=["tenant"])
    up.add_metric([tenant], 1.0 if bot["alive"] else 0.0)
    yield up
    if "heartbeat_age_s" in bot:
        age = GaugeMetricFamily(
            "onebox_seacalendar_bot_heartbeat_age_seconds", "Seconds since the bot's last heartbeat", labels=["tenant"]
        )
        age.add_metric([tenant], float(bot["heartbeat_age_s"]))
        yield age
    for key, (name, text) in JOBS.items():
        counter = CounterMetricFamily(name, text, labels=["tenant"])
        counter.add_metric([tenant], float(bot.get(key) or 0))
        yield counter


def gauges(ctx: TenantContext) -> AbstractAsyncContextManager[None]:
    """The bot's gauges in the gateway's /metrics while the app runs."""
    return worker_gauges(ctx, READING, lambda: check(ctx), lambda bot: bot_metrics(ctx.name, bot))
