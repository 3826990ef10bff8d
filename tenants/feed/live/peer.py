"""A connected client, native WebSocket or Socket.IO: who it is, what it watches, and its outbox.

Each peer has a bounded outbox drained by its own task, so one slow or dead client never delays
the others; a client whose outbox overflows is disconnected (it reconnects and reloads). The
task exists only while frames wait: an idle socket costs no task (2,000 idle members, no tasks).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Frame = tuple[str, dict[str, Any], str]  # (event type, message, message as JSON text)
SEND_TIMEOUT_S = 10.0


class Peer:
    """One client connection; ``deliver`` writes a frame to the wire."""

    def __init__(
        self,
        deliver: Callable[[Frame], Awaitable[None]],
        on_overflow: Callable[[], Coroutine[Any, Any, None]],
        size: int,
    ) -> None:
        self.did: str | None = None
        self.expires_at = 0
        self.blocked: frozenset[str] = frozenset()
        self.topics: set[str] | None = None  # None: every post event; else only these posts
        self.last_heard = time.monotonic()
        self.answers_pings = False
        self._deliver = deliver
        self._on_overflow = on_overflow
        self._size = size
        self._outbox: deque[Frame] = deque()
        self._task: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self.closed = False

    def start(self) -> None:
        """Ready to send (the drain task is started by the first frame offered)."""

    def wants_post(self, *uris: str | None) -> bool:
        """Whether a post event about ``uris`` is for this peer (its topics, when it chose some)."""
        return self.topics is None or any(uri in self.topics for uri in uris if uri)

    def offer(self, frame: Frame) -> None:
        """Queue a frame; a full outbox means the client can't keep up, so it is cut off."""
        if self.closed:
            return
        if len(self._outbox) >= self._size:
            self.closed = True
            # Kept on the peer: the loop holds tasks weakly, and this one must finish the close.
            self._closing = asyncio.get_running_loop().create_task(self._on_overflow())
            return
        self._outbox.append(frame)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._outbox:
            frame = self._outbox.popleft()
            try:
                async with asyncio.timeout(SEND_TIMEOUT_S):  # no extra task per frame, unlike wait_for
                    await self._deliver(frame)
            except (OSError, TimeoutError, RuntimeError):
                # A send that can't complete is a dead peer: stop and let the reader notice the close.
                self.closed = True
                await self._on_overflow()
                return
        self._task = None

    async def stop(self) -> None:
        """Stop draining."""
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
