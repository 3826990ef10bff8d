"""Every error, from routing, parsing or limits, answers in the shared JSON shape."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.app import create_app
from shared.settings import Settings
from tests.support.server import serve
from tests.support.waiting import wait_for


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


async def test_unknown_path_and_method(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/nope"), 404, "not_found")
    assert_error(await client.get("/wishlist/api/nope"), 404, "not_found")
    assert_error(await client.get("/api/wishlist/nope"), 404, "not_found")
    assert_error(await client.delete("/wishlist/api/auth/login"), 405, "method_not_allowed")
    assert_error(await client.post("/health"), 405, "method_not_allowed")


async def test_malformed_and_invalid_json(client: httpx.AsyncClient) -> None:
    url = "/wishlist/api/auth/login"
    assert_error(await client.post(url, content=b"{not json"), 400, "malformed_json")
    assert_error(await client.post(url, content=b""), 400, "malformed_json")
    assert_error(await client.post(url, json=[1, 2]), 422, "validation_error")
    response = await client.post(url, json={"email": 5})
    assert_error(response, 422, "validation_error")
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"email", "password"} <= fields


async def test_oversized_body_declared_and_streamed(client: httpx.AsyncClient, settings: Settings) -> None:
    url = "/wishlist/api/auth/login"
    big = b'{"email": "' + b"a" * (settings.body_limit + 10) + b'"}'
    assert_error(await client.post(url, content=big), 413, "payload_too_large")

    async def chunks() -> object:
        for _ in range(settings.body_limit // 65536 + 2):
            yield b" " * 65536

    # No Content-Length: the cap applies while the body streams in.
    assert_error(await client.post(url, content=chunks()), 413, "payload_too_large")


async def test_request_id_and_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"):
        assert name in response.headers
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain HTTP here


async def test_rate_limits_answer_429_with_retry_after(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(rate_limit_per_minute=5, auth_rate_limit_per_minute=2))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        login = {"email": "nobody@example.com", "password": "x"}
        statuses = [(await http.post("/wishlist/api/auth/login", json=login)).status_code for _ in range(3)]
        assert statuses[:2] == [401, 401]
        limited = await http.post("/wishlist/api/auth/login", json=login)
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
        for _ in range(5):
            await http.get("/wishlist/openapi.json")
        assert_error(await http.get("/wishlist/openapi.json"), 429, "rate_limited")
        assert (await http.get("/health")).status_code == 200  # health is never rate-limited


async def test_login_limited_per_account(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(login_attempts_per_account=2))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        login = {"email": "victim@example.com", "password": "guess"}
        for _ in range(2):
            assert (await http.post("/wishlist/api/auth/login", json=login)).status_code == 401
        assert_error(await http.post("/wishlist/api/auth/login", json=login), 429, "rate_limited")


async def test_cors_per_tenant(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(cors_origins={"wishlist": ["https://wish.example"]}))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        preflight = {"Origin": "https://wish.example", "Access-Control-Request-Method": "POST"}
        ok = await http.options("/wishlist/api/auth/login", headers=preflight)
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://wish.example"
        other = await http.options("/wishlist/api/auth/login", headers={**preflight, "Origin": "https://evil.example"})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers


async def test_non_numeric_content_length_is_400(server: str) -> None:
    parts = urlsplit(server)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        b"POST /wishlist/api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n\r\n{}"
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    # uvicorn's parser may refuse the header itself; either way it is a 400, never a 413 or 500.
    assert status_line.split()[1] == b"400"


async def test_unknown_api_paths_are_json_404_and_wrong_methods_405(client: httpx.AsyncClient) -> None:
    for tenant in ("wishlist", "astro", "seacalendar"):
        assert_error(await client.delete(f"/{tenant}/api/no/such/thing"), 404, "not_found")
        assert_error(await client.put(f"/{tenant}/api/nothing"), 404, "not_found")
    wrong = await client.delete("/wishlist/api/auth/login")
    assert_error(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["allow"]


async def test_an_unexpected_error_is_500_with_the_request_id_and_headers(
    make_settings: Callable[..., Settings],
) -> None:
    async def boom(_request: Request) -> Response:
        raise RuntimeError("a bug")

    app = create_app(make_settings(tenants=["wishlist"]))
    # An endpoint of the real app that fails as a bug would (ahead of the tenant's mount).
    app.router.routes.insert(0, Route("/wishlist/api/boom", boom))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        for path in ("/wishlist/api/boom", "/api/wishlist/boom"):  # the second through the alias
            response = await http.get(path, headers={"X-Request-ID": "trace-500"})
            assert_error(response, 500, "internal_error")
            assert response.json()["error"]["details"] == {"request_id": "trace-500"}
            assert response.headers["x-request-id"] == "trace-500"
            assert "content-security-policy" in response.headers and "x-content-type-options" in response.headers
            assert "a bug" not in response.text


async def test_a_forwarded_for_list_the_client_wrote_does_not_dodge_the_limits(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(tenants=["wishlist"], auth_rate_limit_per_minute=2, trust_proxy_headers=True))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        login = {"email": "nobody@example.com", "password": "x"}
        answers = []
        for n in range(3):
            # nginx appends the address it saw; what comes before it is the client's own claim.
            forwarded = {"X-Forwarded-For": f"10.0.0.{n}, 203.0.113.7"}
            answers.append((await http.post("/wishlist/api/auth/login", json=login, headers=forwarded)).status_code)
        assert answers == [401, 401, 429]
        other = {"X-Forwarded-For": "203.0.113.8"}
        assert (await http.post("/wishlist/api/auth/login", json=login, headers=other)).status_code == 401


async def test_gateway_errors_on_xrpc_paths_take_the_xrpc_shape(
    make_settings: Callable[..., Settings], settings: Settings
) -> None:
    app = create_app(make_settings(tenants=["feed"], rate_limit_per_minute=4))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        create = "/feed/xrpc/com.atproto.repo.createRecord"
        declared = await http.post(create, content=b"x" * (settings.body_limit + 1))

        async def chunks() -> object:
            for _ in range(settings.body_limit // 65536 + 2):
                yield b" " * 65536

        streamed = await http.post("/feed/xrpc/com.atproto.server.createSession", content=chunks())
        for response in (declared, streamed):
            assert response.status_code == 413, response.text
            assert response.json() == {"error": "PayloadTooLarge", "message": response.json()["message"]}
        for _ in range(4):
            await http.get("/feed/xrpc/app.bsky.actor.getProfile")
        limited = await http.get("/feed/xrpc/app.bsky.actor.getProfile")
        assert limited.status_code == 429 and limited.json()["error"] == "RateLimitExceeded", limited.text
        assert set(limited.json()) == {"error", "message"} and int(limited.headers["retry-after"]) >= 1
        # The community's REST API keeps the shared shape.
        rest = await http.get("/feed/api/feed/global")
        assert rest.status_code == 429 and rest.json()["error"]["code"] == "rate_limited"


async def test_a_client_gone_mid_body_is_499_not_a_server_error(
    server: str, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    parts = urlsplit(server)
    for path in ("/wishlist/api/auth/login", "/feed/xrpc/com.atproto.server.createSession"):
        _, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n".encode()
            + b'{"email": "half'
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def counted() -> bool:
        text = (await client.get("/metrics")).text
        return all(
            f'route="{route}",status="499",tenant="{tenant}"' in text
            for route, tenant in (("/api/auth/login", "wishlist"), ("/xrpc/{nsid}", "feed"))
        )

    await wait_for(counted)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
