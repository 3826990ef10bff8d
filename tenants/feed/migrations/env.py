"""Alembic environment of the feed tenant (the shared runner)."""

from shared.db.alembic_env import run

run()
