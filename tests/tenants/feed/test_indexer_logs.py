"""The indexer process logs as ONEBOX_LOG_FORMAT says, like the gateway and the bot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.settings import Settings
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def idle_indexer(settings: Settings, log: Path, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The indexer as supervisor runs it, with nothing to read and its stderr in ``log``."""
    assert settings.secret_key is not None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ONEBOX_")},
        "PYTHONPATH": str(ROOT),
        "ONEBOX_DATABASE_URL": settings.database_url or "",
        "ONEBOX_DB_PREFIX": settings.db_prefix,
        "ONEBOX_SECRET_KEY": settings.secret_key.get_secret_value(),
        "ONEBOX_JETSTREAM_URL": "",  # idle: it says so at once
        "ONEBOX_LOG_FORMAT": "json",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.worker", "feed", "indexer"], cwd=cwd, env=env, stderr=out
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


async def test_json_log_lines(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "feed-indexer.log"
    with idle_indexer(settings, log, tmp_path) as proc:
        await wait_for(lambda: "stays idle" in log.read_text(), timeout=30)
        proc.send_signal(signal.SIGTERM)
        await wait_for(lambda: proc.poll() is not None, timeout=20)
    line = next(line for line in log.read_text().splitlines() if "stays idle" in line)
    doc = json.loads(line)
    assert doc["logger"] == "onebox.feed.indexer" and doc["level"] == "info", doc
