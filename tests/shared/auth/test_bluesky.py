"""Bluesky sign-in refuses what is neither a handle nor a DID before it calls anyone."""

from __future__ import annotations

import httpx
import pytest

from shared.auth.bluesky import BlueskyClient, BlueskyError, PdsUnreachable
from tests.support.database import free_port


@pytest.mark.parametrize(
    "identifier",
    ["alice@example.com", "not a handle", "2026-99-99T99:99", "-bad.example", "a..b", "did:PLC:x", "x" * 254 + ".test"],
)
async def test_not_a_handle_or_did_is_refused_without_a_call(identifier: str) -> None:
    # Nothing listens on the port: reaching for the network would be a PdsUnreachable instead.
    nowhere = f"http://127.0.0.1:{free_port()}"
    async with httpx.AsyncClient() as http:
        with pytest.raises(BlueskyError) as refused:
            await BlueskyClient(http, nowhere, nowhere).create_session(identifier, "app-password")
    assert refused.value.status == 400 and not isinstance(refused.value, PdsUnreachable)


@pytest.mark.parametrize("identifier", ["alice.bsky.social", "@alice.bsky.social", "did:plc:abc123", "did:web:"])
async def test_handles_and_dids_go_on_to_resolution(identifier: str) -> None:
    port = free_port()
    nowhere = f"http://127.0.0.1:{port}"
    if identifier == "did:web:":
        identifier += f"127.0.0.1%3A{port}"  # did:web on loopback, so no name is looked up
    async with httpx.AsyncClient() as http:
        with pytest.raises(PdsUnreachable):
            await BlueskyClient(http, nowhere, nowhere).create_session(identifier, "app-password")
