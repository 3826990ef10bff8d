"""Lose a race on purpose: a request that writes while another transaction deletes what it refers to."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

from tests.support.waiting import wait_for

T = TypeVar("T")

# Someone waits on a lock this connection's transaction holds (pg_locks is live, unlike the
# statistics views, which a transaction sees as of its first look).
WAITED_ON = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))"


async def committed_under(db: asyncpg.Connection, sql: str, *args: Any, request: Coroutine[Any, Any, T]) -> T:
    """What ``request`` answers when ``sql`` commits in the middle of it.

    ``sql`` runs first in an open transaction on ``db``, so the request still finds every row it
    looks up; once its write waits on a row ``sql`` locked, the transaction commits and the write
    finds that row gone: the interleaving a concurrent deletion gets in production, every time.
    """
    async with db.transaction():
        await db.execute(sql, *args)
        answer = asyncio.ensure_future(request)
        try:
            await wait_for(lambda: answer.done() or db.fetchval(WAITED_ON))
        except BaseException:
            answer.cancel()
            raise
    return await answer
