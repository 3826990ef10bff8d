"""A transaction that lost a race with a concurrent one is told apart from a bug: aborted for it,
503 with Retry-After; refused for a row the other deleted, 409."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import HANDLERS
from shared.db.sqlstate import is_transient

# The server raising the very errors a deadlock or a serialization failure raises.
ABORT = "DO $$ BEGIN RAISE EXCEPTION 'aborted' USING ERRCODE = '{state}'; END $$"


async def test_deadlocks_and_serialization_failures_are_transient(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        raised = {}
        for state in ("40P01", "40001", "23505"):
            with pytest.raises(asyncpg.PostgresError) as caught:
                await conn.execute(ABORT.format(state=state))
            raised[state] = caught.value
    finally:
        await conn.close()
    assert is_transient(raised["40P01"]) and is_transient(raised["40001"])
    assert not is_transient(raised["23505"]) and not is_transient(ValueError("40P01"))


async def test_a_route_that_lost_a_race_answers_503_or_409(admin_url: str) -> None:
    engine = create_async_engine(admin_url.replace("postgresql://", "postgresql+asyncpg://", 1))

    async def deadlocked(_request: Request) -> Response:
        async with engine.begin() as conn:
            await conn.execute(text(ABORT.format(state="40P01")))
        return Response("unreachable")

    async def orphaned(_request: Request) -> Response:
        async with engine.begin() as conn:
            await conn.execute(text(ABORT.format(state="23503")))
        return Response("unreachable")

    async def broken(_request: Request) -> Response:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT 1 / 0"))
        return Response("unreachable")

    app = Starlette(
        routes=[Route("/deadlocked", deadlocked), Route("/orphaned", orphaned), Route("/broken", broken)],
        exception_handlers=HANDLERS,
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            response = await client.get("/deadlocked")
            assert response.status_code == 503 and response.headers["retry-after"] == "1"
            assert response.json()["error"]["code"] == "concurrent_change"
            # Running it again would fail the same way: the client reloads what it was changing.
            response = await client.get("/orphaned")
            assert response.status_code == 409 and "retry-after" not in response.headers
            assert response.json()["error"]["code"] == "conflict"
            # Any other database error stays what it is: a bug, for the gateway's last handler (500).
            with pytest.raises(DBAPIError):
                await client.get("/broken")
    finally:
        await engine.dispose()
