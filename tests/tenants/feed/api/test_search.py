"""Search over many posts: a common word ranks the newest matches; a search that runs too long is cancelled."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tenants.feed.views import search
from tests.fakes.firehose import Firehose
from tests.tenants.feed.api.fixtures import MemberFactory, index, name_accounts


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


def dated(event: dict[str, Any], when: str, **record: Any) -> dict[str, Any]:
    """``event`` with its post written at ``when`` and ``record`` fields added."""
    event["commit"]["record"].update(createdAt=when, **record)
    return event


LINK = "app.bsky.richtext.facet#link"


async def test_search_filters_as_parameters_and_in_the_query(
    http: httpx.AsyncClient, member: MemberFactory, feed_db: asyncpg.Connection, hose: Firehose
) -> None:
    bob, carol = await member("bob"), await member("carol")
    link = {
        "index": {"byteStart": 0, "byteEnd": 1},
        "features": [{"$type": LINK, "uri": "https://www.Garden.example/beds"}],
    }
    external = {
        "$type": "app.bsky.embed.external",
        "external": {"uri": "https://seeds.example/x", "title": "t", "description": "d"},
    }
    events = [
        dated(hose.post(bob.did, "tomato january", tags=("garden",)), "2026-01-05T12:00:00Z"),
        dated(hose.post(bob.did, "tomato march", mentions=(carol.did,)), "2026-03-05T12:00:00Z", langs=["pt-BR"]),
        dated(hose.post(carol.did, "tomato june"), "2026-06-05T12:00:00Z", facets=[link]),
        dated(hose.post(carol.did, "tomato july"), "2026-07-05T12:00:00Z", embed=external),
    ]
    await index(feed_db, events)

    async def rest(q: str, **params: str) -> list[str]:
        answer = await http.get("/api/search", params={"q": q, **params}, headers=carol.auth)
        assert answer.status_code == 200, answer.text
        return [post["record"]["text"] for post in answer.json()["posts"]]

    async def xrpc(q: str, **params: Any) -> list[str]:
        answer = await http.get("/xrpc/app.bsky.feed.searchPosts", params={"q": q, **params})
        assert answer.status_code == 200, answer.text
        return [post["record"]["text"] for post in answer.json()["posts"]]

    assert await xrpc("tomato") == ["tomato july", "tomato june", "tomato march", "tomato january"]  # latest first
    assert await rest("tomato from:bob.test") == await xrpc("tomato", author="bob.test") == [
        "tomato march", "tomato january"
    ]  # fmt: skip
    assert await rest("from:me") == ["tomato july", "tomato june"]  # only filters: the newest first
    assert await xrpc("tomato", author="nobody.test") == [] and await rest("from:@nobody.test") == []
    assert await rest(f"mentions:{carol.did}") == await xrpc("tomato", mentions="carol.test") == ["tomato march"]
    assert await rest("tomato lang:pt") == await xrpc("tomato", lang="pt-br") == ["tomato march"]
    assert await rest("tomato since:2026-03-05 until:2026-06-05T12:00:00Z") == ["tomato march"]
    assert await xrpc("tomato", since="2026-06-01", until="2026-07-01") == ["tomato june"]
    assert await rest("#Garden tomato") == await xrpc("tomato", tag=["garden"]) == ["tomato january"]
    assert await xrpc("tomato", tag=["garden", "other"]) == []
    assert await rest("domain:garden.example") == ["tomato june"]  # www. and case don't matter
    assert await xrpc("radish", domain="garden.example") == []
    assert await xrpc("tomato", domain="garden.example") == ["tomato june"]
    assert await xrpc("tomato", url="https://seeds.example/x") == ["tomato july"]
    assert await rest("tomato domain:seeds.example") == ["tomato july"]
    # A domain takes in its subdomains, on label boundaries only.
    assert await rest("domain:example") == ["tomato july", "tomato june"] and await rest("domain:den.example") == []
    assert await xrpc("tomato", url="https://seeds.example/y") == []
    # An operator we don't know stays a word.
    assert await rest("color:red") == []


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"q": "since:yesterday"}, "since"),
        ({"q": "x", "until": "2026-13-01"}, "until"),
        ({"q": "lang:english!"}, "lang"),
        ({"q": "domain:not_a_host"}, "domain"),
        ({"q": "x", "tag": [f"t{n}" for n in range(11)]}, "tag"),
        ({"q": "from:me"}, "author"),
        ({"q": "x", "sort": "x" * 101}, "sort"),  # an unknown sort is the default; an oversized one is refused
    ],
)
async def test_bad_search_filters(
    http: httpx.AsyncClient, feed_db: asyncpg.Connection, params: dict[str, Any], parameter: str
) -> None:
    rest = await http.get("/api/search", params=params)
    xrpc = await http.get("/xrpc/app.bsky.feed.searchPosts", params=params)
    if parameter != "sort":
        assert rest.status_code == 400 and rest.json()["error"]["details"]["parameter"] == parameter, rest.text
    assert xrpc.status_code == 400 and xrpc.json()["error"] == "InvalidRequest", xrpc.text
    assert parameter in xrpc.json()["message"]


async def test_a_handle_typed_with_its_at_sign_finds_the_account_first(
    http: httpx.AsyncClient, feed_db: asyncpg.Connection
) -> None:
    # People type handles as Bluesky shows them, "@bob.test": the exact handle still ranks first.
    await name_accounts(feed_db, {"did:plc:zbob": "bob.test", "did:plc:abob": "bob.test.example"})
    await feed_db.execute("UPDATE profiles SET followers_count = 50 WHERE did = 'did:plc:abob'")
    for path in ("/api/search?type=users&q=", "/xrpc/app.bsky.actor.searchActors?q="):
        for q in ("bob.test", "@bob.test", "@BOB.test"):
            response = await http.get(path + q.replace("@", "%40"))
            assert response.status_code == 200, response.text
            found = [actor["did"] for actor in response.json()["users" if "api" in path else "actors"]]
            assert found[:1] == ["did:plc:zbob"], (path, q, found)
