"""The gateway's Socket.IO server class: python-socketio's, with the limits a shared server needs.

python-socketio leaves three things open that one hostile or broken client could use against
every tenant sharing the server, and this class closes them where the packets pass:

- a client that stops reading lets its Engine.IO queue grow with every event fanned out to it
  (the writer task blocks on the socket and nothing bounds the queue), so a session too far
  behind is dropped, as ``/feed/ws`` drops a peer whose outbox overflows;
- an Engine.IO session without a namespace lives on, answering pings and holding a socket, so
  one that connects none within a short grace is closed, and so is one left without any (it
  disconnected its last, or was disconnected, or was refused) that connects none again in time;
- namespace connects and ``join`` events cost a token check or a database query each, so they
  are rate-limited per session and answered with a ``rate_limited`` error rather than served.

Imported only when a tenant has a namespace (``socketio`` is imported lazily, see gateway.lean).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import socketio
from socketio import packet

from shared.ratelimit import KeyedRateLimiter

# Packets one session may have waiting to be written. A reading client's queue stays near empty
# (the writer drains it as fast as the socket takes it); 1,000 events is minutes of a busy room, so
# a queue this long means the client has stopped reading, and each packet held costs memory.
MAX_QUEUED_PACKETS = 1000
# How long an Engine.IO session may stay without any namespace: a real client sends its namespace
# connect right after the handshake; the feed's native socket allows the same 5 s to sign in.
CONNECT_GRACE_S = 5.0
# Connect and join attempts per session per minute: a client joins a few rooms as pages open, and
# reconnects its namespaces on a new token; hundreds a minute is a loop, not a person.
ATTEMPTS_PER_MINUTE = 60


class LimitedServer(socketio.AsyncServer):  # type: ignore[misc]  # python-socketio ships no types
    """An ``AsyncServer`` that drops slow consumers, idle handshakes and connect/join floods."""

    def __init__(
        self,
        *args: Any,
        max_queued: int = MAX_QUEUED_PACKETS,
        connect_grace_s: float = CONNECT_GRACE_S,
        attempts_per_minute: int = ATTEMPTS_PER_MINUTE,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_queued = max_queued
        self.connect_grace_s = connect_grace_s
        self.attempts = KeyedRateLimiter(attempts_per_minute)
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
        self._arm_grace(eio_sid)

    def _in_a_namespace(self, eio_sid: str) -> bool:
        return any(self.manager.sid_from_eio_sid(eio_sid, ns) is not None for ns in self.manager.get_namespaces())

    def _arm_grace(self, eio_sid: str) -> None:
        """Close ``eio_sid`` after the grace unless it is in a namespace by then (once armed, kept)."""
        if eio_sid in self.eio.sockets and eio_sid not in self._graces and not self._in_a_namespace(eio_sid):
            self._graces[eio_sid] = asyncio.get_running_loop().call_later(self.connect_grace_s, self._expire, eio_sid)

    def _expire(self, eio_sid: str) -> None:
        self._graces.pop(eio_sid, None)
        if self._in_a_namespace(eio_sid):
            return
        task = asyncio.ensure_future(self.drop(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _handle_disconnect(self, eio_sid: str, namespace: str | None, reason: Any = None) -> None:
        # A namespace disconnect, from the client or as its session ends.
        await super()._handle_disconnect(eio_sid, namespace, reason)
        self._arm_grace(eio_sid)

    async def disconnect(self, sid: str, namespace: str | None = None, ignore_queue: bool = False) -> None:
        """Disconnect ``sid`` from ``namespace``; a session left without any gets the grace again."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace or "/")
        await super().disconnect(sid, namespace, ignore_queue=ignore_queue)
        if eio_sid is not None:
            self._arm_grace(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self.attempts.reset(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)
        # After: the namespace disconnects above run while the session may still be listed.
        timer = self._graces.pop(eio_sid, None)
        if timer is not None:
            timer.cancel()

    def _retry_after(self, eio_sid: str) -> int:
        """0 when another connect/join attempt is allowed (and counted), else seconds to wait."""
        wait = self.attempts.allow(eio_sid)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        retry = self._retry_after(eio_sid)
        if retry:
            # The shape of the namespaces' own refusals (ConnectionRefusedError(message, {code})).
            limited = {"code": "rate_limited", "details": {"retry_after": retry}}
            refusal = {"message": "Too many connect attempts; slow down.", "data": limited}
            await self._send_packet(
                eio_sid, self.packet_class(packet.CONNECT_ERROR, data=refusal, namespace=namespace or "/")
            )
        else:
            await super()._handle_connect(eio_sid, namespace, data)
        self._arm_grace(eio_sid)  # a refused connect leaves it where it was

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        if isinstance(data, list) and data and data[0] == "join":
            retry = self._retry_after(eio_sid)
            if retry:
                # The shape of a refused join's answer (see shared.auth.sockets).
                answer = {"ok": False, "error": "rate_limited", "message": "Too many joins; slow down.",
                          "details": {"retry_after": retry}}  # fmt: skip
                kind = packet.ACK if id is not None else packet.EVENT
                body = [answer] if id is not None else ["error", answer]
                await self._send_packet(eio_sid, self.packet_class(kind, namespace=namespace or "/", id=id, data=body))
                return
        await super()._handle_event(eio_sid, namespace, id, data)
