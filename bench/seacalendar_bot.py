"""SeaCalendar bot: RSS idle, and while sending 1,000 vote reminders to a fake Discord on loopback.

Run: ``.venv/bin/python bench/seacalendar_bot.py`` (``--reminders``). It starts its own
PostgreSQL (embedded, or ``ONEBOX_DATABASE_URL``), migrates seacalendar, serves the test suite's
fake Discord in this process, and runs the bot exactly as supervisor does
(``python -m gateway.worker seacalendar bot``). One poll with ``--reminders`` invitees who have
not voted gets a due reminder; the bot claims it, expands it into deliveries and sends one DM
each (open DM channel + post message: two REST calls per reminder).

Printed: bot RSS idle (heartbeating, nothing due), peak RSS while sending, the time from the
reminder becoming due to the last DM, and the delivery rows' final statuses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.box import database  # noqa: E402
from gateway import bootstrap  # noqa: E402
from shared.db.urls import tenant_url  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.fakes.discord import BOT_TOKEN, FakeDiscord  # noqa: E402
from tests.support.server import serve  # noqa: E402

SEED = """WITH creator AS (INSERT INTO users (display_name, discord_id) VALUES ('bench', '1') RETURNING id),
poll AS (INSERT INTO polls (creator_id, type, title, voting_deadline)
         SELECT id, 'generic', 'Bench poll', now() + interval '20 hours' FROM creator RETURNING id),
opt AS (INSERT INTO poll_options (poll_id, label, position) SELECT id, 'a', 0 FROM poll),
inv AS (INSERT INTO invites (poll_id, discord_id) SELECT poll.id, (500000000000000000 + n)::text
        FROM poll, generate_series(1, :n) n)
INSERT INTO reminders (poll_id, type, scheduled_for) SELECT id, 'vote_1d', now() FROM poll"""


def start_bot(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """The bot as supervisor runs it."""
    command = [sys.executable, "-m", "gateway.worker", "seacalendar", "bot"]
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def run(engine: sa.Engine, env: dict[str, str], fake: FakeDiscord, reminders: int, log: Path) -> None:
    bot = start_bot(env, log)
    try:
        process = psutil.Process(bot.pid)

        def heartbeats() -> int:
            with engine.connect() as conn:
                return int(conn.execute(sa.text("SELECT count(*) FROM worker_state WHERE name = 'bot'")).scalar_one())

        deadline = time.monotonic() + 30
        while not heartbeats():
            if time.monotonic() > deadline or bot.poll() is not None:
                raise SystemExit(f"the bot did not start; see {log}")
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # let start-up allocations settle before the idle reading
        idle = process.memory_info().rss / 2**20
        with engine.begin() as conn:
            conn.execute(sa.text(SEED), {"n": reminders})
        due = time.monotonic()
        peak = idle
        while len([m for m in fake.messages.values() if m["channel_id"].startswith("dm-")]) < reminders:
            peak = max(peak, process.memory_info().rss / 2**20)
            if time.monotonic() - due > 300 or bot.poll() is not None:
                raise SystemExit(f"reminders did not all go out; see {log}")
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - due
        after = process.memory_info().rss / 2**20

        def unsettled() -> int:
            with engine.connect() as conn:
                query = "SELECT count(*) FROM reminder_deliveries WHERE status IN ('pending', 'sending')"
                return int(conn.execute(sa.text(query)).scalar_one())

        # The last rows are marked sent just after their DM; the bot is another process, so poll.
        while unsettled():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        with engine.connect() as conn:
            statuses = dict(
                conn.execute(sa.text("SELECT status, count(*) FROM reminder_deliveries GROUP BY status")).all()
            )
    finally:
        bot.terminate()
        bot.wait(15)
    print(f"bot RSS idle: {idle:.1f} MB")
    print(f"sending {reminders} reminders: peak RSS {peak:.1f} MB, after {after:.1f} MB")
    rate = reminders / elapsed
    print(f"due → last DM: {elapsed:.1f} s ({rate:.0f} reminders/s, 2 REST calls each); deliveries: {statuses}")


async def main_async(admin_url: str, tmp: str, reminders: int) -> None:
    secret = secrets.token_urlsafe(48)
    settings = Settings(
        _env_file=None, database_url=admin_url, secret_key=secret, data_dir=Path(tmp), tenants=["seacalendar"]
    )  # type: ignore[call-arg]
    bootstrap.init_databases(settings, admin_url)
    bootstrap.upgrade_databases(settings, admin_url)
    url = tenant_url(admin_url, settings.db_prefix, "seacalendar", secret)
    engine = sa.create_engine(url.set(drivername="postgresql+psycopg"))
    fake = FakeDiscord()
    async with serve(fake.app) as fake_url:
        env = {
            **os.environ,
            "ONEBOX_DATABASE_URL": admin_url,
            "ONEBOX_SECRET_KEY": secret,
            "ONEBOX_DATA_DIR": tmp,
            "ONEBOX_TENANTS": "seacalendar",
            "ONEBOX_LOG_LEVEL": "warning",
            "ONEBOX_LOG_FORMAT": "json",
            "ONEBOX_DISCORD_BOT_TOKEN": BOT_TOKEN,
            "ONEBOX_DISCORD_API_BASE": f"{fake_url}/api",
            "ONEBOX_SEACALENDAR_BOT_TICK": "0.5",
            "ONEBOX_SEACALENDAR_BOT_CONCURRENCY": os.environ.get("ONEBOX_SEACALENDAR_BOT_CONCURRENCY", "4"),
        }
        await run(engine, env, fake, reminders, Path(tmp) / "bot.log")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp)) as (admin_url, _pg_data):
        asyncio.run(main_async(admin_url, tmp, args.reminders))


if __name__ == "__main__":
    main()
