"""uvicorn's httptools protocol, with the writes of one loop turn sent together.

uvicorn writes a response's status line and headers, then its body, as two ``transport.write``
calls, and uvloop sends each at once: two ``send`` syscalls and two TCP segments per response,
and the client wakes up twice. Here writes made in the same loop turn are joined and sent once,
at the end of the turn (or at once past ``FLUSH_AT`` bytes, so a large streamed body still meets
the transport's back-pressure as soon as it would have). Gateway CPU per request, wrk at 50
connections, old and new runs alternated: a JSON 404 154-160 -> 120-131 µs, an empty timeline
page 261-264 -> 229-250 µs; a bare ASGI app 43-50 -> 35-37 µs.

It also gives a request a deadline to arrive by, which uvicorn has none of (encode/uvicorn#157:
its keep-alive timer is reset by every byte and is not armed before the first request). A client
that opens a connection and sends nothing, or trickles its headers or body, would otherwise hold
the connection and its buffers for good, and a few thousand such clients would push the gateway
past its memory cap. The headers must be in within ``HEADERS_TIMEOUT_S`` of the request's first
byte (of the connection opening, for its first request) and the whole request within
``REQUEST_TIMEOUT_S``; past that the client gets 408 in the shared error shape and the connection
is closed. The timer is armed only when a read leaves a request unfinished, so a request that
arrives in one read, nearly all of them, costs no timer at all (a bare ASGI app, wrk at 50
connections, old and new runs alternated: 17.8-19.9 -> 19.6-21.1 µs of CPU per request).
A client that stops reading a response is the same hold from the other side (a body the kernel
buffers cannot take whole pauses the writer, and uvicorn waits on it for good): when writing has
been paused for ``SEND_STALL_S`` the connection is dropped. Errors this layer answers itself (a
request that is not HTTP, and the 408) are JSON in the shared shape, as every other answer is,
and are followed by a lingering close, so a client still sending can read them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("onebox.http")

# Pending bytes past which a write goes out at once instead of at the end of the loop turn.
FLUSH_AT = 64 * 1024

# A request's headers must be in this long after its first byte, the whole request this long.
# Behind nginx requests arrive whole (it buffers bodies, with its own 60 s timeouts); these bound
# what a client reaching the gateway directly can hold. 60 s lets the 1 MB body limit arrive at
# 17 KB/s.
HEADERS_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 60.0
# How long a response may wait for its client to read more of it (nginx's send_timeout).
SEND_STALL_S = 60.0
# After an answer this layer gives itself (400, 408) the client may still be sending: its bytes are
# read and dropped this long, with our side already shut, before the connection is closed.
# Closing with bytes unread makes the kernel send a reset, which throws away the answer the client
# has not read yet (nginx's lingering_close, for the same reason).
LINGER_S = 2.0

# Where the current request stands on its connection.
FIRST = "first"  # connection open, nothing received yet
HEADERS = "headers"  # request begun, headers still coming
BODY = "body"  # headers in, body still coming
RECEIVED = "received"  # the whole request is in (or the connection is between requests)


class CoalescingTransport:
    """Wraps a transport: ``write`` buffers until the loop turn ends; everything else passes through."""

    def __init__(self, raw: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.raw = raw
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        """Queue ``data``; it leaves with the turn's other writes, in order."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()

    def writelines(self, chunks: list[bytes]) -> None:
        """``write`` each chunk (kept in order with what is queued)."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is queued as one write (dropped if the connection is already closing)."""
        if not self._pending:
            return
        pending, self._pending, self._size = self._pending, [], 0
        if not self.raw.is_closing():
            self.raw.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def write_eof(self) -> None:
        self.flush()
        self.raw.write_eof()

    def close(self) -> None:
        self.flush()
        self.raw.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class HttpProtocol(HttpToolsProtocol):
    """The gateway's HTTP/1.1 protocol for uvicorn (``http=HttpProtocol``)."""

    headers_timeout: ClassVar[float] = HEADERS_TIMEOUT_S
    request_timeout: ClassVar[float] = REQUEST_TIMEOUT_S
    send_stall: ClassVar[float] = SEND_STALL_S
    linger: ClassVar[float] = LINGER_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = FIRST
        self._began = 0.0
        self._deadline: asyncio.TimerHandle | None = None
        self._stalled: asyncio.TimerHandle | None = None
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._began = self.loop.time()
        self._deadline = self.loop.call_at(self._due(), self._expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unstall()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None:
            self._stalled = self.loop.call_later(self.send_stall, self._stall_expired)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._unstall()

    def _unstall(self) -> None:
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def _stall_expired(self) -> None:
        self._stalled = None
        log.info("dropped a connection whose client read nothing of its response for %s s", self.send_stall)
        # abort, not close: close would wait for the buffered bytes the client is not taking.
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # answered already: what still comes is dropped
        super().data_received(data)
        if self._phase is RECEIVED:
            if self._deadline is not None:
                self._disarm()
        elif self._deadline is None and not self.transport.is_closing():
            self._deadline = self.loop.call_at(self._due(), self._expired)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase is not FIRST:
            self._began = self.loop.time()
        self._phase = HEADERS

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._phase = BODY

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = RECEIVED

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes over the connection: it gets the real transport, after
        # anything still queued, and keeps its own timers.
        self._phase = RECEIVED
        self._disarm()
        wrapper = self.transport
        if isinstance(wrapper, CoalescingTransport):
            wrapper.flush()
            self.transport = wrapper.raw
        super().handle_websocket_upgrade()

    def send_400_response(self, msg: str) -> None:
        """A request that is not HTTP: 400 in the shared shape (uvicorn's own is plain text)."""
        self._send_error(400, "bad_request", msg)

    def _due(self) -> float:
        return self._began + self._timeout()

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self._phase is RECEIVED or self.transport.is_closing():
            return
        if self.loop.time() < self._due():  # the headers came in time; the body has longer
            self._deadline = self.loop.call_at(self._due(), self._expired)
            return
        log.info("closed a connection whose request was not in after %s s (%s)", self._timeout(), self._phase)
        if self._phase is FIRST:
            self.transport.close()  # nothing was asked, so nothing is answered
        elif self._answerable():
            self._send_error(408, "request_timeout", f"The request did not arrive within {self._timeout():g} s.")
        else:
            self.transport.close()

    def _timeout(self) -> float:
        return self.request_timeout if self._phase is BODY else self.headers_timeout

    def _answerable(self) -> bool:
        """Whether a response may be written now without landing inside another one."""
        if self._phase is HEADERS:
            return self.cycle is None or self.cycle.response_complete
        return not self.pipeline and not self.cycle.response_started

    def _send_error(self, status: int, code: str, message: str) -> None:
        body = orjson.dumps({"error": {"code": code, "message": message}})
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: ", str(len(body)).encode(), b"\r\n",
            b"connection: close\r\n\r\n",
        ]  # fmt: skip
        self.transport.write(b"".join(head) + body)
        self._linger()

    def _linger(self) -> None:
        """Shut our side now and close once the client has had ``linger`` seconds to stop sending."""
        self._disarm()
        self._lingering = True
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()  # the client reads the answer, then end of stream
        self.loop.call_later(self.linger, self.transport.close)
