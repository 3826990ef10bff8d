"""Input at the edges for Wishlist: the tag limit under concurrency, huge path ids, bad Range headers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.tenants.wishlist.conftest import API, User, create_tag


async def test_the_tag_limit_holds_when_tags_are_created_at_once(client: httpx.AsyncClient, alice: User) -> None:
    for i in range(95):
        await create_tag(client, alice, f"t{i}")
    answers = await asyncio.gather(
        *[client.post(f"{API}/tags", json={"name": f"r{i}"}, headers=alice.auth) for i in range(15)]
    )
    assert sorted({a.status_code for a in answers}) == [201, 409]
    tags = (await client.get(f"{API}/tags", headers=alice.auth)).json()["tags"]
    assert len(tags) == 100


@pytest.mark.parametrize("path", ["items/{n}", "wishlists/{n}", "tags/{n}", "wishlists/{n}/items"])
async def test_an_id_of_5000_digits_is_a_404(client: httpx.AsyncClient, alice: User, path: str) -> None:
    # Starlette's int convertor raised past 4,300 digits, before path_id() could say 404.
    answer = await client.get(f"{API}/{path.replace('{n}', '9' * 5000)}", headers=alice.auth)
    assert answer.status_code == 404, answer.text[:200]
    assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("header", ["bytes=99999999-", "bytes=5-2"])
async def test_a_bad_range_on_the_web_ui_is_answered_in_the_error_shape(client: httpx.AsyncClient, header: str) -> None:
    # FileResponse answers 416 / 400 itself, in plain text.
    answer = await client.get("/wishlist/style.css", headers={"Range": header})
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("application/json"), (answer.status_code, answer.text)
    assert answer.json()["error"]["code"] in ("bad_range", "range_not_satisfiable")
    if answer.status_code == 416:
        assert answer.headers["content-range"].startswith("bytes */")


async def test_a_good_range_on_the_web_ui_is_served(client: httpx.AsyncClient) -> None:
    answer = await client.get("/wishlist/style.css", headers={"Range": "bytes=0-9"})
    assert answer.status_code == 206 and len(answer.content) == 10
