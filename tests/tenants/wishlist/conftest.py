"""Fixtures for the wishlist tests: signed-up users and small helpers, all through real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

API = "/wishlist/api"
PASSWORD = "Correct-Horse-9"


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
