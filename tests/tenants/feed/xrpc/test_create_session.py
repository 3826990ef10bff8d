"""``com.atproto.server.createSession`` as the lexicon declares it: ``authFactorToken`` reaches the
PDS, and the PDS's ``AuthFactorTokenRequired`` and ``AccountTakedown`` refusals keep their names
(a client asks for the emailed code on the first; the REST login carries the name in details).
"""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from atproto import AsyncClient
from atproto_client.exceptions import UnauthorizedError

from tests.tenants.feed.api.fixtures import FeedServer

CREATE = "/xrpc/com.atproto.server.createSession"


async def test_two_factor_sign_in_asks_for_the_code_and_takes_it(
    feed_server: FeedServer, http: httpx.AsyncClient, feed_db: asyncpg.Connection
) -> None:
    feed_server.pds.account("did:plc:twofactor", "twofactor.test", "main-pass")
    feed_server.pds.auth_factors["did:plc:twofactor"] = "ABCDE-12345"
    asked = await http.post(CREATE, json={"identifier": "twofactor.test", "password": "main-pass"})
    assert asked.status_code == 401 and asked.json()["error"] == "AuthFactorTokenRequired", asked.text
    assert await feed_db.fetchval("SELECT count(*) FROM members") == 0

    client = AsyncClient(base_url=f"{feed_server.url}/feed/xrpc")
    with pytest.raises(UnauthorizedError) as refused:
        await client.login("twofactor.test", "main-pass", auth_factor_token="WRONG-00000")
    assert refused.value.response is not None
    assert refused.value.response.content.error == "AuthFactorTokenRequired"
    profile = await client.login("twofactor.test", "main-pass", auth_factor_token="ABCDE-12345")
    assert profile is not None and profile.did == "did:plc:twofactor"

    rest = await http.post("/api/auth/login", json={"identifier": "twofactor.test", "password": "main-pass"})
    assert rest.status_code == 401
    assert rest.json()["error"]["details"] == {"error": "AuthFactorTokenRequired"}


async def test_a_taken_down_account_is_refused_as_account_takedown(
    feed_server: FeedServer, http: httpx.AsyncClient
) -> None:
    feed_server.pds.account("did:plc:gone", "gone.test", "pw")
    feed_server.pds.statuses["did:plc:gone"] = "takendown"
    answer = await http.post(CREATE, json={"identifier": "gone.test", "password": "pw"})
    assert answer.status_code == 401, answer.text
    assert answer.json() == {"error": "AccountTakedown", "message": "Account has been taken down"}
    wrong = await http.post(CREATE, json={"identifier": "gone.test", "password": "nope"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "AuthenticationRequired")
    bad = await http.post(CREATE, json={"identifier": "gone.test", "password": "pw", "authFactorToken": 5})
    assert (bad.status_code, bad.json()["error"]) == (400, "InvalidRequest")
