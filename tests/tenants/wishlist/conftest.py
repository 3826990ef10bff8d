"""Fixtures for the wishlist tests: signed-up users and small helpers, all through real HTTP."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from shared.settings import Settings
from tests.fakes.smtp import Delivery, FakeSmtp, serve_smtp
from tests.support.server import serve
from tests.support.waiting import wait_for

API = "/wishlist/api"
PASSWORD = "Correct-Horse-9"
# What the gateway that mails (``mail_url``) puts in its messages.
PUBLIC = "https://wish.example"
SENDER = "Wishlist <no-reply@wish.example>"
LINK = re.compile(re.escape(PUBLIC) + r"/wishlist/#/reset/([A-Za-z0-9_-]+)")


@dataclass
class User:
    """A signed-up account and its current tokens."""

    id: int
    email: str
    name: str
    access: str
    refresh: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of this user."""
        return {"Authorization": f"Bearer {self.access}"}


MakeUser = Callable[..., Awaitable[User]]


def unique_email(prefix: str = "user") -> str:
    """An email no other test uses (the database lives for the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is ``status`` with the shared error shape and ``code``; returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


@pytest.fixture(scope="session")
async def smtp() -> AsyncIterator[FakeSmtp]:
    """The fake SMTP server the mailing gateway hands its messages to."""
    fake = FakeSmtp()
    async with serve_smtp(fake) as port:
        fake.port = port
        yield fake


@pytest.fixture(scope="session")
def mail_app(make_settings: Callable[..., Settings], smtp: FakeSmtp) -> Starlette:
    """A gateway mounting the wishlist with mail configured (the session's app has none)."""
    env = {"ONEBOX_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}", "ONEBOX_MAIL_FROM": SENDER,
           "ONEBOX_WISHLIST_PUBLIC_URL": PUBLIC + "/"}  # fmt: skip
    # Only while the routes are built (they read it then): other apps of the session stay unconfigured.
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return create_app(make_settings(tenants=["wishlist"]))


@pytest.fixture(scope="session")
async def mail_url(mail_app: Starlette) -> AsyncIterator[str]:
    """Base URL of the gateway that mails."""
    async with serve(mail_app) as url:
        yield url


async def mailed(fake: FakeSmtp, email: str, count: int = 1) -> list[Delivery]:
    """Wait for ``count`` messages to ``email``; fails if more arrived."""
    deliveries = await wait_for(lambda: len(fake.to(email)) >= count and fake.to(email))
    assert len(deliveries) == count
    return deliveries


def token_of(delivery: Delivery) -> str:
    """The token in a reset message's link."""
    match = LINK.search(delivery.message.get_content())
    assert match is not None, delivery.message.get_content()
    return match.group(1)


@pytest.fixture
def make_user(client: httpx.AsyncClient) -> MakeUser:
    """Register a fresh account and return it."""

    async def make(name: str = "Ann") -> User:
        email = unique_email(name.lower())
        response = await client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD, "name": name})
        assert response.status_code == 201, response.text
        body = response.json()
        return User(body["user"]["id"], email, name, body["access_token"], body["refresh_token"])

    return make


@pytest.fixture
async def alice(make_user: MakeUser) -> User:
    return await make_user("Alice")


@pytest.fixture
async def bob(make_user: MakeUser) -> User:
    return await make_user("Bob")


async def create_wishlist(client: httpx.AsyncClient, user: User, **fields: Any) -> dict[str, Any]:
    """POST a wishlist (title defaults to "Birthday") and return its document."""
    response = await client.post(f"{API}/wishlists", json={"title": "Birthday", **fields}, headers=user.auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_item(client: httpx.AsyncClient, user: User, wishlist_id: int, **fields: Any) -> dict[str, Any]:
    """POST an item (name defaults to "Book") and return its document."""
    response = await client.post(
        f"{API}/items", json={"wishlist_id": wishlist_id, "name": "Book", **fields}, headers=user.auth
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_tag(client: httpx.AsyncClient, user: User, name: str, color: str | None = None) -> dict[str, Any]:
    """POST a tag and return its document."""
    response = await client.post(f"{API}/tags", json={"name": name, "color": color}, headers=user.auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
