"""Idempotent provisioning: one database and one role per tenant, reachable by nothing else.

The admin role needs no superuser: CREATEDB and CREATEROLE do, as on managed servers (RDS,
Cloud SQL, ...). Such an admin acts as each tenant role it creates (see :func:`_act_as`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

import psycopg
from psycopg import sql

from shared.db.urls import admin_url, libpq, tenant_db_name, tenant_password

log = logging.getLogger("onebox.db")

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
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        superuser = bool(row and row[0])
        for tenant in tenants:
            name = tenant_db_name(prefix, tenant)
            password = tenant_password(secret, prefix, tenant)
            role = sql.Identifier(name)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            # Only a superuser may name the SUPERUSER attribute in ALTER ROLE, even to leave it
            # off; a role a non-superuser created can't have it.
            attributes = "LOGIN NOCREATEDB NOCREATEROLE" + (" NOSUPERUSER" if superuser or not exists else "")
            conn.execute(
                sql.SQL(verb + " ROLE {} WITH " + attributes + " PASSWORD {}").format(role, sql.Literal(password))
            )
            if not exists:
                created.append(f"role {name}")
            if not superuser:
                _act_as(conn, role)
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(role, role))
                created.append(f"database {name}")
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(role))
            conn.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(role, role))
        # The maintenance database and the default template are open to PUBLIC by default; tenant
        # roles must not reach them (CREATE DATABASE copies template1 without connecting to it).
        for database in ("postgres", "template1"):
            _close_to_public(conn, database)
        _secure_schemas(url, prefix, tenants)
    return created


# Whether PUBLIC (grantee 0) may connect to a database; a NULL ACL means the defaults, which allow it.
PUBLIC_CONNECT = """SELECT EXISTS (
    SELECT 1 FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
    WHERE d.datname = %s AND a.grantee = 0 AND a.privilege_type = 'CONNECT')"""


def _close_to_public(conn: psycopg.Connection[tuple[object, ...]], database: str) -> None:
    """Revoke CONNECT on ``database`` from PUBLIC, or warn that only its owner can."""
    # An admin that doesn't own it gets a warning and revokes nothing, or an error.
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
    still_open = conn.execute(PUBLIC_CONNECT, (database,)).fetchone()
    if still_open and still_open[0]:
        log.warning(
            "database %s is open to every role and the admin role can't close it (only its owner can): "
            "tenant roles can log in there, though they reach nothing of the tenants'",
            database,
        )


def _act_as(conn: psycopg.Connection[tuple[object, ...]], role: sql.Identifier) -> None:
    """Make the admin a member of the tenant role that inherits it and may SET ROLE to it.

    ``CREATE DATABASE … OWNER``, revoking on a database and owning its schema all need that.
    PostgreSQL 16 gives a role's creator only ADMIN OPTION on it (no INHERIT, no SET), with which
    the admin may grant it to itself; before 16, CREATEROLE could grant any non-superuser role.
    """
    options = " WITH INHERIT TRUE, SET TRUE" if conn.info.server_version >= 160000 else ""
    conn.execute(sql.SQL("GRANT {} TO CURRENT_USER" + options).format(role))


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
