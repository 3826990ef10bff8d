"""Wishlist migrations that change stored data, run on data the previous revision could hold."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from gateway import registry
from shared.db import migrate
from shared.db.urls import tenant_url
from shared.settings import Settings
from tests.tenants.wishlist.conftest import API, User, create_wishlist


async def test_0004_writes_stored_prices_to_their_currency_places(
    client: httpx.AsyncClient, alice: User, settings: Settings, tenant_ctx: Callable[[str], Any]
) -> None:
    wishlist = await create_wishlist(client, alice)
    migrations = registry.load("wishlist").migrations
    url = tenant_url(settings.database_url or "", settings.db_prefix, "wishlist", settings.require_secret())
    await asyncio.to_thread(migrate.downgrade, migrations, url, "0003")
    try:
        async with tenant_ctx("wishlist").db.transaction() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO items (wishlist_id, name, price, currency) VALUES "
                    "(:w, 'yen', 1500, 'JPY'), (:w, 'odd yen', 12.5, 'JPY'), (:w, 'dinar', 1.25, 'KWD'), "
                    "(:w, 'euro', 7.5, 'EUR'), (:w, 'free', NULL, NULL)"
                ),
                {"w": wishlist["id"]},
            )
    finally:
        await asyncio.to_thread(migrate.upgrade, migrations, url)
    listed = (await client.get(f"{API}/wishlists/{wishlist['id']}", headers=alice.auth)).json()["items"]
    # A fraction of a yen someone stored before is kept as written, not rounded away.
    assert {i["name"]: i["price"] for i in listed} == {
        "yen": "1500",
        "odd yen": "12.50",
        "dinar": "1.250",
        "euro": "7.50",
        "free": None,
    }
