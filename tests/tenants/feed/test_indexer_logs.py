"""The indexer process logs as ONEBOX_LOG_FORMAT says, like the gateway and the bot."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from shared.settings import Settings
from tests.support.waiting import wait_for
from tests.tenants.feed.conftest import indexer_process


async def test_json_log_lines(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "feed-indexer.log"
    # Nothing to read (it says so at once), its stderr kept as supervisor keeps it.
    with (
        log.open("wb") as out,
        indexer_process(settings, tmp_path, stderr=out, ONEBOX_JETSTREAM_URL="", ONEBOX_LOG_FORMAT="json") as proc,
    ):
        await wait_for(lambda: "stays idle" in log.read_text(), timeout=30)
        proc.send_signal(signal.SIGTERM)
        await wait_for(lambda: proc.poll() is not None, timeout=20)
    line = next(line for line in log.read_text().splitlines() if "stays idle" in line)
    doc = json.loads(line)
    assert doc["logger"] == "onebox.feed.indexer" and doc["level"] == "info", doc
