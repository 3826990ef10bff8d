"""The pool gate: a full pool answers 503 after the timeout (never a hang); waiters go in arrival order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.app import create_app
from shared.db.pool import TenantDatabase
from shared.db.urls import libpq
from shared.errors import ApiError
from shared.settings import Settings
from tests.support.server import serve
from tests.support.waiting import wait_for


async def test_exhausted_pool_answers_503(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(pool_size=1, pool_overflow=0, pool_timeout=0.2, tenants=["wishlist"]))
    ctx = app.state.contexts["wishlist"]
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        async with ctx.db.connect():
            response = await http.post("/wishlist/api/auth/login", json={"email": "a@b.co", "password": "x"})
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "unavailable"
            assert response.headers["retry-after"] == "1"
            assert ctx.db.stats()["checked_out"] == 1
        # Once the connection is back, the same request goes through to the real answer.
        response = await http.post("/wishlist/api/auth/login", json={"email": "a@b.co", "password": "x"})
        assert response.status_code == 401


async def test_waiters_get_connections_in_arrival_order(make_settings: Callable[..., Settings]) -> None:
    """A request that arrives while others wait queues behind them: no barging, so the tail is bounded.

    ``late`` is scheduled before the held connection is given back, so it runs first; a pool
    without a FIFO gate hands it the free connection ahead of the requests already waiting.
    """
    app = create_app(make_settings(pool_size=1, pool_overflow=0, pool_timeout=5, tenants=["wishlist"]))
    db = app.state.contexts["wishlist"].db
    order: list[str] = []

    async def use(name: str) -> None:
        async with db.connect():
            order.append(name)

    try:
        async with db.connect():
            waiting = [asyncio.create_task(use(f"waiter{n}")) for n in range(3)]
            await wait_for(lambda: db.stats()["waiting"] == 3)
            late = asyncio.create_task(use("late"))
        await asyncio.gather(*waiting, late)
        assert order == ["waiter0", "waiter1", "waiter2", "late"]
    finally:
        await db.close()


async def test_raw_share_serves_hot_reads_from_asyncpg_pool(make_settings: Callable[..., Settings]) -> None:
    """A raw share splits the pool without growing it; a transaction left open never reaches the next user."""
    app = create_app(make_settings(pool_size=4, pool_overflow=0, pool_timeout=0.2, tenants=["wishlist"]))
    shared = app.state.contexts["wishlist"].db
    db = TenantDatabase(shared.url, size=4, overflow=0, timeout=0.2, app_name="onebox-test", raw_share=0.5)
    try:
        assert (db.raw_size, db.engine.pool.size()) == (2, 2)  # type: ignore[attr-defined]
        async with db.raw() as conn:
            # Prepared hot reads keep their generic plan instead of being re-planned per call.
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
            await conn.execute("BEGIN")
            assert await conn.fetchval("SELECT 1") == 1
        async with db.raw() as first, db.raw() as second:
            assert not first.is_in_transaction() and not second.is_in_transaction()
            assert db.stats()["checked_out"] == 2
            # Both raw connections are out: the next raw read waits its turn, then answers 503.
            with pytest.raises(ApiError) as busy:
                async with db.raw():
                    pass
            assert busy.value.status == 503
            async with db.connect():  # SQLAlchemy's part is untouched
                pass
    finally:
        await db.close()
        await shared.close()


async def test_connections_a_quiet_tenant_no_longer_needs_are_closed(
    make_settings: Callable[..., Settings], admin_url: str
) -> None:
    """After a burst, light use keeps one connection warm and the server ends the rest; none that
    the server ended (or is about to end) is ever handed to a request."""
    app = create_app(make_settings(tenants=["wishlist"]))
    shared = app.state.contexts["wishlist"].db
    name = "onebox-test-idle"
    db = TenantDatabase(shared.url, size=4, overflow=0, timeout=2, app_name=name, idle_close_s=1.5)
    admin = await asyncpg.connect(libpq(make_url(admin_url)))

    async def backends() -> int:
        count = await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name)
        return int(count)

    async def burst() -> None:
        async def query() -> None:
            async with db.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(0.1)"))

        await asyncio.gather(*(query() for _ in range(3)))

    async def one_query_then(expected: int) -> bool:
        async with db.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        return await backends() == expected

    async def backends_are(expected: int) -> bool:
        return await backends() == expected

    try:
        await burst()
        assert await backends() == 3
        await wait_for(lambda: one_query_then(1), timeout=15)  # light use: the rest aged out
        await wait_for(lambda: backends_are(0), timeout=15)  # no use at all: none left
        await burst()  # every checkout finds a live connection, or a new one
        assert await one_query_then(3)
    finally:
        await admin.close()
        await db.close()
        await shared.close()
