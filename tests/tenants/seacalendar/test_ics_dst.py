"""The .ics file and the bot's reminders agree on when an event starts, also where clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from shared.tenant import TenantContext
from tests.tenants.seacalendar.conftest import API, SignIn, create_poll


async def test_ics_and_reminders_agree_on_an_event_in_the_repeated_dst_hour(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    ann = await sign_in("Ann")
    # 27 Oct 2030: Paris goes from UTC+2 back to UTC+1 at 03:00, so 02:30 happens twice.
    poll = await create_poll(sea, ann, timezone="Europe/Paris", options=[{"date": "2030-10-27", "start_time": "02:30"}])
    option = poll["options"][0]["id"]
    assert (
        await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": option}, headers=ann.auth)
    ).status_code == 200
    text = (await sea.get(f"{API}/polls/{poll['id']}/event.ics", headers=ann.auth)).text
    dtstart = next(line for line in text.split("\r\n") if line.startswith("DTSTART"))
    ics_start = datetime.strptime(dtstart.split(":", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    async with sea_ctx.db.connect() as conn:
        reminder = (
            await conn.execute(
                sa.text("SELECT scheduled_for FROM reminders WHERE poll_id = :p AND type = 'event_2h'"),
                {"p": poll["id"]},
            )
        ).scalar_one()
    # The bot's DM says <t:starts_at> and fires 2 h before the start PostgreSQL computed.
    assert reminder + timedelta(hours=2) == ics_start, f"reminders: {reminder + timedelta(hours=2)}, .ics: {ics_start}"
