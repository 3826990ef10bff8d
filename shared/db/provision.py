"""Idempotent provisioning: one database and one role per tenant, reachable by nothing else."""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from shared.db.urls import admin_url, libpq, tenant_db_name, tenant_password

# Shared by every tenant: large NOTIFY payloads are stored here and sent as a reference.
BUS_TABLE = """
CREATE TABLE IF NOT EXISTS onebox_bus_payloads (
    id bigserial PRIMARY KEY,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


def provision(url: str, prefix: str, tenants: Iterable[str], secret: str) -> list[str]:
    """Create or update each tenant's role and database; returns what was created."""
    tenants = list(tenants)
    created: list[str] = []
    with psycopg.connect(libpq(admin_url(url)), autocommit=True) as conn:
        for tenant in tenants:
            name = tenant_db_name(prefix, tenant)
            password = tenant_password(secret, prefix, tenant)
            role = sql.Identifier(name)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                    role, sql.Literal(password)
                )
            )
            if not exists:
                created.append(f"role {name}")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(role, role))
                created.append(f"database {name}")
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(role))
            conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(role, role))
        # The maintenance database and the default template are open to PUBLIC by default; tenant
        # roles must not reach them (CREATE DATABASE copies template1 without connecting to it).
        conn.execute("REVOKE CONNECT ON DATABASE postgres FROM PUBLIC")
        conn.execute("REVOKE CONNECT ON DATABASE template1 FROM PUBLIC")
        _secure_schemas(url, prefix, tenants)
    return created


def _secure_schemas(url: str, prefix: str, tenants: Iterable[str]) -> None:
    for tenant in tenants:
        name = tenant_db_name(prefix, tenant)
        with psycopg.connect(libpq(admin_url(url, name)), autocommit=True) as conn:
            role = sql.Identifier(name)
            conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(role))
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            conn.execute(BUS_TABLE)
            conn.execute(sql.SQL("ALTER TABLE onebox_bus_payloads OWNER TO {}").format(role))


def drop(url: str, prefix: str, tenants: Iterable[str]) -> None:
    """Remove tenants' databases and roles (tests and `onebox db drop`)."""
    with psycopg.connect(libpq(admin_url(url)), autocommit=True) as conn:
        for tenant in tenants:
            name = tenant_db_name(prefix, tenant)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
