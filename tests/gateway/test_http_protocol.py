"""The gateway's HTTP protocol: one send per loop turn, the same bytes and back-pressure as uvicorn's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect

from gateway.http_protocol import FLUSH_AT, CoalescingTransport, HttpProtocol
from tests.support.server import serve


class Recorder(asyncio.Transport):
    """A transport that keeps what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


async def next_turn() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_turn_leave_together_in_order() -> None:
    raw = Recorder()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.writelines([b"he", b"llo"])
    assert raw.writes == []
    await next_turn()
    assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\nhello"]
    transport.write(b"next")
    await next_turn()
    assert raw.writes[1:] == [b"next"]


async def test_large_writes_go_out_at_once() -> None:
    raw = Recorder()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())
    transport.write(b"h" * 10)
    transport.write(b"b" * FLUSH_AT)
    assert raw.writes == [b"h" * 10 + b"b" * FLUSH_AT]
    await next_turn()
    assert len(raw.writes) == 1


async def test_close_sends_what_is_queued_first_and_nothing_follows_a_closed_transport() -> None:
    raw = Recorder()
    transport = CoalescingTransport(raw, asyncio.get_running_loop())
    transport.write(b"last words")
    transport.close()
    assert raw.writes == [b"last words"] and raw.closed
    transport.write(b"too late")
    await next_turn()
    assert raw.writes == [b"last words"]


async def chunks() -> AsyncIterator[bytes]:
    for n in range(3):
        await asyncio.sleep(0)
        yield f"chunk {n};".encode()


async def big() -> AsyncIterator[bytes]:
    for _ in range(64):
        yield b"x" * 32 * 1024


async def page(_: Request) -> Response:
    return JSONResponse({"ok": True, "filler": "y" * 2000})


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(await ws.receive_text())
    await ws.close()


APP = Starlette(
    routes=[
        Route("/page", page, methods=["GET", "HEAD"]),
        Route("/stream", lambda _: StreamingResponse(chunks(), media_type="text/plain")),
        Route("/big", lambda _: StreamingResponse(big(), media_type="application/octet-stream")),
        WebSocketRoute("/ws", echo),
    ]
)


@pytest.fixture(scope="module")
async def base() -> AsyncIterator[str]:
    async with serve(APP) as url:
        yield url


class CountingProtocol(HttpProtocol):
    """The gateway's protocol over a socket whose every write is counted."""

    sends: ClassVar[list[int]] = []

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        real_write = transport.write

        def counted(data: bytes | bytearray | memoryview) -> None:
            CountingProtocol.sends.append(len(data))
            real_write(data)

        transport.write = counted  # type: ignore[method-assign]
        super().connection_made(transport)


async def test_each_response_is_one_send_on_the_socket() -> None:
    async with serve(APP, http=CountingProtocol) as url, httpx.AsyncClient(base_url=url) as client:
        for _ in range(20):
            response = await client.get("/page")
            assert response.status_code == 200
    assert len(CountingProtocol.sends) == 20
    assert all(size == len(response.content) + len(raw_head(response)) for size in CountingProtocol.sends)


def raw_head(response: httpx.Response) -> bytes:
    """The status line and headers as sent (HTTP/1.1, CRLF, a blank line)."""
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}".encode()]
    lines += [name + b": " + value for name, value in response.headers.raw]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def test_keep_alive_streaming_head_and_large_bodies(base: str) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        for _ in range(50):
            response = await client.get("/page")
            assert response.status_code == 200 and response.json()["ok"] is True
        head = await client.head("/page")
        assert head.status_code == 200 and head.content == b""
        assert (await client.get("/stream")).text == "chunk 0;chunk 1;chunk 2;"
        large = await client.get("/big")
        assert large.content == b"x" * 32 * 1024 * 64
        assert (await client.get("/page")).status_code == 200


async def test_websocket_upgrade_still_works(base: str) -> None:
    async with connect(base.replace("http://", "ws://") + "/ws") as ws:
        await ws.send("ping")
        assert await ws.recv() == "ping"
