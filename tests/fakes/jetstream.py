"""A fake Jetstream: a real WebSocket server speaking the v1 ``/subscribe`` protocol.

Events live in an append-only log ordered by ``time_us``. A subscriber gets the events from its
``cursor`` on (live tail only without one), filtered by ``wantedCollections`` (identity and
account events always pass), then every event appended later.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


def _parse(text: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    ok = isinstance(doc, dict) and type(doc.get("time_us")) is int and isinstance(doc.get("commit", {}), dict)
    return doc if ok else {}


class FakeJetstream:
    """The event log and the server's observable behaviour (connections, cursors asked for)."""

    def __init__(self) -> None:
        self.times: list[int] = []
        self.frames: list[tuple[str | None, str]] = []  # (collection or None, frame text)
        self._appended = asyncio.Event()
        self.requests: list[dict[str, list[str]]] = []
        # Abort the TCP connection after sending this many events (once per value set).
        self.drop_after: int | None = None
        self.sent = 0
        self.url = ""

    def publish(self, events: list[dict[str, Any] | str]) -> None:
        """Append events (dicts, or raw text for malformed frames with a ``time_us`` to sort by)."""
        for event in events:
            if isinstance(event, str):
                # Pre-encoded text: ordered by its own time_us when it has one (malformed frames don't).
                text, event = event, _parse(event)
            if not event:
                time_us, collection = self.times[-1] if self.times else 0, None
            else:
                time_us = event["time_us"]
                collection = event.get("commit", {}).get("collection") if event["kind"] == "commit" else None
                text = orjson.dumps(event).decode()
            if self.times and time_us < self.times[-1]:
                raise ValueError("events must be appended in time_us order")
            self.times.append(time_us)
            self.frames.append((collection, text))
        # Wake every subscriber waiting for more, then start a fresh signal for the next append.
        self._appended.set()
        self._appended = asyncio.Event()

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        self.requests.append(query)
        wanted = set(query.get("wantedCollections", []))
        cursor = query.get("cursor")
        position = bisect.bisect_left(self.times, int(cursor[0])) if cursor else len(self.times)
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            while True:
                while position >= len(self.frames):
                    appended = asyncio.ensure_future(self._appended.wait())
                    await asyncio.wait([appended, closed], return_when=asyncio.FIRST_COMPLETED)
                    appended.cancel()
                    if closed.done():
                        return
                collection, text = self.frames[position]
                position += 1
                if collection is not None and wanted and collection not in wanted:
                    continue
                await ws.send(text)
                self.sent += 1
                if self.drop_after is not None and self.sent >= self.drop_after:
                    self.drop_after = None
                    ws.transport.abort()
                    return
        except ConnectionClosed:
            return
        finally:
            closed.cancel()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeJetstream]:
        """Serve on a loopback port; ``self.url`` is the ``/subscribe`` URL."""
        async with serve(self._handler, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/subscribe"
            yield self
            server.close()
