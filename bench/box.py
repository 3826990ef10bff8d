"""What the benchmarks share: a real PostgreSQL, provisioned tenants, and the gateway's environment."""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway import bootstrap
from shared.settings import Settings
from tests.support.database import free_port, test_database

__all__ = ["Box", "box", "cpu_reference", "database", "free_port"]


@contextmanager
def database(workdir: Path) -> Iterator[tuple[str, Path | None]]:
    """(admin URL, data dir) of a fresh embedded server tuned by ops/postgres.conf; or ``ONEBOX_DATABASE_URL``."""
    with test_database(workdir, conf=bootstrap.POSTGRES_CONF) as (admin_url, server):
        yield admin_url, server.data if server else None


@dataclass(frozen=True)
class Box:
    """A provisioned, migrated database and the environment a gateway process needs for it."""

    tmp: Path
    admin_url: str
    pg_data: Path | None
    secret: str
    settings: Settings
    env: dict[str, str]


@contextmanager
def box(tenants: list[str] | None, **env: str) -> Iterator[Box]:
    """A scratch directory, a database with ``tenants`` (None: all) migrated, and the gateway's env.

    Every request of a benchmark comes from 127.0.0.1, so the per-IP rate limits are lifted.
    """
    with tempfile.TemporaryDirectory(prefix="onebox-bench-") as name:
        tmp = Path(name)
        with database(tmp) as (admin_url, pg_data):
            secret = secrets.token_urlsafe(48)
            full_env = {
                **os.environ,
                "ONEBOX_SECRET_KEY": secret,
                "ONEBOX_DATABASE_URL": admin_url,
                "ONEBOX_DATA_DIR": str(tmp),
                "ONEBOX_RATE_LIMIT_PER_MINUTE": "1000000000",
                "ONEBOX_AUTH_RATE_LIMIT_PER_MINUTE": "1000000",
                "ONEBOX_LOG_FORMAT": "json",
                "ONEBOX_LOG_LEVEL": "warning",
                **({"ONEBOX_TENANTS": ",".join(tenants)} if tenants else {}),
                **env,
            }
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                secret_key=secret,
                database_url=admin_url,
                data_dir=tmp,
                tenants=tenants,
            )
            bootstrap.init_databases(settings, admin_url)
            bootstrap.upgrade_databases(settings, admin_url)
            yield Box(tmp, admin_url, pg_data, secret, settings, full_env)


def cpu_reference() -> str:
    """How fast this machine's CPU runs right now: the best of five runs of a fixed Python loop.

    A shared VM's speed moves from hour to hour (the same code's CPU per request has moved by
    half), so figures from different runs compare only next to this reference.
    """

    def loop() -> float:
        began, total = time.perf_counter(), 0
        for i in range(3_000_000):
            total += i * i
        return time.perf_counter() - began

    return f"CPU reference: {min(loop() for _ in range(5)) * 1000:.0f} ms per fixed loop (lower is faster)"
