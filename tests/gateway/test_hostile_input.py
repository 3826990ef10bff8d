"""Every route of every tenant, sent hostile input, answers 4xx JSON in the shared shape, never 5xx."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tenants.feed.xrpc.registry import METHODS
from tests.support.sweep import report, sweep, tokens

# XRPC methods are one route; each method, one we don't serve and a NUL are swept by name.
XRPC = [f"/feed/xrpc/{nsid}" for nsid in METHODS] + ["/feed/xrpc/com.example.nothing", "/feed/xrpc/%00"]


async def test_every_route_answers_hostile_input_with_a_shaped_4xx(app: Starlette, client: httpx.AsyncClient) -> None:
    failures = await sweep(app, client, XRPC)
    assert not failures, report(failures)


@pytest.mark.parametrize(("tenant", "path"), [("wishlist", "/wishlist/api/wishlists"), ("astro", "/astro/api/profile")])
async def test_the_sweeps_own_token_gets_past_authentication(
    app: Starlette, client: httpx.AsyncClient, tenant: str, path: str
) -> None:
    # These tenants refuse a token whose account is gone; a ghost's token would stop every body at 401.
    own = (await tokens(app, client))[tenant]["own"]
    response = await client.get(path, headers={"Authorization": f"Bearer {own}"})
    assert response.status_code == 200, response.text
