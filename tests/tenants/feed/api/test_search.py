"""Search over many posts: a common word ranks the newest matches; a search that runs too long is cancelled."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tenants.feed.views import search
from tests.fakes.firehose import Firehose
from tests.tenants.feed.api.fixtures import MemberFactory, index


async def test_a_common_word_ranks_the_newest_matches(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    bob = await member("bob")
    # The best match is the oldest post: ranking every match would put it first.
    oldest = hose.post(bob.did, "tomato tomato tomato soup")
    newer = [hose.post(bob.did, f"tomato number {n}") for n in range(search.CANDIDATES + 100)]
    await index(feed_db, [oldest, *newer])
    found: list[str] = []
    cursor = None
    while True:
        page = (
            await http.get(
                "/api/search", params={"q": "tomato", "limit": 100, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        found += [post["record"]["text"] for post in page["posts"]]
        if not (cursor := page.get("cursor")):
            break
    assert len(found) == len(set(found)) == search.CANDIDATES
    assert set(found) == {event["commit"]["record"]["text"] for event in newer[-search.CANDIDATES :]}
    # A rare word is found however old its posts are.
    assert [p["record"]["text"] for p in (await http.get("/api/search", params={"q": "soup"})).json()["posts"]] == [
        "tomato tomato tomato soup"
    ]


async def test_a_search_that_runs_too_long_is_cancelled(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    bob = await member("bob")
    await index(feed_db, [hose.post(bob.did, f"tomato number {n}") for n in range(search.CANDIDATES)])
    monkeypatch.setattr(search, "TIMEOUT", "1ms")
    rest = await http.get("/api/search", params={"q": "tomato"})
    assert rest.status_code == 503 and rest.json()["error"]["code"] == "search_timeout", rest.text
    assert rest.headers["retry-after"] == "5"
    xrpc = await http.get("/xrpc/app.bsky.feed.searchPosts", params={"q": "tomato"})
    assert xrpc.status_code == 503 and set(xrpc.json()) == {"error", "message"}, xrpc.text
    monkeypatch.undo()
    # The connection went back to the pool clean: the next search runs with the normal limits.
    assert len((await http.get("/api/search", params={"q": "tomato"})).json()["posts"]) == 25
