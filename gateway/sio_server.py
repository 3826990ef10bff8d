"""The gateway's Socket.IO server class: python-socketio's, with the limits a shared server needs.

python-socketio leaves open what one hostile or broken client could use against every tenant
sharing the server, and this class closes it where the packets pass:

- a client that stops reading lets its Engine.IO queue grow with every event fanned out to it
  (the writer task blocks on the socket and nothing bounds the queue), so a session too far
  behind is dropped, as ``/feed/ws`` drops a peer whose outbox overflows.

Imported only when a tenant has a namespace (``socketio`` is imported lazily, see gateway.lean).
"""

from __future__ import annotations

from typing import Any

import socketio

# Packets one session may have waiting to be written. A reading client's queue stays near empty
# (the writer drains it as fast as the socket takes it); 1,000 events is minutes of a busy room, so
# a queue this long means the client has stopped reading, and each packet held costs memory.
MAX_QUEUED_PACKETS = 1000


class LimitedServer(socketio.AsyncServer):  # type: ignore[misc]  # python-socketio ships no types
    """An ``AsyncServer`` that drops slow consumers."""

    def __init__(
        self,
        *args: Any,
        max_queued: int = MAX_QUEUED_PACKETS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_queued = max_queued

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
