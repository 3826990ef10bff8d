"""The NOTIFY bus delivers after commit, never after rollback, and carries large payloads by reference,
whether the publisher holds a SQLAlchemy connection (the gateway) or an asyncpg one (workers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from shared.db.notify import Event
from shared.tenant import TenantContext
from tests.support.waiting import wait_for

Publish = Callable[[str, str | None, Any], Awaitable[None]]
Transaction = Callable[[TenantContext], AbstractAsyncContextManager[Publish]]


@asynccontextmanager
async def sqlalchemy_transaction(ctx: TenantContext) -> AsyncIterator[Publish]:
    async with ctx.db.transaction() as conn:
        yield lambda event, room, data: ctx.bus.publish(conn, event, room, data)


@asynccontextmanager
async def asyncpg_transaction(ctx: TenantContext) -> AsyncIterator[Publish]:
    async with ctx.db.raw() as conn, conn.transaction():
        yield lambda event, room, data: ctx.bus.publish_raw(conn, event, room, data)


@pytest.fixture(params=[sqlalchemy_transaction, asyncpg_transaction], ids=["sqlalchemy", "asyncpg"])
def transaction(request: pytest.FixtureRequest) -> Transaction:
    """A transaction on either driver, yielding the bus's publish for its connection."""
    value: Transaction = request.param
    return value


@pytest.fixture
async def received(server: str, tenant_ctx: Callable[[str], TenantContext]) -> list[Event]:
    ctx = tenant_ctx("wishlist")
    await ctx.bus.wait_listening()
    events: list[Event] = []

    async def collect(event: Event) -> None:
        if event.event.startswith("test_"):
            events.append(event)

    ctx.bus.subscribe(collect)
    return events


async def test_event_fires_after_commit_only(
    received: list[Event], tenant_ctx: Callable[[str], TenantContext], transaction: Transaction
) -> None:
    ctx = tenant_ctx("wishlist")
    async with transaction(ctx) as publish:
        await publish("test_committed", "room:1", {"n": 1})
        # Inside the transaction nothing has been delivered yet.
        await asyncio.sleep(0)
        assert received == []
    await wait_for(lambda: len(received) == 1)
    assert received[0] == Event("test_committed", "room:1", {"n": 1})

    with pytest.raises(RuntimeError):
        async with transaction(ctx) as publish:
            await publish("test_rolled_back", None, {"n": 2})
            raise RuntimeError("abort")
    async with transaction(ctx) as publish:
        await publish("test_marker", None, {"n": 3})
    await wait_for(lambda: any(e.event == "test_marker" for e in received))
    assert [e.event for e in received] == ["test_committed", "test_marker"]


async def test_large_payload_travels_by_reference(
    received: list[Event], tenant_ctx: Callable[[str], TenantContext], transaction: Transaction
) -> None:
    ctx = tenant_ctx("wishlist")
    big: dict[str, Any] = {"text": "x" * 20_000, "items": list(range(500))}
    async with transaction(ctx) as publish:
        await publish("test_big", "room:big", big)
    await wait_for(lambda: any(e.event == "test_big" for e in received))
    event = next(e for e in received if e.event == "test_big")
    assert event.data == big and event.room == "room:big"


async def test_large_payloads_arriving_together_all_arrive_in_order(
    received: list[Event], tenant_ctx: Callable[[str], TenantContext], transaction: Transaction
) -> None:
    # Loaded one at a time: two loads at once on the listening connection lost one of them.
    ctx = tenant_ctx("wishlist")
    big: dict[str, Any] = {"text": "x" * 20_000}
    async with transaction(ctx) as publish:
        for n in range(5):
            await publish("test_big_burst", f"room:{n}", {**big, "n": n})
            await publish("test_small_burst", f"room:{n}", {"n": n})
    await wait_for(lambda: sum(e.event.endswith("_burst") for e in received) == 10)
    order = [(e.event, e.data["n"]) for e in received if e.event.endswith("_burst")]
    assert order == [(kind, n) for n in range(5) for kind in ("test_big_burst", "test_small_burst")]
