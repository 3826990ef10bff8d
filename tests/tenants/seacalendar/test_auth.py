"""Discord sign-in through the gateway, end to end against the fake; refresh, logout, local password."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx

from shared.tenant import TenantContext
from tests.fakes.discord import FakeDiscord
from tests.support.refresh import AGE_SPENT
from tests.tenants.seacalendar.conftest import API, SignIn, assert_error, discord_dance


async def test_dance_creates_then_updates_the_account(
    sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, url = fake_discord
    fake.user = {"id": "41771983423143937", "username": "ada", "global_name": "Ada"}
    start = await sea.get(f"{API}/auth/discord", params={"response": "json"})
    assert start.status_code == 302
    location = urlsplit(start.headers["location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{url}/api/oauth2/authorize"
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["identify"] and query["state"]
    cookie = start.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=600" in cookie

    first = await discord_dance(sea)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["user"]["discord_id"] == "41771983423143937" and body["user"]["display_name"] == "Ada"
    me = await sea.get(f"{API}/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == body["user"]["id"]

    fake.user = {"id": "41771983423143937", "username": "ada", "global_name": "Ada L."}
    again = (await discord_dance(sea)).json()
    assert again["user"]["id"] == body["user"]["id"] and again["user"]["display_name"] == "Ada L."


async def test_redirect_mode_hands_tokens_to_the_ui_in_the_fragment(
    sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]
) -> None:
    fake, _ = fake_discord
    fake.user = {"id": "41771983423140001", "username": "bo", "global_name": None}
    answer = await discord_dance(sea, response="redirect")
    assert answer.status_code == 303
    path, _, fragment = answer.headers["location"].partition("#")
    assert path == "/seacalendar/"
    tokens = parse_qs(fragment)
    me = await sea.get(f"{API}/users/me", headers={"Authorization": f"Bearer {tokens['access_token'][0]}"})
    assert me.json()["display_name"] == "bo"
    # The dance cookie is cleared once used.
    assert 'onebox_oauth_seacalendar=""' in answer.headers["set-cookie"]


async def test_wrong_state_is_refused(sea: httpx.AsyncClient) -> None:
    start = await sea.get(f"{API}/auth/discord")
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(start.headers["location"])
    target = urlsplit(consent.headers["location"])
    code = parse_qs(target.query)["code"][0]
    answer = await sea.get(f"{API}/auth/callback", params={"code": code, "state": "forged"})
    assert_error(answer, 400, "invalid_state")


async def test_callback_without_the_dance_cookie_is_refused(sea: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=str(sea.base_url)) as stranger:
        answer = await stranger.get(f"{API}/auth/callback", params={"code": "x", "state": "y"})
    assert_error(answer, 400, "invalid_state")


async def test_replayed_state_is_refused(sea: httpx.AsyncClient) -> None:
    start = await sea.get(f"{API}/auth/discord", params={"response": "json"})
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(start.headers["location"])
    callback = consent.headers["location"]
    cookie = sea.cookies.get("onebox_oauth_seacalendar")
    assert (await sea.get(callback)).status_code == 200
    sea.cookies.set("onebox_oauth_seacalendar", cookie or "")  # an attacker replays cookie and URL
    assert_error(await sea.get(callback), 400, "state_reused")


async def test_missing_code_is_refused(sea: httpx.AsyncClient) -> None:
    start = await sea.get(f"{API}/auth/discord")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    assert_error(await sea.get(f"{API}/auth/callback", params={"state": state}), 400, "missing_code")


async def test_user_denying_consent(sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]) -> None:
    fake, _ = fake_discord
    fake.deny = True
    try:
        assert_error(await discord_dance(sea), 400, "discord_denied")
    finally:
        fake.deny = False


async def test_discord_answering_an_error(sea: httpx.AsyncClient, fake_discord: tuple[FakeDiscord, str]) -> None:
    fake, _ = fake_discord
    fake.token_failure = "invalid_grant"
    try:
        assert_error(await discord_dance(sea), 400, "discord_error")
        fake.token_failure = "server_error"
        assert_error(await discord_dance(sea), 502, "discord_unavailable")
    finally:
        fake.token_failure = None


async def test_refresh_rotates_and_logout_revokes(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    member = await sign_in("Cy")
    rotated = await sea.post(f"{API}/auth/refresh", json={"refresh_token": member.refresh})
    assert rotated.status_code == 200 and rotated.json()["user"]["id"] == member.id
    async with sea_ctx.db.transaction() as conn:
        await conn.exec_driver_sql(AGE_SPENT)
    assert_error(
        await sea.post(f"{API}/auth/refresh", json={"refresh_token": member.refresh}), 401, "refresh_token_reused"
    )
    fresh = await sign_in("Cy2")
    assert (await sea.post(f"{API}/auth/logout", json={"refresh_token": fresh.refresh})).status_code == 204
    assert_error(
        await sea.post(f"{API}/auth/refresh", json={"refresh_token": fresh.refresh}), 401, "refresh_token_reused"
    )


async def test_local_username_and_password(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    member = await sign_in("Dee")
    username = f"dee{member.id}"
    body = {"username": username, "password": "long-enough-pw", "display_name": "Dee D"}
    updated = await sea.put(f"{API}/users/me", json=body, headers=member.auth)
    assert updated.status_code == 200 and updated.json()["username"] == username
    login = await sea.post(f"{API}/auth/login", json={"username": username.upper(), "password": "long-enough-pw"})
    assert login.status_code == 200 and login.json()["user"]["id"] == member.id
    wrong = await sea.post(f"{API}/auth/login", json={"username": username, "password": "nope"})
    assert_error(wrong, 401, "invalid_credentials")
    other = await sign_in("Eve")
    taken = await sea.put(
        f"{API}/users/me", json={"username": username, "password": "another-pw-1"}, headers=other.auth
    )
    assert_error(taken, 409, "username_taken")


def sea_token(user_id: int, **claims: object) -> dict[str, str]:
    """Authorization for an access token of SeaCalendar's, with chosen claims."""
    from gateway.context import signing_key
    from shared.auth.tokens import TokenService
    from tests.conftest import SECRET

    token = TokenService(signing_key(SECRET, "seacalendar"), "seacalendar").issue_access(str(user_id), **claims)
    return {"Authorization": f"Bearer {token}"}


async def test_credentials_change_needs_a_recent_sign_in_or_the_current_password(
    sea: httpx.AsyncClient, sign_in: SignIn
) -> None:
    member = await sign_in("Fay")
    refreshed = await sea.post(f"{API}/auth/refresh", json={"refresh_token": member.refresh})
    stale = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    first = {"username": f"fay{member.id}", "password": "first-password-1"}
    # A refreshed token is not a sign-in: it may rename, not set credentials.
    assert_error(await sea.put(f"{API}/users/me", json=first, headers=stale), 403, "reauth_required")
    assert (await sea.put(f"{API}/users/me", json={"display_name": "Fay F"}, headers=stale)).status_code == 200
    old_sign_in = sea_token(member.id, auth_time=int(time.time()) - 11 * 60)
    assert_error(await sea.put(f"{API}/users/me", json=first, headers=old_sign_in), 403, "reauth_required")
    no_password_yet = {**first, "current_password": "guess-guess"}
    assert_error(await sea.put(f"{API}/users/me", json=no_password_yet, headers=stale), 401, "invalid_credentials")

    assert (await sea.put(f"{API}/users/me", json=first, headers=member.auth)).status_code == 200
    second = {"username": f"fay{member.id}", "password": "second-password-2"}
    wrong = {**second, "current_password": "first-password-X"}
    assert_error(await sea.put(f"{API}/users/me", json=wrong, headers=stale), 401, "invalid_credentials")
    right = {**second, "current_password": "first-password-1"}
    assert (await sea.put(f"{API}/users/me", json=right, headers=stale)).status_code == 200
    login = await sea.post(f"{API}/auth/login", json={"username": f"fay{member.id}", "password": "second-password-2"})
    assert login.status_code == 200
    # The password sign-in is a sign-in too.
    again = {"Authorization": f"Bearer {login.json()['access_token']}"}
    third = {"username": f"fay{member.id}", "password": "third-password-3"}
    assert (await sea.put(f"{API}/users/me", json=third, headers=again)).status_code == 200


async def test_another_tenants_token_is_refused(sea: httpx.AsyncClient) -> None:
    from gateway.context import signing_key
    from shared.auth.tokens import TokenService
    from tests.conftest import SECRET

    foreign = TokenService(signing_key(SECRET, "wishlist"), "wishlist").issue_access("1")
    answer = await sea.get(f"{API}/users/me", headers={"Authorization": f"Bearer {foreign}"})
    assert_error(answer, 401, "unauthorized")
