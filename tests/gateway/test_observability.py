"""/metrics, /health, OpenAPI and tenant listing."""

from __future__ import annotations

import httpx


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
