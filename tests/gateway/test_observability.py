"""/metrics, /health, OpenAPI and tenant listing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
import pytest
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.app import create_app
from shared.settings import Settings
from tests.support.server import serve
from tests.support.waiting import wait_for


async def test_metrics_count_requests_per_tenant_and_route(client: httpx.AsyncClient) -> None:
    await client.get("/wishlist/openapi.json")
    await client.get("/wishlist/no-such-page.txt")
    text = (await client.get("/metrics")).text
    assert 'onebox_http_requests_total{method="GET",route="/openapi.json",status="200",tenant="wishlist"}' in text
    assert 'route="unmatched",status="404",tenant="wishlist"' in text
    assert 'onebox_http_request_duration_seconds_bucket{le="0.005",route="/openapi.json",tenant="wishlist"}' in text
    assert 'onebox_db_pool_size{tenant="wishlist"}' in text


async def test_tenant_health_and_openapi(client: httpx.AsyncClient) -> None:
    health = await client.get("/wishlist/health")
    assert health.status_code == 200
    assert health.json()["database"]["ok"] is True
    doc = (await client.get("/wishlist/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert "post" in doc["paths"]["/wishlist/api/auth/login"]


async def test_a_request_is_timed_to_its_answer_not_to_its_background_work(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    finished = asyncio.Event()

    async def after() -> None:
        await asyncio.sleep(0.5)  # the work the client does not wait for (a mail, say)
        finished.set()

    async def answer_then_work(_request: Request) -> Response:
        return JSONResponse({"ok": True}, background=BackgroundTask(after))

    app = create_app(make_settings(tenants=["wishlist"]))
    app.router.routes.insert(0, Route("/wishlist/api/later", answer_then_work))
    caplog.set_level(logging.INFO, logger="onebox.access")
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/wishlist/api/later")).status_code == 200
        await asyncio.wait_for(finished.wait(), 10)

        def logged() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.name == "onebox.access" and r.getMessage().endswith("/later 200")]

        (line,) = await wait_for(logged)
    assert line.duration_ms < 400, line.duration_ms
