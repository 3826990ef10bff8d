"""``/feed/ws``: the community app's native WebSocket (Cannect protocol).

The client sends ``{"type": "auth", "token": <access token>}`` within the grace period or is
closed (4401). Afterwards it receives ``post_updated``, ``reply_added``, ``notification``,
``profile_updated`` and ``post_deleted`` frames. It may narrow post events with
``{"type": "subscribe", "uris": [...]}``. Malformed messages get an ``error`` frame (the socket
stays open until the budget of errors is spent). The server sends ``ping`` frames; a client that
answers them with ``pong`` and then falls silent is treated as dead and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from shared.errors import ApiError
from tenants.feed.appview import AppView
from tenants.feed.live.hub import Hub, frame
from tenants.feed.live.peer import Frame, Peer

MAX_MESSAGE = 16 * 1024
MAX_TOPICS = 500
# What one socket's subscriptions may hold: 500 post URIs of ordinary length, not 500 of 8 KB.
MAX_TOPIC_URI = 1024
MAX_TOPIC_CHARS = 64 * 1024
ERROR_BUDGET = 50
CLOSE_UNAUTHORIZED = 4401
CLOSE_TIMEOUT = 4408
CLOSE_POLICY = 1008


class Session:
    """One socket's conversation: reading, heartbeats and closing."""

    def __init__(self, av: AppView, hub: Hub, websocket: WebSocket) -> None:
        self.av, self.hub, self.ws = av, hub, websocket
        self.errors = 0
        self.peer = Peer(self._write, self._overflowed, av.api.feed_ws_queue)

    async def _write(self, out: Frame) -> None:
        await self.ws.send_text(out[2])

    async def _overflowed(self) -> None:
        await self.close(CLOSE_POLICY, "too slow")

    async def close(self, code: int, reason: str) -> None:
        """Close once, however many reasons arrive."""
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await self.ws.close(code, reason)

    def error(self, code: str, message: str) -> None:
        """An error frame; too many of them close the socket."""
        self.errors += 1
        self.peer.offer(frame("error", {"error": code, "message": message}))

    async def handle(self, text: str) -> None:
        """One client message."""
        self.peer.last_heard = time.monotonic()
        try:
            message: Any = orjson.loads(text) if len(text) <= MAX_MESSAGE else None
        except orjson.JSONDecodeError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if not isinstance(kind, str):
            self.error("malformed", "Send a JSON object with a string 'type'.")
        elif kind == "auth":
            await self._auth(message.get("token"))
        elif kind == "ping":
            self.peer.offer(frame("pong", {}))
        elif kind == "pong":
            self.peer.answers_pings = True
        elif kind in ("subscribe", "unsubscribe"):
            self._topics(kind, message.get("uris"))
        else:
            self.error("unknown_type", f"Unknown message type {kind[:40]!r}.")

    async def _auth(self, token: Any) -> None:
        try:
            claims = self.av.claims(self.ws, token if isinstance(token, str) and token else None)
        except ApiError as exc:
            self.error("unauthorized", exc.message)
            return
        await self.hub.sign_in(self.peer, claims.subject, claims.expires_at)
        self.peer.offer(frame("auth_ok", {"did": claims.subject}))

    def _topics(self, kind: str, uris: Any) -> None:
        if not isinstance(uris, list) or not all(isinstance(u, str) and len(u) <= MAX_TOPIC_URI for u in uris):
            self.error("malformed", "Send {type, uris: [AT URI, ...]}.")
            return
        topics = self.peer.topics or set()
        topics = topics | set(uris) if kind == "subscribe" else topics - set(uris)
        if len(topics) > MAX_TOPICS or sum(map(len, topics)) > MAX_TOPIC_CHARS:
            self.error("too_many_topics", f"Watch at most {MAX_TOPICS} posts at once.")
            return
        self.peer.topics = topics if kind == "subscribe" or topics else None

    async def beat(self, now: float, wall: float) -> None:
        """One heartbeat: close a socket whose token expired or that stopped answering pings, else ping it."""
        peer, period = self.peer, self.av.api.feed_ws_heartbeat_s
        if peer.did is not None and peer.expires_at <= wall:
            await self.close(CLOSE_UNAUTHORIZED, "token expired")
        elif peer.answers_pings and now - peer.last_heard > 2.5 * period:
            await self.close(CLOSE_TIMEOUT, "no heartbeat")
        elif peer.did is not None:  # a socket that has not signed in gets nothing, pings included
            peer.offer(frame("ping", {"t": int(wall * 1000)}))

    async def run(self) -> None:
        """Read until the client leaves or is closed."""
        grace = time.monotonic() + self.av.api.feed_ws_auth_grace_s
        while self.ws.application_state == WebSocketState.CONNECTED:
            timeout = None if self.peer.did is not None else grace - time.monotonic()
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout)
            except TimeoutError:
                await self.close(CLOSE_UNAUTHORIZED, "authentication timeout")
                return
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await self.handle(message["text"])
            else:
                self.error("malformed", "Binary frames are not part of this protocol.")
            if self.errors > ERROR_BUDGET:
                await self.close(CLOSE_POLICY, "too many malformed messages")
                return


class Heartbeats:
    """One task for every socket's heartbeat (a task per socket costs memory for 2,000 sockets)."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.sessions: set[Session] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, session: Session) -> None:
        """Beat ``session`` from the next period on."""
        self.sessions.add(session)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, session: Session) -> None:
        """Stop beating ``session``; the task ends with the last one."""
        self.sessions.discard(session)
        if not self.sessions and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            now, wall = time.monotonic(), time.time()
            for session in list(self.sessions):
                with contextlib.suppress(Exception):
                    await session.beat(now, wall)


def route(av: AppView, hub: Hub) -> WebSocketRoute:
    """The ``/ws`` route."""
    beats = Heartbeats(av.api.feed_ws_heartbeat_s)

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        session = Session(av, hub, websocket)
        hub.attach(session.peer)
        session.peer.start()
        beats.add(session)
        try:
            await session.run()
        except WebSocketDisconnect:
            pass
        finally:
            hub.detach(session.peer)
            beats.discard(session)
            await session.peer.stop()

    return WebSocketRoute("/ws", endpoint)
