"""Per-tenant async pools that answer 503 instead of hanging.

A tenant's connections are split in two: SQLAlchemy 2 async (on asyncpg) for most work, and,
when the tenant asks for it (``raw_share``), asyncpg's own pool for hot reads through
:meth:`TenantDatabase.raw`. SQLAlchemy's checkout (Connection objects, pool events, a greenlet
hop to return the connection) cost a third of the gateway's CPU on a feed page (0.38 ->
0.28 ms per request with asyncpg's pool, measured with bench/feed_timeline.py). The two parts
add up to the tenant's pool size, so the connection budget is unchanged.

Connections a quiet tenant no longer needs are closed, so an idle box holds few backends (each
a few MB of PostgreSQL's memory): asyncpg's pool closes its own after ``idle_close_s``; for
SQLAlchemy's, the server ends sessions idle that long (``idle_session_timeout``), the pool hands
out the most recently used connection first (LIFO, so a light load keeps one warm and lets the
rest age), and a checkout discards a connection idle nearly that long before anyone uses it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.errors import unavailable


class TenantDatabase:
    """One tenant's connection pool and the helpers requests use."""

    def __init__(
        self,
        url: URL,
        size: int,
        overflow: int,
        timeout: float,
        app_name: str,
        raw_share: float = 0.0,
        idle_close_s: float = 300.0,
    ) -> None:
        self.url = url
        self.size = size
        self.overflow = overflow
        self.timeout = timeout
        self.app_name = app_name
        # Of ``size``, this many connections serve raw() from asyncpg's pool (at least one stays
        # with SQLAlchemy); 0 means raw() borrows SQLAlchemy's connections.
        self.raw_size = min(size - 1, round(size * raw_share)) if raw_share > 0 else 0
        orm_size = size - self.raw_size
        # Requests queue here, first come first served, before taking a pooled connection: the
        # pool's own queue lets a newcomer take a connection just returned ahead of requests
        # already waiting, which under load made the slowest 5% wait 5x the median (measured).
        self._turns = _Gate(orm_size + overflow, timeout)
        self._raw_turns = _Gate(self.raw_size, timeout)
        self._raw_pool: asyncpg.Pool | None = None
        self._raw_pool_ready = asyncio.Lock()
        self.idle_close_s = idle_close_s
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=orm_size,
            max_overflow=overflow,
            pool_timeout=timeout,
            # No pre-ping: it costs a round trip per checkout on every hot read. A connection that
            # died with the server fails its request (503) and invalidates the pool instead.
            pool_pre_ping=False,
            pool_recycle=1800,
            pool_use_lifo=True,
            connect_args={
                "server_settings": {
                    "application_name": app_name,
                    "idle_session_timeout": f"{int(idle_close_s * 1000)}ms",
                },
                "timeout": 5,
                "command_timeout": 30,
            },
        )
        event.listen(self.engine.sync_engine.pool, "checkin", _stamp_idle)
        event.listen(self.engine.sync_engine.pool, "checkout", self._discard_if_closing)

    def _discard_if_closing(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        """Refuse a connection the server ends (or is about to end) for idling; the pool opens another."""
        since = record.info.get(IDLE_SINCE)
        # A margin for the time between the server's last query end and our checkin.
        if since is not None and time.monotonic() - since > self.idle_close_s - min(10.0, self.idle_close_s / 10):
            raise DisconnectionError("idle past idle_session_timeout")

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection (autobegin; commit yourself or use :meth:`transaction`)."""
        async with self._turns:
            try:
                conn = await self.engine.connect()
            except PoolTimeout:
                raise unavailable("The database is busy; try again shortly.", retry_after=1) from None
            except (OperationalError, InterfaceError, OSError, DBAPIError) as exc:
                if isinstance(exc, DBAPIError) and not exc.connection_invalidated and not _is_connect_error(exc):
                    raise
                raise unavailable("The database is unavailable.", retry_after=5) from None
            try:
                yield conn
            finally:
                await conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction, committed on success and rolled back on error."""
        async with self.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[asyncpg.Connection]:
        """An asyncpg connection for hot reads that skip SQLAlchemy's layer.

        From asyncpg's own pool when the tenant has a raw share, else the driver under a pooled
        SQLAlchemy connection. Transactions go through ``conn.transaction()``; one left open is
        rolled back before the connection serves anyone else. Connection-level failures answer
        503 and the connection is discarded.
        """
        if not self.raw_size:
            async with self.connect() as conn:
                driver: Any = (await conn.get_raw_connection()).driver_connection
                try:
                    yield driver
                except DRIVER_FAILURES:
                    await conn.invalidate()
                    raise unavailable("The database is unavailable.", retry_after=5) from None
            return
        async with self._raw_turns:
            pool = self._raw_pool or await self._raw()
            try:
                conn = await pool.acquire()
            except (*DRIVER_FAILURES, asyncpg.PostgresError):
                raise unavailable("The database is unavailable.", retry_after=5) from None
            try:
                yield conn
            except DRIVER_FAILURES:
                conn.terminate()
                raise unavailable("The database is unavailable.", retry_after=5) from None
            finally:
                await pool.release(conn)

    async def _raw(self) -> asyncpg.Pool:
        """asyncpg's pool for raw(), opened at first use (connections open as they are needed)."""
        async with self._raw_pool_ready:
            if self._raw_pool is None:
                self._raw_pool = await asyncpg.create_pool(
                    self.url.set(drivername="postgresql").render_as_string(hide_password=False),
                    min_size=0,
                    max_size=self.raw_size,
                    max_inactive_connection_lifetime=self.idle_close_s,
                    reset=_rollback,
                    # Hot reads are prepared once per connection and run thousands of times. In
                    # "auto" mode PostgreSQL keeps re-planning a statement whose first runs looked
                    # cheap (an empty timeline: 1.4 ms of planning per page, against 0.35 ms for
                    # a full page on the generic plan); the generic plan is index-driven anyway.
                    server_settings={"application_name": self.app_name, "plan_cache_mode": "force_generic_plan"},
                    timeout=5,
                    command_timeout=30,
                )
            return self._raw_pool

    async def ping(self) -> float:
        """Round-trip one query; returns seconds taken, raises when unreachable."""
        import time

        started = time.perf_counter()
        async with self.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return time.perf_counter() - started

    def stats(self) -> dict[str, Any]:
        """Pool usage for health and metrics."""
        pool: Any = self.engine.pool
        return {
            "size": self.size,
            "max_overflow": self.overflow,
            "checked_out": pool.checkedout() + self._raw_checked_out(),
            "idle": pool.checkedin() + (self._raw_pool.get_idle_size() if self._raw_pool else 0),
            "waiting": self._turns.waiting + self._raw_turns.waiting,
            "raw_size": self.raw_size,
        }

    def _raw_checked_out(self) -> int:
        if self._raw_pool is None:
            return 0
        return int(self._raw_pool.get_size() - self._raw_pool.get_idle_size())

    async def close(self) -> None:
        """Close every pooled connection."""
        if self._raw_pool is not None:
            await self._raw_pool.close()
            self._raw_pool = None
        await self.engine.dispose()


IDLE_SINCE = "onebox_idle_since"


def _stamp_idle(_dbapi: Any, record: Any) -> None:
    """Note when a pooled connection went back to the pool (``record.info`` lives with the connection)."""
    record.info[IDLE_SINCE] = time.monotonic()


DRIVER_FAILURES = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)


class _Gate:
    """A first-come-first-served limit on checkouts; a wait past ``timeout`` answers 503."""

    def __init__(self, size: int, timeout: float) -> None:
        self._turns = asyncio.Semaphore(size)
        self._timeout = timeout
        self.waiting = 0

    async def __aenter__(self) -> None:
        if not self._turns.locked():
            # A free turn and nobody queued: take it without arming a timeout (every hot read).
            await self._turns.acquire()
            return
        self.waiting += 1
        try:
            async with asyncio.timeout(self._timeout):
                await self._turns.acquire()
        except TimeoutError:
            raise unavailable("The database is busy; try again shortly.", retry_after=1) from None
        finally:
            self.waiting -= 1

    async def __aexit__(self, *_exc: object) -> None:
        self._turns.release()


async def _rollback(conn: asyncpg.Connection) -> None:
    """What a raw connection needs between users: no open transaction (we use no session state)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _is_connect_error(exc: DBAPIError) -> bool:
    orig = getattr(exc, "orig", None)
    name = type(orig).__name__ if orig is not None else ""
    return "Connection" in name or "CannotConnectNow" in name or "TooManyConnections" in name


async def driver(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy one, to run statements inside its transaction.

    SQLAlchemy begins the transaction on the connection's first statement: run one through
    ``conn`` before any on the driver, or the driver's run outside it.
    """
    raw = await conn.get_raw_connection()
    found: asyncpg.Connection = raw.driver_connection
    return found
