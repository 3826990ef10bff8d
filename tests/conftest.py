"""Shared fixtures: one real PostgreSQL, one provisioned and migrated app, one real HTTP server."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway import bootstrap, registry
from gateway.app import create_app
from shared.db import provision
from shared.db.embedded import EmbeddedPostgres
from shared.settings import Settings
from tests.support.database import test_database
from tests.support.server import serve

SECRET = secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """(admin URL, embedded server or None)."""
    with test_database(tmp_path_factory.mktemp("db")) as value:
        yield value


@pytest.fixture(scope="session")
def admin_url(database: tuple[str, EmbeddedPostgres | None]) -> str:
    return database[0]


@pytest.fixture(scope="session")
def settings_factory(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    """Settings for tests, keyword arguments overriding fields (databases not yet provisioned)."""
    prefix = "onebox" if not os.environ.get("ONEBOX_DATABASE_URL") else f"obtest{os.getpid()}"
    data_dir = tmp_path_factory.mktemp("var")

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "secret_key": SECRET,
            "database_url": admin_url,
            "db_prefix": prefix,
            "data_dir": data_dir,
            "rate_limit_per_minute": 100_000,
            "auth_rate_limit_per_minute": 100_000,
            "login_attempts_per_account": 1000,
            "log_format": "console",
            **overrides,
        }
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture(scope="session")
def settings(settings_factory: Callable[..., Settings]) -> Iterator[Settings]:
    """The session's settings, every registered tenant provisioned and migrated."""
    value = settings_factory()
    names = list(registry.TENANTS)
    bootstrap.init_databases(value, value.database_url or "")
    bootstrap.upgrade_databases(value, value.database_url or "")
    yield value
    if os.environ.get("ONEBOX_DATABASE_URL"):
        provision.drop(value.database_url or "", value.db_prefix, names)


@pytest.fixture(scope="session")
def make_settings(settings: Settings, settings_factory: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings with overrides, for apps configured differently from the session's (databases ready)."""
    return settings_factory


@pytest.fixture(scope="session")
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@pytest.fixture(scope="session")
async def server(app: Starlette) -> AsyncIterator[str]:
    """Base URL of the app served by uvicorn on a loopback port."""
    async with serve(app) as url:
        yield url


@pytest.fixture
async def client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=15) as http:
        yield http


@pytest.fixture(scope="session")
def tenant_ctx(app: Starlette) -> Callable[[str], Any]:
    """The live TenantContext of a tenant in the session app."""
    return lambda name: app.state.contexts[name]
