"""Users, polls, options, votes, invites, reminders, venues, memories, question of the week, bot state.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.auth.oauth_state import create_oauth_states_table
from shared.auth.refresh import create_refresh_tokens_table

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
TS = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True)


def _fk(name: str, target: str, ondelete: str = "CASCADE", nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _created() -> sa.Column[object]:
    return sa.Column("created_at", TS, nullable=False, server_default=NOW)


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("discord_id", sa.Text, unique=True),
        sa.Column("discord_username", sa.Text),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("avatar", sa.Text),
        sa.Column("username", sa.Text),
        sa.Column("password_hash", sa.Text),
        _created(),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
    )
    op.create_index("users_username_key", "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "venues",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False, server_default=""),
        sa.Column("url", sa.Text),
        _fk("created_by", "users.id", "SET NULL", nullable=True),
        _created(),
    )
    op.create_table(
        "polls",
        _id(),
        _fk("creator_id", "users.id"),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("guild_id", sa.Text),
        sa.Column("channel_id", sa.Text),
        sa.Column("message_id", sa.Text),
        sa.Column("is_private", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("timezone", sa.Text, nullable=False, server_default="UTC"),
        sa.Column("voting_deadline", TS),
        sa.Column("status", sa.Text, nullable=False, server_default="voting"),
        sa.Column("finalized_option_id", sa.BigInteger),
        sa.Column("finalized_at", TS),
        _fk("venue_id", "venues.id", "SET NULL", nullable=True),
        _created(),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("type IN ('event', 'generic')", name="polls_type"),
        sa.CheckConstraint("status IN ('draft', 'voting', 'finalized', 'cancelled', 'expired')", name="polls_status"),
    )
    op.create_index("polls_creator_idx", "polls", ["creator_id", sa.text("id DESC")])
    op.create_index(
        "polls_open_deadline_idx", "polls", ["voting_deadline"], postgresql_where=sa.text("status = 'voting'")
    )
    op.create_table(
        "poll_options",
        _id(),
        _fk("poll_id", "polls.id"),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("date", sa.Date),
        sa.Column("start_time", sa.Time),
        sa.Column("end_time", sa.Time),
        sa.Column("position", sa.Integer, nullable=False),
        _created(),
    )
    op.create_index("poll_options_poll_idx", "poll_options", ["poll_id", "position"])
    op.create_foreign_key(
        "polls_finalized_option_fk", "polls", "poll_options", ["finalized_option_id"], ["id"], ondelete="SET NULL"
    )
    op.create_table(
        "votes",
        _fk("poll_id", "polls.id"),
        _fk("user_id", "users.id"),
        sa.Column("available_option_ids", ARRAY(sa.BigInteger), nullable=False, server_default="{}"),
        sa.Column("maybe_option_ids", ARRAY(sa.BigInteger), nullable=False, server_default="{}"),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        _created(),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("poll_id", "user_id"),
    )
    op.create_index("votes_user_idx", "votes", ["user_id"])
    op.create_table(
        "invites",
        _fk("poll_id", "polls.id"),
        sa.Column("discord_id", sa.Text, nullable=False),
        sa.Column("has_voted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reminders_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("invited_at", TS, nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("poll_id", "discord_id"),
    )
    op.create_index("invites_discord_idx", "invites", ["discord_id"])
    op.create_table(
        "reminders",
        _id(),
        _fk("poll_id", "polls.id"),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("scheduled_for", TS, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("processed_at", TS),
        _created(),
        sa.UniqueConstraint("poll_id", "type", name="reminders_poll_type_key"),
        sa.CheckConstraint("type IN ('vote_3d', 'vote_1d', 'event_1w', 'event_1d', 'event_2h')", name="reminders_type"),
        sa.CheckConstraint("status IN ('pending', 'done', 'cancelled')", name="reminders_status"),
    )
    op.create_index("reminders_due_idx", "reminders", ["scheduled_for"], postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "reminder_deliveries",
        _id(),
        _fk("reminder_id", "reminders.id"),
        sa.Column("discord_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False, server_default=NOW),
        sa.Column("claimed_at", TS),
        sa.Column("sent_at", TS),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("reminder_id", "discord_id", name="reminder_deliveries_key"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'skipped', 'failed')", name="reminder_deliveries_status"
        ),
    )
    op.create_index(
        "reminder_deliveries_open_idx",
        "reminder_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_table(
        "memories",
        _id(),
        _fk("poll_id", "polls.id"),
        _fk("author_id", "users.id"),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("url", sa.Text),
        _created(),
        sa.CheckConstraint("kind IN ('note', 'link')", name="memories_kind"),
    )
    op.create_index("memories_poll_idx", "memories", ["poll_id", "id"])
    op.create_table(
        "qotw_configs",
        sa.Column("guild_id", sa.Text, primary_key=True),
        sa.Column("channel_id", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("weekday", sa.SmallInteger, nullable=False),
        sa.Column("hour", sa.SmallInteger, nullable=False),
        _fk("owner_id", "users.id"),
        sa.Column("last_posted_at", TS),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="qotw_weekday"),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name="qotw_hour"),
    )
    op.create_table(
        "questions",
        _id(),
        sa.Column("guild_id", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        _fk("author_id", "users.id", "SET NULL", nullable=True),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("channel_id", sa.Text),
        sa.Column("message_id", sa.Text),
        sa.Column("posted_at", TS),
        _created(),
        sa.CheckConstraint("status IN ('queued', 'posting', 'posted')", name="questions_status"),
    )
    op.create_index("questions_guild_idx", "questions", ["guild_id", "status", "id"])
    op.create_table(
        "responses",
        _id(),
        _fk("question_id", "questions.id"),
        _fk("user_id", "users.id"),
        sa.Column("text", sa.Text, nullable=False),
        _created(),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.UniqueConstraint("question_id", "user_id", name="responses_question_user_key"),
    )
    op.create_table(
        "worker_state",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("started_at", TS, nullable=False, server_default=NOW),
        sa.Column("heartbeat_at", TS, nullable=False, server_default=NOW),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", TS),
        sa.Column("details", JSONB, nullable=False, server_default="{}"),
    )
    create_oauth_states_table(op)
    create_refresh_tokens_table(op)


def downgrade() -> None:
    op.drop_constraint("polls_finalized_option_fk", "polls", type_="foreignkey")
    for table in (
        "refresh_tokens",
        "oauth_states",
        "worker_state",
        "responses",
        "questions",
        "qotw_configs",
        "memories",
        "reminder_deliveries",
        "reminders",
        "invites",
        "votes",
        "poll_options",
        "polls",
        "venues",
        "users",
    ):
        op.drop_table(table)
