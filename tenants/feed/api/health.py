"""``/feed/health/{db,ws,indexer}``: the checks the community's deployment monitors, one by one."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.http.responses import json_response
from tenants.feed.appview import AppView
from tenants.feed.health import STATE_SQL, describe
from tenants.feed.live.hub import Hub
from tenants.feed.push_api import Pusher


def push_figures(pusher: Pusher, indexer: dict[str, Any]) -> dict[str, Any]:
    """Web push deliveries by the indexer and by this process, and their success rate.

    A notice the indexer dropped (its queue full) reached no device: it counts against the rate.
    """
    sent = pusher.sent + int(indexer.get("push_sent") or 0)
    failed = pusher.failed + int(indexer.get("push_failed") or 0)
    dropped = int(indexer.get("push_dropped") or 0)
    total = sent + failed + dropped
    rate = round(sent / total, 4) if total else None
    return {
        "enabled": pusher.vapid is not None,
        "sent": sent,
        "failed": failed,
        "dropped": dropped,
        "success_rate": rate,
    }


def routes(av: AppView, hub: Hub, pusher: Pusher) -> list[Route]:
    """Per-component health routes (200 when fine, 503 otherwise)."""

    async def db(_request: Request) -> Response:
        """Database round trip and pool usage."""
        try:
            latency = await asyncio.wait_for(av.ctx.db.ping(), timeout=2.0)
        except Exception as exc:  # an unreachable database is the answer here, not an error
            return json_response({"ok": False, "error": type(exc).__name__}, 503)
        return json_response({"ok": True, "latency_ms": round(latency * 1000, 2), "pool": av.ctx.db.stats()})

    async def ws(_request: Request) -> Response:
        """WebSocket and Socket.IO connections of this process, and events relayed."""
        return json_response({"ok": av.ctx.bus.listening, "bus_listening": av.ctx.bus.listening, **hub.stats()})

    async def indexer(_request: Request) -> Response:
        """The Jetstream indexer: running, lag, heartbeat age, rates; and push delivery."""
        async with av.ctx.db.connect() as conn:
            row = (await conn.execute(STATE_SQL)).mappings().first()
        doc = describe(row)
        ok = doc["state"] != "stalled"
        return json_response({"ok": ok, **doc, "push": push_figures(pusher, doc)}, 200 if ok else 503)

    return [
        Route("/health/db", db, methods=["GET"]),
        Route("/health/ws", ws, methods=["GET"]),
        Route("/health/indexer", indexer, methods=["GET"]),
    ]
