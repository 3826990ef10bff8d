"""/health and API calls turn 503 while PostgreSQL is down and recover without restarting the gateway."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from gateway import bootstrap
from gateway.app import create_app
from shared.db.embedded import EmbeddedPostgres
from shared.settings import Settings
from tests.support.database import free_port
from tests.support.server import serve
from tests.support.waiting import wait_for

FEED_READ = "/feed/api/feed/global"  # a hot read through TenantDatabase.raw()


async def test_health_follows_database_outage(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg", port=free_port())
    server.start()
    try:
        settings = make_settings(database_url=server.admin_url(), tenants=["wishlist", "feed"])
        bootstrap.init_databases(settings, server.admin_url())
        bootstrap.upgrade_databases(settings, server.admin_url())
        async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            assert (await http.get("/health")).status_code == 200
            assert (await http.get(FEED_READ)).status_code == 200  # opens a connection of asyncpg's own pool

            server.stop("immediate")
            down = await http.get("/health")
            assert down.status_code == 503
            assert down.json()["tenants"]["wishlist"]["database"]["ok"] is False
            assert (await http.get("/wishlist/health")).status_code == 503
            # API calls answer 503 with Retry-After, not 500 and not a hang.
            login = await http.post("/wishlist/api/auth/login", json={"email": "a@b.co", "password": "x"})
            assert login.status_code == 503 and login.json()["error"]["code"] == "unavailable"
            assert "retry-after" in login.headers
            for _ in range(2):  # the dead pooled connection, then a refused new one
                read = await http.get(FEED_READ)
                assert read.status_code == 503 and read.json()["error"]["code"] == "unavailable", read.text

            server.start()

            async def healthy() -> bool:
                return (await http.get("/health")).status_code == 200

            await wait_for(healthy, timeout=20)

            async def reads() -> bool:
                return (await http.get(FEED_READ)).status_code == 200

            await wait_for(reads, timeout=20)
    finally:
        server.stop("immediate")
