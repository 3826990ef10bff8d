"""``/health`` for the whole box and ``/<tenant>/health`` for one product: 200 or 503."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway import supervision
from shared.http.responses import json_response
from shared.tenant import Tenant, TenantContext

log = logging.getLogger("onebox.health")


async def check_tenant(tenant: Tenant, ctx: TenantContext) -> dict[str, Any]:
    """The tenant's database, bus and own checks; ``ok`` is False when any fails."""
    doc: dict[str, Any] = {"tenant": tenant.name}
    try:
        latency = await asyncio.wait_for(ctx.db.ping(), timeout=2.0)
        doc["database"] = {"ok": True, "latency_ms": round(latency * 1000, 2), "pool": ctx.db.stats()}
    except Exception as exc:  # any failure to reach the database is a health fact, not a crash
        doc["database"] = {"ok": False, "error": type(exc).__name__}
    doc["bus"] = {"listening": ctx.bus.listening, "delivered": ctx.bus.delivered}
    ok = doc["database"]["ok"]
    if tenant.health is not None and ok:
        try:
            extra = await asyncio.wait_for(tenant.health(ctx), timeout=3.0)
            ok = ok and bool(extra.pop("ok", True))
            doc.update(extra)
        except Exception as exc:
            log.warning("health check of %s failed: %r", tenant.name, exc)
            doc["checks"] = {"ok": False, "error": type(exc).__name__}
            ok = False
    doc["ok"] = ok
    return doc


def tenant_endpoint(tenant: Tenant, ctx: TenantContext) -> Any:
    """``GET /<tenant>/health``."""

    async def health(_request: Request) -> Response:
        doc = await check_tenant(tenant, ctx)
        return json_response({"status": "ok" if doc["ok"] else "unavailable", **doc}, 200 if doc["ok"] else 503)

    return health


def box_endpoint(pairs: list[tuple[Tenant, TenantContext]], started: float) -> Any:
    """``GET /health``: every tenant at once."""

    async def health(request: Request) -> Response:
        docs = await asyncio.gather(*(check_tenant(t, c) for t, c in pairs))
        ok = all(d["ok"] for d in docs)
        body: dict[str, Any] = {
            "status": "ok" if ok else "unavailable",
            "uptime_s": round(time.monotonic() - started, 1),
            "tenants": {d["tenant"]: d for d in docs},
        }
        # Under supervisord: each program's state, restart count and last restart reason (facts, not failures).
        data_dir = request.app.state.settings.data_dir
        processes = await supervision.process_facts(data_dir, os.environ.get("SUPERVISOR_SERVER_URL"))
        if processes is not None:
            body["processes"] = processes
        return json_response(body, 200 if ok else 503)

    return health
