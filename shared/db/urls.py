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
    """Render a URL as a libpq connection URI (``postgresql://``, password included).

    Every part is percent-encoded by hand: SQLAlchemy writes a space in the query as ``+`` (a
    socket folder under "/srv/My Box" named another folder) and leaves one in a password raw
    (refused), and libpq only decodes ``%XX``.
    """
    login = ""
    if url.username:
        password = f":{quote(url.password, safe='')}" if url.password is not None else ""
        login = f"{quote(url.username, safe='')}{password}@"
    host = url.host or ""
    server = (f"[{host}]" if ":" in host else quote(host, safe="")) + (f":{url.port}" if url.port else "")
    database = f"/{quote(url.database, safe='')}" if url.database else ""
    pairs = [
        (name, value)
        for name, values in url.query.items()
        for value in ((values,) if isinstance(values, str) else values)
    ]
    query = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)
    return f"postgresql://{login}{server}{database}{'?' + query if query else ''}"


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
