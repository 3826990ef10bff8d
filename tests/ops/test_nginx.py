"""The shipped ops/nginx/onebox.conf, run by the real nginx in front of the gateway.

The upstream is the session's gateway app; WebSocket upgrades on /socket.io/ and /feed/ws reach
an echo in front of it, because what is tested here is that nginx passes the upgrade through
its locations (the gateway's own sockets have their own tests).
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.asyncio.client import connect

from gateway import nginx
from gateway.serving import KEEP_ALIVE_S
from tests.ops.stack import wait_until
from tests.support.database import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
    reason="nginx is not installed and could not be: `make nginx` installs it (make test does)",
)

WEBSOCKETS = ("/socket.io/", "/feed/ws")


def with_echo(app: ASGIApp) -> ASGIApp:
    """``app``, except that WebSockets on the proxied socket paths echo ``<path> <text>``."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] not in WEBSOCKETS:
            await app(scope, receive, send)
            return
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": f"{scope['path']} {message.get('text')}"})

    return asgi


@asynccontextmanager
async def upstream(app: ASGIApp) -> AsyncIterator[int]:
    """Serve ``app`` on a loopback port without running its lifespan again (the session server did)."""
    import asyncio

    server = uvicorn.Server(uvicorn.Config(app, port=0, lifespan="off", log_level="warning", ws="websockets-sansio"))
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_nginx(conf: Path, port: int) -> Iterator[None]:
    process = subprocess.Popen(
        [nginx.nginx_binary(), "-p", str(conf.parent), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: _accepts(port) or process.poll() is not None, timeout=10, interval=0.01)
        assert process.poll() is None, (conf.parent / "error.log").read_text()
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, Path]:
    return nginx.self_signed(tmp_path)


def test_shipped_config_passes_nginx_t(tmp_path: Path, tls: tuple[Path, Path]) -> None:
    conf = nginx.prepare(tmp_path / "nginx", TLS_CERT=str(tls[0]), TLS_KEY=str(tls[1]), HTTP_PORT="8080")
    assert "test is successful" in nginx.check(conf)
    assert not re.search(r"\{\{\w+\}\}", (tmp_path / "nginx" / "onebox.conf").read_text())


def test_idle_upstream_connections_are_dropped_before_the_gateway_drops_them() -> None:
    # Otherwise nginx can send a request on a connection the gateway is closing (a POST fails).
    upstream = re.search(r"upstream onebox_gateway \{(.*?)\}", nginx.render(), re.S)
    assert upstream is not None
    timeout = re.search(r"keepalive_timeout (\d+)s;", upstream[1])
    assert timeout is not None and int(timeout[1]) < KEEP_ALIVE_S


async def test_requests_and_websockets_through_nginx(
    app: Starlette, server: str, tmp_path: Path, tls: tuple[Path, Path]
) -> None:
    cert, key = tls
    https, http = free_port(), free_port()
    client_tls = ssl.create_default_context(cafile=str(cert))
    async with upstream(with_echo(app)) as gateway_port:
        conf = nginx.prepare(
            tmp_path / "nginx",
            UPSTREAM=f"127.0.0.1:{gateway_port}",
            HTTPS_PORT=str(https),
            HTTP_PORT=str(http),
            TLS_CERT=str(cert),
            TLS_KEY=str(key),
        )
        with running_nginx(conf, https):
            base = f"https://127.0.0.1:{https}"
            async with httpx.AsyncClient(base_url=base, verify=client_tls, timeout=10) as client:
                health = await client.get("/health")
                assert health.status_code == 200, health.text
                assert health.json()["tenants"]["wishlist"]["database"]["ok"] is True
                assert health.headers["x-request-id"]

                page = await client.get("/wishlist/")
                assert page.headers["cache-control"] == "no-cache"
                stamp = re.search(r'href="(style\.css\?v=\w+)"', page.text)
                assert stamp is not None
                css = await client.get(f"/wishlist/{stamp[1]}")
                assert css.status_code == 200
                assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
                # Unstamped (an old page's URL), it revalidates rather than stay a week.
                assert (await client.get("/wishlist/style.css")).headers["cache-control"] == "no-cache"

                # Sign-in has its own small budget (10/min, burst 5): guessing stops at nginx.
                statuses = [
                    (
                        await client.post("/wishlist/api/auth/login", json={"email": "x@example.com", "password": "no"})
                    ).status_code
                    for _ in range(8)
                ]
                assert statuses[0] != 429 and statuses[-1] == 429, statuses
                assert (await client.get("/health")).status_code == 200  # the general zone is untouched

                hidden = await client.get("/metrics")
                assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"

            async with httpx.AsyncClient() as plain:
                redirect = await plain.get(f"http://127.0.0.1:{http}/health")
                assert redirect.status_code == 301
                assert redirect.headers["location"] == "https://127.0.0.1/health"

            for path in WEBSOCKETS:
                async with connect(f"wss://127.0.0.1:{https}{path}", ssl=client_tls) as ws:
                    await ws.send("hello")
                    assert await ws.recv() == f"{path} hello"


async def test_maintenance_page_when_the_gateway_is_down(tmp_path: Path, tls: tuple[Path, Path]) -> None:
    https = free_port()
    conf = nginx.prepare(
        tmp_path / "nginx",
        UPSTREAM=f"127.0.0.1:{free_port()}",  # nothing listens there
        HTTPS_PORT=str(https),
        HTTP_PORT=str(free_port()),
        TLS_CERT=str(tls[0]),
        TLS_KEY=str(tls[1]),
    )
    with running_nginx(conf, https):
        verify = ssl.create_default_context(cafile=str(tls[0]))
        async with httpx.AsyncClient(verify=verify, timeout=10) as client:
            response = await client.get(f"https://127.0.0.1:{https}/wishlist/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert response.headers["content-type"].startswith("text/html")
    assert "Back in a moment" in response.text
