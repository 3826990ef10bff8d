"""Run an ASGI app on a real loopback port inside the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

from gateway.http_protocol import HttpProtocol
from gateway.serving import uvicorn_options


@asynccontextmanager
async def serve(
    app: ASGIApp, host: str = "127.0.0.1", http: type[asyncio.Protocol] = HttpProtocol
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free port, as ``onebox serve`` does (``http`` aside); yields its base URL."""
    config = uvicorn.Config(
        app, host=host, port=0, log_level="warning", lifespan="on", **{**uvicorn_options(), "http": http}
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
