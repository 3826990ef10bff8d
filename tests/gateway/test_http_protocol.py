"""The gateway's HTTP protocol: one send per loop turn, the same bytes and back-pressure as uvicorn's,
and a deadline for a request to arrive by."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import weakref
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect

from gateway.http_protocol import FLUSH_AT, CoalescingTransport, HttpProtocol
from shared.http.body import read_json_value
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


class QuickProtocol(HttpProtocol):
    """The gateway's protocol with deadlines short enough for a test; its connections are kept track of."""

    headers_timeout = 0.5
    request_timeout = 1.5
    send_stall = 0.5
    linger = 1.0
    connections_made: ClassVar[weakref.WeakSet[QuickProtocol]] = weakref.WeakSet()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        QuickProtocol.connections_made.add(self)


def deadlines_pending() -> int:
    """How many of the quick server's connections have a receipt deadline armed."""
    return sum(protocol._deadline is not None for protocol in QuickProtocol.connections_made)


# Set once the streaming handler of /huge has run to its end (or been cut off).
HUGE_DONE = asyncio.Event()
HUGE = 64 * 1024 * 1024


async def huge(_: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        try:
            for _ in range(HUGE // (256 * 1024)):
                yield b"z" * 256 * 1024
        finally:
            HUGE_DONE.set()

    return StreamingResponse(body(), media_type="application/octet-stream")


async def posted(request: Request) -> Response:
    return JSONResponse({"got": await read_json_value(request)})


async def slow_answer(_: Request) -> Response:
    async def later() -> AsyncIterator[bytes]:
        for n in range(4):
            await asyncio.sleep(0.6)
            yield f"{n};".encode()

    return StreamingResponse(later(), media_type="text/plain")


async def held(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        await ws.send_text(await ws.receive_text())


QUICK_APP = Starlette(
    routes=[
        Route("/page", page),
        Route("/post", posted, methods=["POST"]),
        Route("/slow", slow_answer),
        Route("/huge", huge),
        WebSocketRoute("/ws", held),
    ]
)


@pytest.fixture(scope="module")
async def quick() -> AsyncIterator[tuple[str, int]]:
    async with serve(QUICK_APP, http=QuickProtocol) as url:
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


async def exchange(address: tuple[str, int], *parts: tuple[float, bytes]) -> tuple[bytes, float]:
    """Send each ``(pause, bytes)`` in turn, until the server closes: (all it sent, seconds taken)."""
    reader, writer = await asyncio.open_connection(*address)
    began = time.monotonic()
    answer = asyncio.create_task(reader.read())
    try:
        for pause, data in parts:
            await asyncio.sleep(pause)
            if answer.done():
                break  # closed on us: what is still to send would only be refused
            writer.write(data)
            await writer.drain()
        return await asyncio.wait_for(answer, 10), time.monotonic() - began
    finally:
        writer.close()


def error_of(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head and b"connection: close" in head
    return int(head.split()[1]), orjson.loads(body)["error"]


async def test_a_connection_that_asks_nothing_is_closed_without_an_answer(quick: tuple[str, int]) -> None:
    answer, took = await exchange(quick)
    assert answer == b"" and 0.4 < took < 3


async def test_headers_that_stop_coming_get_408(quick: tuple[str, int]) -> None:
    answer, took = await exchange(quick, (0, b"GET /page HTTP/1.1\r\nHost: x\r\n"))
    status, error = error_of(answer)
    assert status == 408 and error["code"] == "request_timeout" and 0.4 < took < 3


async def test_headers_trickled_a_byte_at_a_time_still_meet_the_deadline(quick: tuple[str, int]) -> None:
    request = b"GET /page HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 200 + b"\r\n\r\n"
    answer, took = await exchange(quick, *((0.02, bytes([byte])) for byte in request))
    assert error_of(answer)[0] == 408 and took < 3


async def test_a_client_still_sending_when_answered_408_can_read_the_answer(quick: tuple[str, int]) -> None:
    # A client that sends without reading (as an upload does) reads only later: the answer must
    # still be there, not thrown away by the reset a close with its bytes unread would send.
    reader, writer = await asyncio.open_connection(*quick)
    try:
        writer.write(b"GET /page HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        for _ in range(16):  # 0.8 s: past the 0.5 s headers deadline, within the 1 s linger after it
            await asyncio.sleep(0.05)
            writer.write(b"p")
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    assert error_of(answer)[0] == 408


async def test_a_client_that_never_stops_sending_is_closed_once_the_linger_is_over(quick: tuple[str, int]) -> None:
    _, writer = await asyncio.open_connection(*quick)
    began = time.monotonic()
    try:
        writer.write(b"GET /page HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        with contextlib.suppress(ConnectionError):
            while time.monotonic() - began < 6:
                await asyncio.sleep(0.05)
                writer.write(b"p")
                await writer.drain()
        # Refused after the 0.5 s deadline and the 1 s linger, not kept for as long as it sends.
        assert time.monotonic() - began < 4
    finally:
        writer.close()


async def test_a_body_that_stops_coming_gets_408(quick: tuple[str, int]) -> None:
    head = b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    answer, took = await exchange(quick, (0, head + b'{"half":'))
    status, error = error_of(answer)
    assert status == 408 and error["code"] == "request_timeout" and 1.4 < took < 4


async def test_a_body_slower_than_the_headers_deadline_but_in_time_is_served(quick: tuple[str, int]) -> None:
    body = b'{"slow": true}'
    head = b"POST /post HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    answer, _ = await exchange(quick, (0, head), (0.4, body[:5]), (0.4, body[5:]))
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"got":{"slow":true}}')


async def test_the_deadline_is_for_receiving_not_for_answering_or_idling(quick: tuple[str, int]) -> None:
    host, port = quick
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", limits=limits) as client:
        # A response that takes longer than both deadlines is not cut short.
        assert (await client.get("/slow")).text == "0;1;2;3;"
        # Between requests no deadline is pending (idling is the keep-alive timer's business), and
        # the kept-alive connection serves the next one.
        assert deadlines_pending() == 0
        assert (await client.get("/page")).json()["ok"] is True
    async with connect(f"ws://{host}:{port}/ws") as ws:
        # The upgraded connection keeps none either: the WebSocket protocol has timers of its own.
        assert deadlines_pending() == 0
        await ws.send("still here")
        assert await ws.recv() == "still here"


async def test_what_is_not_http_gets_400_in_the_shared_shape(quick: tuple[str, int]) -> None:
    answer, _ = await exchange(quick, (0, b"NOT HTTP AT ALL\r\n\r\n"))
    status, error = error_of(answer)
    assert status == 400 and error["code"] == "bad_request"


async def test_a_client_that_stops_reading_is_dropped_and_the_handler_let_go(quick: tuple[str, int]) -> None:
    HUGE_DONE.clear()
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a reader that takes next to nothing
    client.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(client, quick)
    try:
        await loop.sock_sendall(client, b"GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
        # The server's writes pause on the full buffers; the stall timer drops the connection and
        # the handler's stream ends instead of waiting for a reader that never comes back.
        await asyncio.wait_for(HUGE_DONE.wait(), 10)
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while chunk := await asyncio.wait_for(loop.sock_recv(client, 1 << 20), 10):
                received += len(chunk)
        assert received < HUGE
    finally:
        client.close()


async def test_a_pipelined_request_left_unfinished_gets_408_after_the_first_answer(quick: tuple[str, int]) -> None:
    whole = b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n"
    answer, took = await exchange(quick, (0, whole + b"GET /page HTTP/1.1\r\nHost: x\r\n"))
    first, _, rest = answer.partition(b"HTTP/1.1 408")
    assert first.startswith(b"HTTP/1.1 200") and b'"ok":true' in first
    assert rest and b'"request_timeout"' in rest and 0.4 < took < 3
