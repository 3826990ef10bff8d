"""The Socket.IO server's limits: slow consumers dropped, idle handshakes closed, connect/join floods refused.

Raw Engine.IO clients (a bare WebSocket speaking the EIO=4 framing) stand in for clients that
misbehave in ways the python-socketio client never would: stop reading, or never connect a namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
import socketio
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from shared.ratelimit import KeyedRateLimiter
from shared.tenant import TenantContext
from tests.gateway.test_socketio import member
from tests.support.waiting import wait_for

NS = "/seacalendar"


class RawSession:
    """One Engine.IO session over a bare WebSocket; reads only when asked to."""

    def __init__(self, ws: ClientConnection, eio_sid: str) -> None:
        self.ws = ws
        self.eio_sid = eio_sid

    async def packet(self, prefix: str) -> str:
        """The next Socket.IO packet starting with ``prefix``, answering pings on the way."""
        while True:
            text = str(await asyncio.wait_for(self.ws.recv(), 5))
            if text == "2":
                await self.ws.send("3")
            elif text.startswith(prefix):
                return text

    async def connect_namespace(self, auth: dict[str, Any]) -> dict[str, Any]:
        """Send ``40`` for the namespace; the server's answer (``40`` or ``44``) without its prefix."""
        await self.ws.send(f"40{NS}," + orjson.dumps(auth).decode())
        text = await self.packet("4")
        answer: dict[str, Any] = orjson.loads(text.split(",", 1)[1])
        answer["_type"] = text[:2]
        return answer


@pytest.fixture
async def raw(server: str) -> AsyncIterator[Callable[[], Any]]:
    """Open raw Engine.IO sessions; all are torn down (TCP aborted) at the end."""
    opened: list[ClientConnection] = []

    async def open_session() -> RawSession:
        # max_queue=1: once one message waits unread, the client stops reading from the socket.
        ws = await connect(server.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket", max_queue=1)
        opened.append(ws)
        hello = str(await asyncio.wait_for(ws.recv(), 5))
        assert hello.startswith("0")
        return RawSession(ws, orjson.loads(hello[1:])["sid"])

    yield open_session
    for ws in opened:
        ws.transport.abort()  # a client that doesn't read can't finish a close handshake


@pytest.fixture
async def token(tenant_ctx: Callable[[str], TenantContext]) -> str:
    """An access token of the seacalendar namespace, for an account that exists (connect checks both)."""
    _user_id, access = await member(tenant_ctx("seacalendar"), "Limits")
    return access


async def test_a_client_that_stops_reading_is_dropped_with_its_queue_bounded(
    app: Starlette, raw: Any, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sio = app.state.socketio
    monkeypatch.setattr(sio, "max_queued", 50)  # the same rule, reached with less memory
    session = await raw()
    answer = await session.connect_namespace({"token": token})
    assert answer["_type"] == "40"
    sid = answer["sid"]
    blob = {"blob": "x" * 32 * 1024}
    deepest = 0
    # Far more than the kernel's socket buffers and the client's one message can hold.
    for _ in range(5000):
        socket = sio.eio.sockets.get(session.eio_sid)
        if socket is None:
            break
        deepest = max(deepest, socket.queue.qsize())
        await sio.emit("tick", blob, to=sid, namespace=NS)
        await asyncio.sleep(0)  # let the writer task run between events, as between bus events
    assert session.eio_sid not in sio.eio.sockets
    assert not sio.manager.is_connected(sid, NS)
    assert deepest <= 50


async def test_a_client_that_reads_keeps_up_and_stays(
    app: Starlette, server: str, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sio = app.state.socketio
    monkeypatch.setattr(sio, "max_queued", 50)
    client = socketio.AsyncClient(reconnection=False)
    heard: list[Any] = []
    client.on("tick", heard.append, namespace=NS)
    await client.connect(server, auth={"token": token}, namespaces=[NS], transports=["websocket"])
    try:
        sid = client.get_sid(NS)
        for _ in range(300):
            await sio.emit("tick", {"n": 1}, to=sid, namespace=NS)
            await asyncio.sleep(0)
        await wait_for(lambda: len(heard) == 300, timeout=10)
        assert client.connected
    finally:
        await client.disconnect()


async def test_a_session_that_never_connects_a_namespace_is_closed(
    app: Starlette, raw: Any, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sio = app.state.socketio
    monkeypatch.setattr(sio, "connect_grace_s", 0.3)
    member = await raw()
    idle = await raw()
    assert (await member.connect_namespace({"token": token}))["_type"] == "40"

    async def closed() -> bool:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(idle.ws.recv(), 5)  # pings, then the close
        return True

    assert await asyncio.wait_for(closed(), 10)
    assert idle.eio_sid not in sio.eio.sockets
    # The member's grace ran out as well, and it stays: it connected in time.
    await wait_for(lambda: member.eio_sid not in sio._graces, timeout=5)
    assert member.eio_sid in sio.eio.sockets


async def test_a_session_left_without_a_namespace_is_closed_after_the_grace(
    app: Starlette, raw: Any, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sio = app.state.socketio
    monkeypatch.setattr(sio, "connect_grace_s", 0.3)
    left, dropped, back = await raw(), await raw(), await raw()
    for session in (left, dropped, back):
        assert (await session.connect_namespace({"token": token}))["_type"] == "40"
    await wait_for(lambda: not {left.eio_sid, dropped.eio_sid, back.eio_sid} & set(sio._graces), timeout=5)
    # One leaves its namespace, one is disconnected by the server, one leaves and connects again.
    await left.ws.send(f"41{NS},")
    await sio.disconnect(sio.manager.sid_from_eio_sid(dropped.eio_sid, NS), NS)
    await back.ws.send(f"41{NS},")
    assert (await back.connect_namespace({"token": token}))["_type"] == "40"

    async def closed(session: RawSession) -> bool:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(session.ws.recv(), 5)
        return True

    assert await asyncio.wait_for(closed(left), 10) and await asyncio.wait_for(closed(dropped), 10)
    assert left.eio_sid not in sio.eio.sockets and dropped.eio_sid not in sio.eio.sockets
    await wait_for(lambda: back.eio_sid not in sio._graces, timeout=5)
    assert back.eio_sid in sio.eio.sockets


async def test_connect_and_join_floods_are_refused_without_doing_the_work(
    app: Starlette, server: str, raw: Any, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sio = app.state.socketio
    monkeypatch.setattr(sio, "attempts", KeyedRateLimiter(3))
    session = await raw()
    # Bad tokens: the namespace checks and refuses the first three; the fourth is not checked.
    codes = [(await session.connect_namespace({"token": "garbage"}))["data"]["code"] for _ in range(4)]
    assert "rate_limited" not in codes[:3]
    assert codes[3] == "rate_limited"

    client = socketio.AsyncClient(reconnection=False)
    await client.connect(server, auth={"token": token}, namespaces=[NS], transports=["websocket"])
    try:
        answers = [await client.call("join", {"room": "poll:0"}, namespace=NS, timeout=5) for _ in range(3)]
        assert [a["error"] for a in answers[:2]] == ["not_found", "not_found"]  # connect took the first
        assert answers[2]["error"] == "rate_limited" and answers[2]["details"]["retry_after"] >= 1
    finally:
        await client.disconnect()
