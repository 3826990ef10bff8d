"""The NOTIFY bus: events written in a transaction fire after commit, to every gateway process.

Payload: ``{"event": str, "room": str | null, "data": {...}}``. Data too big for NOTIFY's 8 KB
limit goes to ``onebox_bus_payloads`` and travels as ``{"ref": id}``; the listener loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson

from shared.waits import wait_until_set

if TYPE_CHECKING:
    # Type only: the feed indexer and the SeaCalendar bot publish with asyncpg and never load SQLAlchemy.
    from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("onebox.bus")

INLINE_LIMIT = 7000


@dataclass(frozen=True)
class Event:
    """One event on a tenant's channel."""

    event: str
    room: str | None
    data: dict[str, Any]


Subscriber = Callable[[Event], Awaitable[None]]


def channel_name(prefix: str, tenant: str) -> str:
    """The tenant's NOTIFY channel: ``onebox_<tenant>``."""
    return f"{prefix}_{tenant}"


def encode(event: str, room: str | None, data: dict[str, Any]) -> str:
    """The NOTIFY payload text."""
    return orjson.dumps({"event": event, "room": room, "data": data}, default=str).decode()


# A publish's statements, in the ``$n`` style both drivers take: asyncpg itself, and SQLAlchemy's
# asyncpg dialect through ``exec_driver_sql`` (inside the connection's transaction, which a raw
# driver call would bypass). Receivers load a reference within milliseconds: older ones are pruned.
STORE_PAYLOAD = """WITH pruned AS (
    DELETE FROM onebox_bus_payloads WHERE created_at < now() - interval '15 minutes'
) INSERT INTO onebox_bus_payloads (payload) VALUES ($1::jsonb) RETURNING id"""
NOTIFY = "SELECT pg_notify($1, $2)"

# Runs one statement with positional parameters and returns the first column of its first row.
FetchValue = Callable[..., Awaitable[Any]]


async def _publish(fetchval: FetchValue, channel: str, event: str, room: str | None, data: Any) -> None:
    payload = encode(event, room, data)
    if len(payload.encode()) > INLINE_LIMIT:
        payload = encode(event, room, {"ref": await fetchval(STORE_PAYLOAD, payload)})
    await fetchval(NOTIFY, channel, payload)


async def publish_sql(conn: AsyncConnection, channel: str, event: str, room: str | None, data: Any) -> None:
    """Queue an event in ``conn``'s transaction (delivered on commit, dropped on rollback)."""

    async def fetchval(sql: str, *args: Any) -> Any:
        return (await conn.exec_driver_sql(sql, args)).scalar()

    await _publish(fetchval, channel, event, room, data)


async def publish_raw(conn: asyncpg.Connection, channel: str, event: str, room: str | None, data: Any) -> None:
    """:func:`publish_sql` on an asyncpg connection: in its transaction when one is open, else at once."""
    await _publish(conn.fetchval, channel, event, room, data)


class EventBus:
    """Publisher and listener for one tenant's channel.

    The listener holds one dedicated connection (outside the pool) and reconnects with backoff,
    so a database restart costs events only while it is down, never the listener itself.
    """

    def __init__(self, channel: str, dsn: str) -> None:
        self.channel = channel
        self._dsn = dsn
        self._subscribers: list[Subscriber] = []
        self._task: asyncio.Task[None] | None = None
        # Notifications wait here and are dispatched one at a time, in the order they came: one
        # task each let two loads of stored payloads run at once on the listening connection,
        # which asyncpg refuses (the second event was lost), and a burst flooded subscribers.
        self._incoming: asyncio.Queue[str] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._conn_lock = asyncio.Lock()  # one query at a time on the listening connection
        self._listening = asyncio.Event()
        self.delivered = 0

    async def publish(self, conn: AsyncConnection, event: str, room: str | None, data: Any) -> None:
        """Publish inside ``conn``'s transaction."""
        await publish_sql(conn, self.channel, event, room, data)

    async def publish_raw(self, conn: asyncpg.Connection, event: str, room: str | None, data: Any) -> None:
        """Publish inside an asyncpg connection's transaction (``conn.transaction()``)."""
        await publish_raw(conn, self.channel, event, room, data)

    def subscribe(self, callback: Subscriber) -> None:
        """Call ``callback`` for every event on this channel (in this process)."""
        self._subscribers.append(callback)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def wait_listening(self, timeout: float = 10.0) -> None:
        """Wait until the listening connection is established."""
        await asyncio.wait_for(self._listening.wait(), timeout)

    def start(self) -> None:
        """Start listening in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"bus:{self.channel}")
            self._consumer = asyncio.create_task(self._consume(), name=f"bus-dispatch:{self.channel}")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        for task in (self._task, self._consumer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._consumer = None
        await self._close()

    async def _close(self) -> None:
        self._listening.clear()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await asyncio.wait_for(conn.close(), 2)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                conn.terminate()

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                self._conn = await asyncpg.connect(
                    self._dsn, timeout=5, server_settings={"application_name": f"onebox-bus:{self.channel}"}
                )
                lost = asyncio.Event()
                self._conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await self._conn.add_listener(self.channel, self._on_notify)
                self._listening.set()
                delay = 0.2
                while not await wait_until_set(lost, 15):
                    # A cheap query notices a half-open connection the kernel hasn't reported.
                    async with self._conn_lock:
                        await self._conn.execute("SELECT 1", timeout=5)
                log.warning("bus %s: connection lost, reconnecting", self.channel)
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("bus %s: %s; retrying in %.1fs", self.channel, exc, delay)
            await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._incoming.put_nowait(payload)

    async def _consume(self) -> None:
        while True:
            payload = await self._incoming.get()
            await self._dispatch(payload)

    async def _load(self, ref: Any) -> str | None:
        """A payload stored by reference (None when it is gone), read on the listening connection."""
        for _ in range(2):  # once more after a reconnect, if the connection was lost meanwhile
            try:
                await asyncio.wait_for(self._listening.wait(), 5)
                async with self._conn_lock:
                    if self._conn is None:
                        continue
                    stored: str | None = await self._conn.fetchval(
                        "SELECT payload::text FROM onebox_bus_payloads WHERE id = $1", ref, timeout=5
                    )
                    return stored
            except (OSError, TimeoutError, asyncpg.InterfaceError) as exc:
                log.warning("bus %s: loading a stored payload failed: %r", self.channel, exc)
        return None

    async def _dispatch(self, payload: str) -> None:
        try:
            doc = orjson.loads(payload)
            data = doc.get("data") or {}
            if set(data) == {"ref"}:
                stored = await self._load(data["ref"])
                if stored is None:
                    log.warning("bus %s: dropped %s: its stored payload could not be read", self.channel, doc["event"])
                    return
                doc = orjson.loads(stored)
            event = Event(doc["event"], doc.get("room"), doc.get("data") or {})
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, asyncpg.PostgresError) as exc:
            log.warning("bus %s: dropped malformed payload: %s", self.channel, exc)
            return
        self.delivered += 1
        for callback in list(self._subscribers):
            try:
                await callback(event)
            except Exception:
                log.exception("bus %s: subscriber failed on %s", self.channel, event.event)
