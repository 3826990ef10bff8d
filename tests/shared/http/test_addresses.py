"""Only public addresses may be called for a user; what resolves to what."""

from __future__ import annotations

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from shared.http.addresses import is_public, public_only_connector, resolve
from tests.support.server import serve


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("2001:4860:4860::8888", True), ("10.0.0.1", False), ("172.16.5.4", False),
     ("192.168.1.1", False), ("127.0.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False),
     ("0.0.0.0", False), ("224.0.0.1", False), ("::1", False), ("fe80::1%eth0", False), ("fc00::1", False),
     ("::ffff:10.0.0.1", False), ("::ffff:127.0.0.1", False)],
)  # fmt: skip
def test_only_public_addresses_pass(address: str, public: bool) -> None:
    assert is_public(address) is public


async def test_resolve_gives_addresses_or_nothing() -> None:
    assert "127.0.0.1" in await resolve("127.0.0.1", 443)
    assert await resolve("nothing-here.invalid", 443) == []
    assert await resolve("a" * 300, 443) == []  # not even a valid name


async def test_the_connector_refuses_names_that_resolve_to_private_addresses() -> None:
    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    async with serve(Starlette(routes=[Route("/", hello)])) as url:
        port = int(url.rsplit(":", 1)[1])
        named = f"http://localhost:{port}/"
        async with aiohttp.ClientSession(connector=public_only_connector([])) as session:
            with pytest.raises(aiohttp.ClientConnectorError):
                await session.get(named)
        trusted = public_only_connector([f"localhost:{port}"])
        async with aiohttp.ClientSession(connector=trusted) as session, session.get(named) as response:
            assert await response.text() == "hi"
