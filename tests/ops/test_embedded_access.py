"""The embedded PostgreSQL is reachable by the box's own processes only."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import bootstrap
from shared.db.embedded import EmbeddedPostgres
from tests.support.database import free_port


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    (tmp_path / "home").mkdir(mode=0o700)  # a private folder above the data, as /root would be
    server = EmbeddedPostgres(tmp_path / "home" / "var" / "pg", port=free_port(), conf=bootstrap.POSTGRES_CONF)
    server.start()
    yield server
    server.stop("immediate")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another local account")
def test_another_local_account_cannot_reach_the_server(embedded: EmbeddedPostgres, tmp_path: Path) -> None:
    # Local logins of "postgres" are trusted: reaching the socket would make any account superuser.
    nobody = pwd.getpwnam("nobody")
    query = "SELECT current_user || ' super=' || usesuper FROM pg_user WHERE usename = current_user"
    result = subprocess.run(
        [str(embedded.tool("psql")), "-h", str(embedded.run_dir.resolve()), "-p", str(embedded.port),
         "-U", "postgres", "-d", "postgres", "-Atc", query],
        user=nobody.pw_uid, group=nobody.pw_gid, capture_output=True, text=True, timeout=30,
        env={"PATH": "/usr/bin:/bin", "HOME": "/"},
    )  # fmt: skip
    assert result.returncode != 0 and "super=true" not in result.stdout, result.stdout
    assert stat.S_IMODE(embedded.run_dir.stat().st_mode) == 0o700
    # The folders above were opened for the server's account to pass through, not to list.
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o711
