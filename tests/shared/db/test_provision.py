"""Provisioning: idempotent, and each tenant role reaches its own database only."""

from __future__ import annotations

import psycopg
import pytest

from shared.db import provision
from shared.db.urls import libpq, tenant_db_name, tenant_url
from shared.settings import Settings


def test_provisioning_is_idempotent(settings: Settings, admin_url: str) -> None:
    names = ["wishlist"]
    assert provision.provision(admin_url, settings.db_prefix, names, settings.require_secret()) == []
    assert provision.provision(admin_url, settings.db_prefix, names, settings.require_secret()) == []


def test_tenant_role_reaches_only_its_database(settings: Settings, admin_url: str) -> None:
    secret = settings.require_secret()
    prefix = settings.db_prefix
    created = provision.provision(admin_url, prefix, ["isolationprobe"], secret)
    try:
        assert f"database {tenant_db_name(prefix, 'isolationprobe')}" in created
        own = tenant_url(admin_url, prefix, "wishlist", secret)
        with psycopg.connect(libpq(own)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (tenant_db_name(prefix, "wishlist"),)
        # The wishlist role, with its own valid password, pointed at another tenant's database.
        foreign = own.set(database=tenant_db_name(prefix, "isolationprobe"))
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(libpq(foreign))
        # And at the cluster's maintenance database and default template.
        for database in ("postgres", "template1"):
            with pytest.raises(psycopg.OperationalError, match="permission denied"):
                psycopg.connect(libpq(own.set(database=database)))
        # Another tenant's role is refused with the wishlist role's password.
        stolen = own.set(username=tenant_db_name(prefix, "isolationprobe"))
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(libpq(stolen))
    finally:
        provision.drop(admin_url, prefix, ["isolationprobe"])


def test_tenant_role_is_not_privileged(settings: Settings, admin_url: str) -> None:
    own = tenant_url(admin_url, settings.db_prefix, "wishlist", settings.require_secret())
    with psycopg.connect(libpq(own)) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (False, False, False)


def test_embedded_cluster_collates_bytewise(database: tuple[str, object], settings: Settings, admin_url: str) -> None:
    """Tenant databases of the embedded cluster compare text with memcmp, in code point order."""
    if database[1] is None:
        pytest.skip("an external PostgreSQL keeps its own locale")
    url = tenant_url(admin_url, settings.db_prefix, "wishlist", settings.require_secret())
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute("SELECT datcollate, datctype FROM pg_database WHERE datname = current_database()").fetchone()
        assert row == ("C", "C.UTF-8")
        ordered = conn.execute("SELECT array_agg(w ORDER BY w) FROM unnest(array['é', 'z', 'Z', 'a']) w").fetchone()
        assert ordered == (["Z", "a", "z", "é"],)
        assert conn.execute("SELECT upper('é')").fetchone() == ("É",)
