"""The SQLAlchemy-free tenant DSN names the same server, role, password and database as tenant_url."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from shared.db.urls import libpq, tenant_dsn, tenant_url

ADMINS = [
    "postgresql://postgres@/postgres?host=%2Ftmp%2Fonebox%20run&port=5433",  # the embedded server's socket
    "postgresql://admin:s3cr%40t@127.0.0.1:5432/postgres",
    "postgresql+psycopg://admin:pw@[::1]:6543/postgres?sslmode=require",
    "postgresql://admin@db.internal/postgres",
]


@pytest.mark.parametrize("admin", ADMINS)
def test_tenant_dsn_matches_tenant_url(admin: str) -> None:
    expected = make_url(libpq(tenant_url(admin, "onebox", "feed", "k" * 48, driver="postgresql")))
    got = make_url(tenant_dsn(admin, "onebox", "feed", "k" * 48))
    assert got == expected
    assert (got.username, got.database, got.drivername) == ("onebox_feed", "onebox_feed", "postgresql")


def test_libpq_percent_encodes_what_libpq_would_misread() -> None:
    from psycopg.conninfo import conninfo_to_dict
    from sqlalchemy.engine import URL

    awkward = URL.create(
        "postgresql+asyncpg", username="onebox x", password="p w@:/%?#&=é+", database="db x",
        query={"host": "/srv/My Box+1/run", "port": "5433"},
    )  # fmt: skip
    parsed = conninfo_to_dict(libpq(awkward))
    assert parsed == {
        "user": "onebox x", "password": "p w@:/%?#&=é+", "dbname": "db x", "host": "/srv/My Box+1/run", "port": "5433",
    }  # fmt: skip
    tcp = conninfo_to_dict(libpq(make_url("postgresql+psycopg://admin:pw@[::1]:6543/postgres?sslmode=require")))
    assert tcp == {
        "user": "admin",
        "password": "pw",
        "host": "::1",
        "port": "6543",
        "dbname": "postgres",
        "sslmode": "require",
    }


def test_the_backup_tools_get_an_encoded_uri_and_the_password_apart() -> None:
    from psycopg.conninfo import conninfo_to_dict

    from gateway.backup import _client

    url = make_url("postgresql://onebox_feed:p%20w@/onebox_feed?host=%2Fsrv%2FMy%20Box%2Frun&port=5433")
    dsn, env = _client(url, "feed")
    assert conninfo_to_dict(dsn) == {
        "user": "onebox_feed",
        "dbname": "onebox_feed",
        "host": "/srv/My Box/run",
        "port": "5433",
    }
    assert env["PGPASSWORD"] == "p w"
