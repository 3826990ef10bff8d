"""A DID document names the PDS, and anyone can publish one: sign-in never calls the box's own addresses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest

from shared.http.addresses import public_only_transport
from tests.tenants.feed.api.fixtures import FeedServer


@asynccontextmanager
async def sentinel() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A loopback server standing for an internal service: its port and what reached it."""
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.read(4096))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(record, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()
        await server.wait_closed()


async def test_a_pds_on_an_internal_address_is_never_called(
    feed_server: FeedServer, http: httpx.AsyncClient, feed_db: asyncpg.Connection
) -> None:
    async with sentinel() as (port, seen):
        # "localhost" is the box itself; only the configured PLC host (127.0.0.1 here) is trusted.
        feed_server.pds.account("did:plc:sneaky", "sneaky.test", "pw")
        feed_server.pds.endpoints["did:plc:sneaky"] = f"http://localhost:{port}/admin?"
        for identifier in ("sneaky.test", "did:plc:sneaky", f"did:web:localhost%3A{port}"):
            answer = await http.post("/api/auth/login", json={"identifier": identifier, "password": "pw"})
            assert answer.status_code == 502, answer.text
            xrpc = await http.post(
                "/xrpc/com.atproto.server.createSession", json={"identifier": identifier, "password": "pw"}
            )
            assert xrpc.status_code == 502 and xrpc.json()["error"] == "UpstreamFailure", xrpc.text
        assert seen == []
    assert await feed_db.fetchval("SELECT count(*) FROM members WHERE did = 'did:plc:sneaky'") == 0


@pytest.mark.parametrize("url", ["http://localhost:{port}/", "http://127.0.0.2:{port}/", "http://[::1]:{port}/"])
async def test_the_transport_refuses_non_public_addresses_unless_trusted(url: str) -> None:
    async with sentinel() as (port, seen):
        async with httpx.AsyncClient(transport=public_only_transport(frozenset())) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(url.format(port=port))
        async with httpx.AsyncClient(transport=public_only_transport(frozenset({"127.0.0.1"}))) as client:
            assert (await client.get(f"http://127.0.0.1:{port}/")).status_code == 200
        assert len(seen) == 1


async def test_a_handle_the_pds_claims_is_kept_only_if_it_checks_out_both_ways(
    feed_server: FeedServer, http: httpx.AsyncClient, feed_db: asyncpg.Connection
) -> None:
    pds = feed_server.pds
    pds.account("did:plc:alice", "alice.test", "pw-alice")
    # Mallory runs a PDS that says her account is alice.test (and her DID document agrees).
    pds.account("did:plc:mallory", "mallory.test", "pw-mallory")
    pds.handles["did:plc:mallory"] = "alice.test"
    signed = await http.post("/api/auth/login", json={"identifier": "did:plc:mallory", "password": "pw-mallory"})
    assert signed.status_code == 200, signed.text
    assert signed.json()["user"]["handle"] == "handle.invalid"
    stored = await feed_db.fetchval("SELECT handle FROM profiles WHERE did = 'did:plc:mallory'")
    assert stored == "handle.invalid"
    # Alice, whose handle resolves to her, keeps it whether she signs in by DID or by handle.
    for identifier in ("did:plc:alice", "alice.test"):
        alice = await http.post("/api/auth/login", json={"identifier": identifier, "password": "pw-alice"})
        assert alice.json()["user"]["handle"] == "alice.test", alice.text
    profile = await http.get("/api/profile/alice.test")
    assert profile.json()["did"] == "did:plc:alice"
