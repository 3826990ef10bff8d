"""Raw asyncpg connections from the tenant's pool, for hot paths.

SQLAlchemy's statement layer costs more than the query on a read that PostgreSQL answers in a
fraction of a millisecond; asyncpg's own prepared-statement cache does not. The connection is
still checked out of (and returned to) the tenant's one pool, so limits and 503s are unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from shared.tenant import TenantContext


@asynccontextmanager
async def acquire(ctx: TenantContext) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection (statements outside SQLAlchemy; transactions via ``conn.transaction()``)."""
    async with ctx.db.raw() as conn:
        yield conn
