"""The body of every tenant's ``migrations/env.py``: online migrations against the given URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool


def run() -> None:
    """Run the tenant's migrations in one transaction per revision."""
    config = context.config
    url = config.attributes["url"]
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
