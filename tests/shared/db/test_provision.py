"""Provisioning: idempotent, and each tenant role reaches its own database only."""

from __future__ import annotations

import logging

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

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


def test_an_admin_with_createdb_and_createrole_only_provisions_and_drops(
    settings: Settings, admin_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # As on a managed server (RDS, Cloud SQL): the admin role is no superuser. On PostgreSQL 16
    # CREATE DATABASE ... OWNER failed ("must be able to SET ROLE"), though the README said it sufficed.
    manager, prefix, secret = f"{settings.db_prefix}_mgr", f"{settings.db_prefix}m", settings.require_secret()
    su = make_url(admin_url)
    with psycopg.connect(libpq(su), autocommit=True) as conn:
        if conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() != (True,):
            pytest.skip("making the manager role and opening template1 need a superuser")
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD 'manager-pw'").format(sql.Identifier(manager))
        )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(su.database or "postgres"), sql.Identifier(manager)
            )
        )
    url = su.set(username=manager, password="manager-pw").render_as_string(hide_password=False)
    try:
        # template1 open to all, as a fresh server has it: this admin can't close it, and says so.
        with psycopg.connect(libpq(su), autocommit=True) as conn:
            conn.execute("GRANT CONNECT ON DATABASE template1 TO PUBLIC")
        with caplog.at_level(logging.WARNING, logger="onebox.db"):
            created = provision.provision(url, prefix, ["wishlist", "feed"], secret)
        assert len(created) == 4
        assert [r.getMessage().split(" is open")[0] for r in caplog.records] == ["database template1"]
        assert provision.provision(url, prefix, ["wishlist", "feed"], secret) == []
        own = tenant_url(url, prefix, "wishlist", secret)
        with psycopg.connect(libpq(own)) as conn:
            owner = conn.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'").fetchone()
            assert owner == (tenant_db_name(prefix, "wishlist"),)
            conn.execute("CREATE TABLE probe (id int)")  # the tenant role can build its schema
        with pytest.raises(psycopg.OperationalError, match="permission denied"):
            psycopg.connect(libpq(own.set(database=tenant_db_name(prefix, "feed"))))
    finally:
        provision.drop(url, prefix, ["wishlist", "feed"])
        with psycopg.connect(libpq(su), autocommit=True) as conn:
            conn.execute("REVOKE CONNECT ON DATABASE template1 FROM PUBLIC")
            left = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", (f"{prefix}\\_%",)).fetchone()
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(manager)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(manager)))
    assert left == (0,)
