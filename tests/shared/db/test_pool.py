"""A full pool answers 503 with Retry-After after the pool timeout, never a hang."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gateway.app import create_app
from shared.settings import Settings
from tests.support.server import serve


async def test_exhausted_pool_answers_503(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(pool_size=1, pool_overflow=0, pool_timeout=0.2, tenants=["wishlist"]))
    ctx = app.state.contexts["wishlist"]
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        async with ctx.db.connect():
            response = await http.post("/wishlist/api/auth/login", json={"email": "a@b.co", "password": "x"})
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "unavailable"
            assert response.headers["retry-after"] == "1"
            assert ctx.db.stats()["checked_out"] == 1
        # Once the connection is back, the same request goes through to the real answer.
        response = await http.post("/wishlist/api/auth/login", json={"email": "a@b.co", "password": "x"})
        assert response.status_code == 401
