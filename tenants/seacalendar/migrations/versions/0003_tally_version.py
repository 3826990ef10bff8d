"""A poll's tally version: which of two tallies a page holds is the newer one.

A voter's page gets the tally twice, in the vote's answer and in the live ``vote_updated`` event,
and someone else's vote can land in between: the answer then carried an older tally than the
event the page had already shown, and overwrote it until the next event. Every write that
changes a poll's tally bumps the counter under the poll's row lock, so versions follow commits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("polls", sa.Column("tally_version", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("polls", "tally_version")
