"""Mastodon linkage end to end: gateway ↔ fake instance over real HTTP, real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gateway.app import create_app
from shared.settings import Settings
from shared.tenant import TenantContext
from tests.fakes.mastodon import FakeMastodon
from tests.support.refresh import AGE_SPENT
from tests.support.server import serve
from tests.tenants.astro.conftest import SignIn, follow_sign_in


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_sign_in_links_account_and_issues_tokens(
    astro: httpx.AsyncClient, fake_mastodon: tuple[FakeMastodon, Any]
) -> None:
    fake, _ = fake_mastodon
    fake.account = {**fake.account, "id": "424242", "username": "stella", "acct": "stella"}
    fake.account["display_name"] = "Stella Maris"
    done = await follow_sign_in(astro, fake)
    assert done.status_code == 303
    location = urlsplit(done.headers["location"])
    assert location.path == "/astro/" and not location.query
    tokens = {k: v[0] for k, v in parse_qs(location.fragment).items()}
    me = await astro.get("/astro/api/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["mastodon"] == {
        "instance": "fake.test",
        "account_id": "424242",
        "acct": "stella@fake.test",
        "display_name": "Stella Maris",
        "avatar": fake.account["avatar"],
    }
    assert me.json()["birth"] is None and me.json()["chart"] is None
    # onebox keeps no Mastodon token: the one it used is revoked at once.
    assert fake.revoked and fake.revoked[-1] not in fake.tokens

    # Signing in again updates the same member (new display name), never a second one.
    fake.account["display_name"] = "Stella M."
    again = await follow_sign_in(astro, fake)
    token = parse_qs(urlsplit(again.headers["location"]).fragment)["access_token"][0]
    second = (await astro.get("/astro/api/profile", headers={"Authorization": f"Bearer {token}"})).json()
    assert second["id"] == me.json()["id"]
    assert second["mastodon"]["display_name"] == "Stella M."


async def test_app_registration_is_cached_per_instance(
    astro: httpx.AsyncClient, fake_mastodon: tuple[FakeMastodon, Any]
) -> None:
    fake, _ = fake_mastodon
    await follow_sign_in(astro, fake)
    registered = len(fake.apps)
    await follow_sign_in(astro, fake)
    await follow_sign_in(astro, fake)
    assert len(fake.apps) == registered


async def test_start_answers_json_when_asked(astro: httpx.AsyncClient) -> None:
    response = await astro.get(
        "/astro/api/auth/mastodon", params={"instance": "FAKE.test."}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    url = urlsplit(response.json()["authorize_url"])
    query = parse_qs(url.query)
    assert url.path == "/oauth/authorize"
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"][0].endswith("/astro/api/auth/mastodon/callback")
    assert len(query["state"][0]) >= 32


async def test_callback_refuses_unknown_missing_and_reused_state(astro: httpx.AsyncClient) -> None:
    bad = await astro.get("/astro/api/auth/mastodon/callback", params={"code": "x", "state": "forged"})
    assert bad.status_code == 400 and error_code(bad) == "invalid_state"
    missing = await astro.get("/astro/api/auth/mastodon/callback", params={"code": "x"})
    assert missing.status_code == 400 and error_code(missing) == "invalid_state"

    start = await astro.get("/astro/api/auth/mastodon", params={"instance": "fake.test"})
    async with httpx.AsyncClient() as browser:
        callback = (await browser.get(start.headers["location"])).headers["location"]
    assert (await astro.get(callback)).status_code == 303
    replay = await astro.get(callback)
    assert replay.status_code == 400 and error_code(replay) == "invalid_state"


async def test_callback_with_a_code_the_instance_rejects(astro: httpx.AsyncClient) -> None:
    start = await astro.get("/astro/api/auth/mastodon", params={"instance": "fake.test"})
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    response = await astro.get("/astro/api/auth/mastodon/callback", params={"code": "made-up", "state": state})
    assert response.status_code == 400 and error_code(response) == "invalid_grant"


async def test_denied_authorization(astro: httpx.AsyncClient, fake_mastodon: tuple[FakeMastodon, Any]) -> None:
    fake, _ = fake_mastodon
    fake.deny = True
    try:
        response = await follow_sign_in(astro, fake)
    finally:
        fake.deny = False
    assert response.status_code == 403 and error_code(response) == "authorization_denied"


@pytest.mark.parametrize(
    ("instance", "status", "code"),
    [
        ("no-such-instance.invalid", 400, "unknown_instance"),
        ("localhost", 403, "instance_forbidden"),
        ("127.0.0.1", 403, "instance_forbidden"),
        ("10.1.2.3", 403, "instance_forbidden"),
        ("169.254.169.254", 403, "instance_forbidden"),
        ("2130706433", 403, "instance_forbidden"),
        ("http://fake.test/", 400, "invalid_instance"),
        ("fake.test:8080", 400, "invalid_instance"),
        ("user@fake.test", 400, "invalid_instance"),
        ("[::1]", 400, "invalid_instance"),
        ("down.test", 502, "instance_unreachable"),
        ("html.test", 502, "not_mastodon"),
        ("refusing.test", 502, "instance_refused"),
    ],
)
async def test_bad_instances(astro: httpx.AsyncClient, instance: str, status: int, code: str) -> None:
    response = await astro.get("/astro/api/auth/mastodon", params={"instance": instance})
    assert response.status_code == status, response.text
    assert error_code(response) == code


async def test_start_without_instance(astro: httpx.AsyncClient) -> None:
    response = await astro.get("/astro/api/auth/mastodon")
    assert response.status_code == 422 and error_code(response) == "validation_error"


async def test_refresh_rotates_and_logout_revokes(
    astro: httpx.AsyncClient, sign_in: SignIn, tenant_ctx: Callable[[str], TenantContext]
) -> None:
    member = await sign_in("rotor")
    rotated = await astro.post("/astro/api/auth/refresh", json={"refresh_token": member["refresh_token"]})
    assert rotated.status_code == 200 and rotated.json()["member_id"] == member["id"]
    async with tenant_ctx("astro").db.transaction() as conn:
        await conn.exec_driver_sql(AGE_SPENT)
    replay = await astro.post("/astro/api/auth/refresh", json={"refresh_token": member["refresh_token"]})
    assert replay.status_code == 401 and error_code(replay) == "refresh_token_reused"

    fresh = await sign_in("rotor2")
    logout = await astro.post("/astro/api/auth/logout", json={"refresh_token": fresh["refresh_token"]})
    assert logout.status_code == 204
    after = await astro.post("/astro/api/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert after.status_code == 401 and error_code(after) == "refresh_token_reused"


async def test_refresh_and_logout_bad_bodies(astro: httpx.AsyncClient) -> None:
    for path in ("/astro/api/auth/refresh", "/astro/api/auth/logout"):
        malformed = await astro.post(path, content=b"{nope", headers={"Content-Type": "application/json"})
        assert malformed.status_code == 400 and error_code(malformed) == "malformed_json"
        wrong = await astro.post(path, json={"refresh_token": 7})
        assert wrong.status_code == 422 and error_code(wrong) == "validation_error"
    unknown = await astro.post("/astro/api/auth/refresh", json={"refresh_token": "never-issued"})
    assert unknown.status_code == 401 and error_code(unknown) == "invalid_refresh_token"


async def test_instance_data_is_bounded_and_avatars_must_be_web_images(
    astro: httpx.AsyncClient, fake_mastodon: tuple[FakeMastodon, Any]
) -> None:
    fake, _ = fake_mastodon
    fake.account = {**fake.account, "id": "777", "avatar": "javascript:alert(1)", "display_name": "x" * 5000}
    done = await follow_sign_in(astro, fake)
    token = parse_qs(urlsplit(done.headers["location"]).fragment)["access_token"][0]
    me = (await astro.get("/astro/api/profile", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["mastodon"]["avatar"] is None
    assert len(me["mastodon"]["display_name"]) == 200


async def test_a_forged_host_never_becomes_the_redirect_uri(
    astro: httpx.AsyncClient, fake_mastodon: tuple[FakeMastodon, str], make_settings: Callable[..., Settings]
) -> None:
    fake, url = fake_mastodon
    apps = len(fake.apps)
    # The victim's code would go to evil.example, which replays it here: refused before any app exists.
    forged = await astro.get(
        "/astro/api/auth/mastodon", params={"instance": "fake.test"}, headers={"Host": "evil.example"}
    )
    assert forged.status_code == 503 and error_code(forged) == "astro_not_configured", forged.text
    assert forged.headers["retry-after"] and len(fake.apps) == apps
    # With the public URL set, the Host header doesn't matter.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ONEBOX_ASTRO_MASTODON_INSTANCES", json.dumps({"fake.test": url}))
        patch.setenv("ONEBOX_ASTRO_PUBLIC_URL", "https://box.example")
        app = create_app(make_settings(tenants=["astro"]))
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as http:
        start = await http.get(
            "/astro/api/auth/mastodon", params={"instance": "fake.test"}, headers={"Host": "evil.example"}
        )
    assert start.status_code == 302, start.text
    redirect = parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"][0]
    assert redirect == "https://box.example/astro/api/auth/mastodon/callback"


async def test_an_instance_cannot_present_its_user_as_another_instances(
    astro: httpx.AsyncClient, fake_mastodon: tuple[FakeMastodon, Any]
) -> None:
    fake, _ = fake_mastodon
    fake.account = {**fake.account, "id": "515151", "username": "gargron", "acct": "Gargron@mastodon.social"}
    done = await follow_sign_in(astro, fake)
    tokens = {k: v[0] for k, v in parse_qs(urlsplit(done.headers["location"]).fragment).items()}
    me = await astro.get("/astro/api/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["mastodon"]["acct"] == "gargron@fake.test"


async def test_a_callback_started_in_another_browser_is_refused(
    astro: httpx.AsyncClient, fake_mastodon: tuple[FakeMastodon, Any]
) -> None:
    fake, _ = fake_mastodon
    fake.account = {**fake.account, "id": "616161", "username": "mallory", "acct": "mallory"}
    # Mallory starts and approves a sign-in with her own account, and keeps the callback URL...
    start = await astro.get("/astro/api/auth/mastodon", params={"instance": "fake.test"})
    async with httpx.AsyncClient(timeout=15) as browser:
        callback = (await browser.get(start.headers["location"])).headers["location"]
    # ...which the victim's browser (no cookie from that start) opens: nobody is signed in.
    async with httpx.AsyncClient(base_url=str(astro.base_url)) as victim:
        answer = await victim.get(callback)
        assert answer.status_code == 400 and error_code(answer) == "invalid_state", answer.text
        assert (await victim.get(callback + "%C3%A9")).status_code == 400  # non-ASCII state: 400, not 500
    # Mallory's own browser still completes it.
    assert (await astro.get(callback)).status_code == 303


async def test_deleting_the_account_forgets_the_member_and_every_sign_in(
    astro: httpx.AsyncClient,
    sign_in: SignIn,
    fake_mastodon: tuple[FakeMastodon, Any],
    tenant_ctx: Callable[[str], TenantContext],
) -> None:
    fake, _ = fake_mastodon
    me, friend = await sign_in("leaver"), await sign_in("friend")
    body = {"birth_date": "1990-05-01", "birth_time": "08:00", "birth_place": {"city": "Kochi", "country": "IN"}}
    for who in (me, friend):
        saved = await astro.put("/astro/api/profile", json={**body, "visibility": "members"}, headers=who["headers"])
        assert saved.status_code == 200, saved.text
    second = await astro.post("/astro/api/auth/refresh", json={"refresh_token": me["refresh_token"]})
    # Bad input first: no token, another tenant's token for the same id, a wrong method.
    assert (await astro.delete("/astro/api/account")).status_code == 401
    foreign = tenant_ctx("wishlist").tokens.issue_access(me["id"])
    refused = await astro.delete("/astro/api/account", headers={"Authorization": f"Bearer {foreign}"})
    assert refused.status_code == 401 and error_code(refused) == "unauthorized"
    wrong = await astro.post("/astro/api/account", headers=me["headers"])
    assert wrong.status_code == 405 and "error" in wrong.json()

    assert (await astro.delete("/astro/api/account", headers=me["headers"])).status_code == 204
    # The access token still within its 15 minutes is refused, and so is every refresh token.
    for path in ("/astro/api/profile", "/astro/api/matches"):
        gone = await astro.get(path, headers=me["headers"])
        assert gone.status_code == 401 and error_code(gone) == "unauthorized", gone.text
    assert (await astro.delete("/astro/api/account", headers=me["headers"])).status_code == 401
    for token in (me["refresh_token"], second.json()["refresh_token"]):
        spent = await astro.post("/astro/api/auth/refresh", json={"refresh_token": token})
        assert spent.status_code == 401 and error_code(spent) == "invalid_refresh_token"
    # Nobody finds the member any more.
    assert (await astro.get(f"/astro/api/members/{me['id']}", headers=friend["headers"])).status_code == 404
    matches = (await astro.get("/astro/api/matches", headers=friend["headers"])).json()["matches"]
    assert me["id"] not in {m["member"]["id"] for m in matches}
    # Linking the same Mastodon account again starts a new, empty member.
    fake.account = {**fake.account, "id": me["account_id"], "username": "leaver", "acct": "leaver"}
    again = await follow_sign_in(astro, fake)
    fragment = {k: v[0] for k, v in parse_qs(urlsplit(again.headers["location"]).fragment).items()}
    fresh = await astro.get("/astro/api/profile", headers={"Authorization": f"Bearer {fragment['access_token']}"})
    assert fresh.status_code == 200 and fresh.json()["id"] != me["id"] and fresh.json()["birth"] is None
