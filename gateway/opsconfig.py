"""Operating settings in one place: memory caps, memmon's tick, backups, the connection budget.

``onebox run`` turns them into the environment ``ops/supervisord.conf`` reads, and ``onebox
doctor`` checks the running box against the same numbers, so a cap changed here (or in the
environment, ``.env`` or ``var/secrets.env``) changes both.
"""

from __future__ import annotations

import os
import pwd
import sys
from dataclasses import dataclass
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from shared.db.embedded import SYSTEM_USER, EmbeddedPostgres
from shared.settings import Settings, env_config


class OpsSettings(BaseSettings):
    """``ONEBOX_CAP_*_MB`` and friends."""

    model_config = env_config()

    # RSS above which memmon restarts the program (DESIGN.md §2).
    cap_gateway_mb: int = 256
    cap_indexer_mb: int = 160
    cap_bot_mb: int = 128
    # How often memmon looks: supervisor's TICK_5 (tests), TICK_60 or TICK_3600.
    memmon_tick: Literal["TICK_5", "TICK_60", "TICK_3600"] = "TICK_60"
    # Budgets doctor checks PSS against (DESIGN.md §11).
    pg_budget_mb: int = 250
    stack_budget_mb: int = 600
    # Newest dumps kept per tenant in var/backups/<tenant>/.
    backup_keep: int = Field(default=7, ge=1)
    # Connections kept free for migrations, backups, doctor and psql, on top of the server's own reserve.
    connection_reserve: int = 5
    # Connections one worker process may hold (its small pool plus a listener).
    worker_connections: int = 4


def load_ops(settings: Settings) -> OpsSettings:
    """Ops settings from the same sources as ``settings`` (environment, var/secrets.env, .env)."""
    return settings.load(OpsSettings)


@dataclass(frozen=True)
class Program:
    """A supervisor program: its name, the tenant worker it runs (if any), its cap and where that is set."""

    name: str
    tenant: str | None = None
    worker: str | None = None
    cap_mb: int | None = None
    cap_variable: str | None = None


def programs(ops: OpsSettings) -> list[Program]:
    """The programs of ops/supervisord.conf, in start order."""
    return [
        Program("postgres"),
        Program("gateway", cap_mb=ops.cap_gateway_mb, cap_variable="ONEBOX_CAP_GATEWAY_MB"),
        Program("feed-indexer", "feed", "indexer", ops.cap_indexer_mb, "ONEBOX_CAP_INDEXER_MB"),
        Program("seacalendar-bot", "seacalendar", "bot", ops.cap_bot_mb, "ONEBOX_CAP_BOT_MB"),
    ]


def supervisor_environment(settings: Settings, ops: OpsSettings, server: EmbeddedPostgres) -> dict[str, str]:
    """Every ``%(ENV_...)s`` that ops/supervisord.conf uses."""
    as_root = os.geteuid() == 0
    embedded = not settings.database_url
    user = pwd.getpwuid(os.geteuid()).pw_name
    return {
        "ONEBOX_USER": user,
        "ONEBOX_BIN": os.path.dirname(sys.executable),
        "ONEBOX_VAR": str(settings.data_dir.resolve()),
        "ONEBOX_PG_COMMAND": " ".join(server.server_args()),
        "ONEBOX_PG_AUTOSTART": "true" if embedded else "false",
        # supervisor checks the user exists even for a program it won't start.
        "ONEBOX_PG_USER": SYSTEM_USER if as_root and embedded else user,
        "ONEBOX_CAP_GATEWAY_MB": str(ops.cap_gateway_mb),
        "ONEBOX_CAP_INDEXER_MB": str(ops.cap_indexer_mb),
        "ONEBOX_CAP_BOT_MB": str(ops.cap_bot_mb),
        "ONEBOX_MEMMON_TICK": ops.memmon_tick,
    }
