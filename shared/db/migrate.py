"""Alembic, one environment per tenant, run as the tenant's own role so it owns its schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import URL


def alembic_config(migrations: Path, url: URL) -> Config:
    """A Config for a tenant's script directory and database (sync psycopg driver)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["url"] = url.set(drivername="postgresql+psycopg")
    return cfg


def upgrade(migrations: Path, url: URL, revision: str = "head") -> None:
    """Upgrade a tenant database to ``revision``."""
    command.upgrade(alembic_config(migrations, url), revision)


def downgrade(migrations: Path, url: URL, revision: str) -> None:
    """Downgrade a tenant database to ``revision``."""
    command.downgrade(alembic_config(migrations, url), revision)


def status(migrations: Path, url: URL) -> tuple[str | None, str | None]:
    """(current revision, head revision) of a tenant database."""
    cfg = alembic_config(migrations, url)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    engine = create_engine(cfg.attributes["url"])
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    return current, head
