"""Forgotten passwords: the mailed link (through a fake SMTP server), its single use, its limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from shared.tenant import TenantContext
from tenants.wishlist.reset_tokens import token_hash
from tests.fakes.smtp import FakeSmtp
from tests.support.sweep import unconfigured
from tests.support.waiting import wait_for
from tests.tenants.wishlist.conftest import (
    API,
    PASSWORD,
    SENDER,
    MakeUser,
    User,
    assert_error,
    mailed,
    token_of,
    unique_email,
)

RESET = f"{API}/auth/password-reset"
CONFIRM = f"{RESET}/confirm"
NEW_PASSWORD = "Battery-Staple-42"


@pytest.fixture
async def http(mail_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway that mails."""
    async with httpx.AsyncClient(base_url=mail_url, timeout=15) as client:
        yield client


@pytest.fixture
def fake(smtp: FakeSmtp) -> Iterator[FakeSmtp]:
    """The fake SMTP server, back to accepting mail after the test."""
    yield smtp
    smtp.refuse = False
    smtp.hold = None


@pytest.fixture
def ctx(mail_app: Starlette) -> TenantContext:
    value: TenantContext = mail_app.state.contexts["wishlist"]
    return value


async def ask(http: httpx.AsyncClient, email: str) -> httpx.Response:
    response = await http.post(RESET, json={"email": email})
    assert response.status_code == 202, response.text
    return response


async def login(http: httpx.AsyncClient, user: User, password: str) -> httpx.Response:
    return await http.post(f"{API}/auth/login", json={"email": user.email, "password": password})


async def test_the_mailed_link_sets_the_password_and_ends_other_sign_ins(
    http: httpx.AsyncClient, fake: FakeSmtp, alice: User
) -> None:
    await ask(http, alice.email.upper())
    (delivery,) = await mailed(fake, alice.email)
    assert delivery.recipients == [alice.email]
    assert delivery.message["To"] == alice.email
    assert delivery.message["From"] == SENDER
    token = token_of(delivery)
    assert len(token) >= 43  # 256 bits, base64url

    response = await http.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 200, response.text
    pair = response.json()
    assert pair["user"] == {"id": alice.id, "email": alice.email, "name": alice.name}
    assert pair["token_type"] == "bearer"
    me = await http.get(f"{API}/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200

    assert_error(await login(http, alice, PASSWORD), 401, "invalid_credentials")
    assert (await login(http, alice, NEW_PASSWORD)).status_code == 200
    old = await http.post(f"{API}/auth/refresh", json={"refresh_token": alice.refresh})
    assert old.status_code == 401, old.text
    assert (await http.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 200
    # Single use.
    again = await http.post(CONFIRM, json={"token": token, "new_password": "Another-Pass-77"})
    assert_error(again, 400, "invalid_reset_token")


async def test_unknown_email_gets_the_same_answer_and_no_mail(
    http: httpx.AsyncClient, fake: FakeSmtp, alice: User, ctx: TenantContext
) -> None:
    nobody = unique_email("nobody")
    unknown = await ask(http, nobody)
    known = await ask(http, alice.email)
    assert unknown.json() == known.json()
    assert unknown.headers["content-length"] == known.headers["content-length"]
    # The unknown address's lookup began first and is one SELECT; the known one's mail comes after it.
    await mailed(fake, alice.email)
    assert fake.to(nobody) == []
    async with ctx.db.connect() as conn:
        rows = await conn.execute(sa.text("SELECT count(*) FROM password_resets WHERE user_id = :u"), {"u": alice.id})
        assert rows.scalar() == 1


async def test_using_one_link_spends_the_others(http: httpx.AsyncClient, fake: FakeSmtp, alice: User) -> None:
    await ask(http, alice.email)
    await ask(http, alice.email)
    first, second = (token_of(d) for d in await mailed(fake, alice.email, 2))
    assert first != second
    assert (await http.post(CONFIRM, json={"token": second, "new_password": NEW_PASSWORD})).status_code == 200
    older = await http.post(CONFIRM, json={"token": first, "new_password": NEW_PASSWORD})
    assert_error(older, 400, "invalid_reset_token")


async def test_an_expired_link_is_refused(
    http: httpx.AsyncClient, fake: FakeSmtp, alice: User, ctx: TenantContext
) -> None:
    await ask(http, alice.email)
    token = token_of((await mailed(fake, alice.email))[0])
    async with ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE token_hash = :h"),
            {"h": token_hash(token)},
        )
    response = await http.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert_error(response, 400, "invalid_reset_token")
    assert (await login(http, alice, PASSWORD)).status_code == 200


async def test_expiry_is_an_hour(http: httpx.AsyncClient, fake: FakeSmtp, alice: User, ctx: TenantContext) -> None:
    await ask(http, alice.email)
    token = token_of((await mailed(fake, alice.email))[0])
    async with ctx.db.connect() as conn:
        query = "SELECT extract(epoch FROM expires_at - created_at) FROM password_resets WHERE token_hash = :h"
        lifetime = (await conn.execute(sa.text(query), {"h": token_hash(token)})).scalar()
    assert lifetime == 3600


async def test_a_link_used_twice_at_once_works_once(http: httpx.AsyncClient, fake: FakeSmtp, alice: User) -> None:
    await ask(http, alice.email)
    token = token_of((await mailed(fake, alice.email))[0])
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=15) as other:
        answers = await asyncio.gather(
            http.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD}),
            other.post(CONFIRM, json={"token": token, "new_password": "Another-Pass-77"}),
        )
    assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]
    winner = next(r for r in answers if r.status_code == 200)
    assert winner.json()["user"]["id"] == alice.id


async def test_mails_per_address_are_limited(http: httpx.AsyncClient, fake: FakeSmtp, alice: User) -> None:
    for _ in range(3):
        await ask(http, alice.email)
    limited = await http.post(RESET, json={"email": alice.email.upper()})
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    await mailed(fake, alice.email, 3)
    # An unknown address is limited the same way, so the 429 tells nothing either.
    nobody = unique_email("nobody")
    for _ in range(3):
        await ask(http, nobody)
    assert_error(await http.post(RESET, json={"email": nobody}), 429, "rate_limited")


async def test_a_refused_mail_still_answers_202(
    http: httpx.AsyncClient, fake: FakeSmtp, alice: User, ctx: TenantContext
) -> None:
    fake.refuse = True
    response = await ask(http, alice.email)
    assert response.json()["status"] == "accepted"

    async def issued() -> bool:
        async with ctx.db.connect() as conn:
            query = "SELECT count(*) FROM password_resets WHERE user_id = :u"
            return bool((await conn.execute(sa.text(query), {"u": alice.id})).scalar())

    await wait_for(issued)
    assert (await http.get(f"{API}/users/me", headers=alice.auth)).status_code == 200
    assert fake.to(alice.email) == []


async def test_the_answer_does_not_wait_for_the_mail(http: httpx.AsyncClient, fake: FakeSmtp, alice: User) -> None:
    fake.hold = asyncio.Event()
    await asyncio.wait_for(ask(http, alice.email), 5)  # answered while the server still stalls
    assert fake.to(alice.email) == []
    fake.hold.set()
    await mailed(fake, alice.email)


async def test_without_mail_settings_the_request_is_503(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.post(RESET, json={"email": alice.email})
    assert_error(response, 503, "password_reset_not_configured")
    assert unconfigured(response)
    assert (await client.get(RESET)).json() == {"available": False}


async def test_availability_is_told(http: httpx.AsyncClient) -> None:
    response = await http.get(RESET)
    assert response.status_code == 200
    assert response.json() == {"available": True}


BAD_REQUESTS: list[tuple[Any, int, str]] = [
    (b"{not json", 400, "malformed_json"),
    (b"", 400, "malformed_json"),
    ([], 422, "validation_error"),
    ("a string", 422, "validation_error"),
    ({}, 422, "validation_error"),
    ({"email": 5}, 422, "validation_error"),
    ({"email": None}, 422, "validation_error"),
    ({"email": ["a@example.com"]}, 422, "validation_error"),
    ({"email": "not an email"}, 422, "validation_error"),
    ({"email": "a" * 300 + "@example.com"}, 422, "validation_error"),
    ({"email": "a@example.com", "admin": True}, 422, "validation_error"),
    ({"email": "a\u0000@example.com"}, 400, "unsupported_character"),
]
BAD_CONFIRMS: list[tuple[Any, int, str]] = [
    (b"{not json", 400, "malformed_json"),
    ([], 422, "validation_error"),
    ({}, 422, "validation_error"),
    ({"token": "x"}, 422, "validation_error"),
    ({"token": 5, "new_password": NEW_PASSWORD}, 422, "validation_error"),
    ({"token": "x" * 201, "new_password": NEW_PASSWORD}, 422, "validation_error"),
    ({"token": "", "new_password": NEW_PASSWORD}, 422, "validation_error"),
    ({"token": "unknown", "new_password": "weak"}, 422, "validation_error"),
    ({"token": "unknown", "new_password": "alllowercaseletters"}, 422, "validation_error"),
    ({"token": "unknown", "new_password": 12345678}, 422, "validation_error"),
    ({"token": "unknown", "new_password": NEW_PASSWORD, "extra": 1}, 422, "validation_error"),
    ({"token": "no-such-token-" + "a" * 30, "new_password": NEW_PASSWORD}, 400, "invalid_reset_token"),
    ({"token": "\u00e9\u2603", "new_password": NEW_PASSWORD}, 400, "invalid_reset_token"),
]


def send(http: httpx.AsyncClient, url: str, body: Any) -> Any:
    if isinstance(body, bytes):
        return http.post(url, content=body, headers={"content-type": "application/json"})
    return http.post(url, json=body)


@pytest.mark.parametrize(("body", "status", "code"), BAD_REQUESTS)
async def test_bad_reset_requests_are_refused(http: httpx.AsyncClient, body: Any, status: int, code: str) -> None:
    assert_error(await send(http, RESET, body), status, code)


@pytest.mark.parametrize(("body", "status", "code"), BAD_CONFIRMS)
async def test_bad_confirms_are_refused(http: httpx.AsyncClient, body: Any, status: int, code: str) -> None:
    assert_error(await send(http, CONFIRM, body), status, code)


@pytest.mark.parametrize("url", [RESET, CONFIRM])
async def test_oversized_bodies_are_413(http: httpx.AsyncClient, url: str) -> None:
    big = {"email": "a@example.com", "token": "x", "new_password": "x" * 2_000_000}
    assert_error(await http.post(url, json=big), 413, "payload_too_large")


async def test_a_deleted_account_link_is_dead(http: httpx.AsyncClient, fake: FakeSmtp, make_user: MakeUser) -> None:
    carol = await make_user("Carol")
    await ask(http, carol.email)
    token = token_of((await mailed(fake, carol.email))[0])
    deleted = await http.request("DELETE", f"{API}/users/me", json={"password": PASSWORD}, headers=carol.auth)
    assert deleted.status_code == 204
    response = await http.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert_error(response, 400, "invalid_reset_token")


async def test_a_new_email_or_password_spends_the_links(http: httpx.AsyncClient, fake: FakeSmtp, alice: User) -> None:
    await ask(http, alice.email)
    before_email = token_of((await mailed(fake, alice.email))[0])
    moved = unique_email("moved")
    changed = await http.patch(
        f"{API}/users/me", json={"email": moved, "current_password": PASSWORD}, headers=alice.auth
    )
    assert changed.status_code == 200, changed.text
    response = await http.post(CONFIRM, json={"token": before_email, "new_password": NEW_PASSWORD})
    assert_error(response, 400, "invalid_reset_token")

    await ask(http, moved)
    before_password = token_of((await mailed(fake, moved))[0])
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert (await http.post(f"{API}/auth/password", json=body, headers=alice.auth)).status_code == 200
    response = await http.post(CONFIRM, json={"token": before_password, "new_password": "Another-Pass-77"})
    assert_error(response, 400, "invalid_reset_token")
