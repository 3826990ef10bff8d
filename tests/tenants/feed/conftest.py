"""Feed indexer fixtures: the feed database, fakes on loopback ports, an in-process indexer."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, Any

import asyncpg
import pytest

from shared.settings import Settings
from tenants.feed.indexer.main import Indexer, feed_dsn
from tenants.feed.settings import FeedSettings
from tests.fakes.firehose import Firehose
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.pds import FakePds
from tests.fakes.push import FakePushService

EMPTY_ALL = """
DO $$ BEGIN
    EXECUTE (SELECT 'TRUNCATE ' || string_agg(quote_ident(tablename), ', ') || ' RESTART IDENTITY CASCADE'
             FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version');
END $$
"""


@pytest.fixture(scope="session")
def dsn(settings: Settings) -> str:
    """libpq URL of the feed database (the feed role)."""
    return feed_dsn(settings)


@pytest.fixture
async def db(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to an emptied feed database."""
    conn = await asyncpg.connect(dsn)
    await conn.execute(EMPTY_ALL)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def jetstream() -> AsyncIterator[FakeJetstream]:
    async with FakeJetstream().running() as fake:
        yield fake


@pytest.fixture
async def pds() -> AsyncIterator[FakePds]:
    async with FakePds().running() as fake:
        yield fake


@pytest.fixture
async def push_service() -> AsyncIterator[FakePushService]:
    async with FakePushService().running() as fake:
        yield fake


@pytest.fixture
def hose() -> Firehose:
    """Events stamped from ten minutes ago, 1 ms apart."""
    return Firehose(int(time.time() * 1_000_000) - 600_000_000)


def feed_settings(jetstream: FakeJetstream, pds: FakePds, **overrides: Any) -> FeedSettings:
    """Feed settings pointing at the fakes, with small batches so tests exercise batching."""
    values: dict[str, Any] = {
        "jetstream_url": [jetstream.url],
        "plc_url": pds.plc_url,
        "feed_handle_resolver": pds.url,
        "feed_tags": ["cannabis"],
        "feed_batch_ops": 50,
        "feed_batch_ms": 50,
        "feed_bloom_bits": 16,
        "feed_push_trusted_hosts": ["127.0.0.1"],  # the fake push service
        **overrides,
    }
    return FeedSettings(_env_file=None, **values)  # type: ignore[call-arg]


IndexerFactory = Callable[..., AbstractAsyncContextManager[Indexer]]


@pytest.fixture
def indexer(settings: Settings, jetstream: FakeJetstream, pds: FakePds) -> IndexerFactory:
    """``async with indexer(**feed_overrides) as ix``: an indexer running in this event loop."""

    @asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[Indexer]:
        ix = Indexer(settings, feed_settings(jetstream, pds, **overrides))
        task = asyncio.create_task(ix.run())
        try:
            yield ix
        finally:
            ix.stop()
            await asyncio.wait_for(task, 30)

    return run


async def start_at(db: asyncpg.Connection, cursor_us: int) -> None:
    """Make the indexer resume from ``cursor_us`` (as if it had run before)."""
    await db.execute(
        "INSERT INTO indexer_state (name, cursor_us) VALUES ('jetstream', $1) "
        "ON CONFLICT (name) DO UPDATE SET cursor_us = $1",
        cursor_us,
    )


async def cursor_of(db: asyncpg.Connection) -> int:
    """The stored cursor (0 before the first batch)."""
    return int(await db.fetchval("SELECT coalesce(max(cursor_us), 0) FROM indexer_state") or 0)


async def settled(db: asyncpg.Connection, last_us: int) -> bool:
    """True once the stream is written up to ``last_us`` and no backfill is pending."""
    if await cursor_of(db) < last_us:
        return False
    return not await db.fetchval("SELECT count(*) FROM backfill_jobs WHERE state IN ('pending', 'running')")


async def add_member(db: asyncpg.Connection, did: str) -> None:
    """A member signs up (what the API will do)."""
    await db.execute("INSERT INTO members (did) VALUES ($1) ON CONFLICT DO NOTHING", did)


async def members_synced(db: asyncpg.Connection) -> bool:
    """True once the indexer has noticed every member (their profile row is marked)."""
    return not await db.fetchval(
        "SELECT count(*) FROM members m LEFT JOIN profiles p ON p.did = m.did WHERE p.is_member IS NOT TRUE"
    )


ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def indexer_process(
    settings: Settings, cwd: Path, stderr: IO[bytes] | None = None, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """The indexer as supervisor runs it (``gateway.worker``): its own process, configured by the
    box's database settings and the ``ONEBOX_*`` values in ``env`` (none from the developer's)."""
    assert settings.secret_key is not None
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ONEBOX_")},
        "PYTHONPATH": str(ROOT),
        "ONEBOX_DATABASE_URL": settings.database_url or "",
        "ONEBOX_DB_PREFIX": settings.db_prefix,
        "ONEBOX_SECRET_KEY": settings.secret_key.get_secret_value(),
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.worker", "feed", "indexer"], cwd=cwd, env=full, stderr=stderr
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
