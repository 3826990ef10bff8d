"""Names, passwords and URLs: the administrator's, and those of the per-tenant databases and roles."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from shared.db.embedded import EmbeddedPostgres

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from shared.settings import Settings


def tenant_db_name(prefix: str, tenant: str) -> str:
    """Database and role name of a tenant: ``onebox_<tenant>``."""
    return f"{prefix}_{tenant}"


def tenant_password(secret: str, prefix: str, tenant: str) -> str:
    """The role's password, derived from the secret key so it is never stored anywhere else.

    Rotating ``ONEBOX_SECRET_KEY`` and re-running ``onebox db init`` rotates every role's password.
    """
    return hmac.new(secret.encode(), f"db-role:{prefix}:{tenant}".encode(), hashlib.sha256).hexdigest()


def admin_url(url: str, database: str | None = None) -> URL:
    """The administrator URL, optionally pointed at another database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=database) if database else parsed


def tenant_url(admin: str, prefix: str, tenant: str, secret: str, driver: str = "postgresql+asyncpg") -> URL:
    """URL a tenant uses: same server as the admin URL, its own role, password and database."""
    from sqlalchemy.engine import make_url

    name = tenant_db_name(prefix, tenant)
    return make_url(admin).set(
        drivername=driver, username=name, password=tenant_password(secret, prefix, tenant), database=name
    )


def libpq(url: URL) -> str:
    """Render a URL for libpq/psycopg (plain ``postgresql://`` scheme, password included)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def tenant_dsn(admin: str, prefix: str, tenant: str, secret: str) -> str:
    """:func:`tenant_url` as a libpq string, without SQLAlchemy (~25 MB a worker needn't load).

    Same server, port and query (a socket directory in ``?host=``) as the admin URL; the tenant's
    own role, password and database.
    """
    parts = urlsplit(admin)
    name = tenant_db_name(prefix, tenant)
    server = parts.netloc.rpartition("@")[2]
    login = f"{quote(name, safe='')}:{quote(tenant_password(secret, prefix, tenant), safe='')}"
    return urlunsplit(("postgresql", f"{login}@{server}", f"/{quote(name, safe='')}", parts.query, ""))


def resolve_admin_url(settings: Settings) -> str:
    """The administrator URL: ``ONEBOX_DATABASE_URL`` or the embedded server's socket."""
    if settings.database_url:
        return settings.database_url
    return EmbeddedPostgres(settings.pg_dir, settings.pg_port, settings.pg_version).admin_url()
