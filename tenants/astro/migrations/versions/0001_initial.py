"""Profiles (Mastodon identity, birth data, charts), Mastodon apps and states, refresh tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.auth.mastodon import create_mastodon_tables
from shared.auth.refresh import create_refresh_tokens_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    create_refresh_tokens_table(op)
    create_mastodon_tables(op)
    op.create_table(
        "astro_profiles",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("mastodon_instance", sa.Text, nullable=False),
        sa.Column("mastodon_account_id", sa.Text, nullable=False),
        sa.Column("mastodon_acct", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        sa.Column("avatar_url", sa.Text),
        sa.Column("visibility", sa.Text, nullable=False, server_default="private"),
        # The birth instant in UTC (local noon when the time is unknown) and what the member typed.
        sa.Column("birth_date", sa.DateTime(timezone=True)),
        sa.Column("birth_input", JSONB),
        sa.Column("birth_location", JSONB),
        sa.Column("chart_data", JSONB),
        # Copied out of chart_data so that ranking matches reads one float per member.
        sa.Column("moon_longitude", sa.Float),
        sa.Column("moon_uncertain", sa.Boolean),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("mastodon_instance", "mastodon_account_id", name="astro_profiles_account_key"),
        sa.CheckConstraint("visibility IN ('private', 'members')", name="astro_profiles_visibility_check"),
        sa.CheckConstraint(
            "(chart_data IS NULL) = (birth_date IS NULL) AND (chart_data IS NULL) = (moon_longitude IS NULL)",
            name="astro_profiles_chart_complete_check",
        ),
    )
    op.create_index(
        "astro_profiles_visible_idx",
        "astro_profiles",
        ["visibility"],
        postgresql_where=sa.text("chart_data IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("astro_profiles")
    op.drop_table("mastodon_oauth_states")
    op.drop_table("mastodon_apps")
    op.drop_table("refresh_tokens")
