"""The gateway's Socket.IO server class: python-socketio's, with the limits a shared server needs.

python-socketio leaves two things open that one hostile or broken client could use against
every tenant sharing the server, and this class closes them where the packets pass:

- a client that stops reading lets its Engine.IO queue grow with every event fanned out to it
  (the writer task blocks on the socket and nothing bounds the queue), so a session too far
  behind is dropped, as ``/feed/ws`` drops a peer whose outbox overflows;
- an Engine.IO session that never connects to a namespace lives until its ping timeout, sending
  pings and holding a socket, so it is closed after a short grace.

Imported only when a tenant has a namespace (``socketio`` is imported lazily, see gateway.lean).
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

# Packets one session may have waiting to be written. A reading client's queue stays near empty
# (the writer drains it as fast as the socket takes it); 1,000 events is minutes of a busy room, so
# a queue this long means the client has stopped reading, and each packet held costs memory.
MAX_QUEUED_PACKETS = 1000
# How long an Engine.IO session may stay without any namespace: a real client sends its namespace
# connect right after the handshake; the feed's native socket allows the same 5 s to sign in.
CONNECT_GRACE_S = 5.0


class LimitedServer(socketio.AsyncServer):  # type: ignore[misc]  # python-socketio ships no types
    """An ``AsyncServer`` that drops slow consumers and idle handshakes."""

    def __init__(
        self,
        *args: Any,
        max_queued: int = MAX_QUEUED_PACKETS,
        connect_grace_s: float = CONNECT_GRACE_S,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_queued = max_queued
        self.connect_grace_s = connect_grace_s
        self._graces: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()  # the loop holds tasks weakly

    async def _too_far_behind(self, eio_sid: str) -> bool:
        """Whether ``eio_sid``'s queue is full; if so the session is dropped and nothing is sent."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.queue.qsize() < self.max_queued:
            return False
        await self.drop(eio_sid)
        return True

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        if not await self._too_far_behind(eio_sid):
            await super()._send_packet(eio_sid, pkt)

    async def _send_eio_packet(self, eio_sid: str, eio_pkt: Any) -> None:
        # The manager's emit path: a packet encoded once for the whole room, sent per session.
        if not await self._too_far_behind(eio_sid):
            await super()._send_eio_packet(eio_sid, eio_pkt)

    async def drop(self, eio_sid: str) -> None:
        """Close an Engine.IO session at once, without waiting for its queue to be written.

        ``eio.disconnect`` would queue a CLOSE packet and wait for the queue to drain, which a
        client that doesn't read never lets happen; here the queue is emptied instead, and the
        writer task, once its current send returns, finds the end marker and closes the socket.
        """
        socket = self.eio.sockets.pop(eio_sid, None)
        if socket is None or socket.closing or socket.closed:
            return
        await socket.close(wait=False, abort=True, reason=self.reason.SERVER_DISCONNECT)
        while not socket.queue.empty():
            socket.queue.get_nowait()
            socket.queue.task_done()
        socket.queue.put_nowait(None)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        # A dropped session's WebSocket stays open until its writer's send returns; what the client
        # still sends on it would connect namespaces for a session that no longer exists.
        if eio_sid in self.eio.sockets:
            await super()._handle_eio_message(eio_sid, data)

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> None:
        await super()._handle_eio_connect(eio_sid, environ)
        self._graces[eio_sid] = asyncio.get_running_loop().call_later(self.connect_grace_s, self._expire, eio_sid)

    def _expire(self, eio_sid: str) -> None:
        self._graces.pop(eio_sid, None)
        if any(self.manager.sid_from_eio_sid(eio_sid, ns) is not None for ns in self.manager.get_namespaces()):
            return
        task = asyncio.ensure_future(self.drop(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        timer = self._graces.pop(eio_sid, None)
        if timer is not None:
            timer.cancel()
        await super()._handle_eio_disconnect(eio_sid, reason)
