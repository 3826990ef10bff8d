"""``/seacalendar/health`` beyond the database: live socket connections and the bot's heartbeat."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.auth.sockets import connection_count
from shared.tenant import TenantContext
from tenants.seacalendar.settings import sea_settings

BOT = """SELECT state, started_at, heartbeat_at, last_error, last_error_at, details,
    extract(epoch FROM now() - heartbeat_at) AS age FROM worker_state WHERE name = 'bot'"""


async def check(ctx: TenantContext) -> dict[str, Any]:
    """Socket.IO connections in this process and the bot's last heartbeat and error.

    A missing or stale bot is reported, not failed: the API keeps working without it.
    """
    sio = ctx.state.get("sio")
    doc: dict[str, Any] = {"socketio": {"connections": connection_count(sio, ctx.name) if sio is not None else 0}}
    async with ctx.db.connect() as conn:
        row = (await conn.execute(sa.text(BOT))).first()
    if row is None:
        doc["bot"] = {"state": "never started", "alive": False}
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
    return doc
