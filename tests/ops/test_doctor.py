"""`onebox doctor` on a running box: every section, exit 0; an over-budget pool is named."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from gateway import supervision
from tests.ops.stack import Stack, wait_until

SECTIONS = [
    "== Processes",
    "== PostgreSQL memory",
    "== PostgreSQL settings",
    "== Connections",
    "== Disk",
    "== Indexer lag",
    "== Verdict",
]


def test_doctor_on_a_running_box(stack: Stack) -> None:
    result = stack.cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for section in SECTIONS:
        assert section in out
    for program in ("gateway", "feed-indexer", "seacalendar-bot", "postgres", "supervisord"):
        assert f"  {program} " in out
    assert "OK: every process" in out
    assert "PROBLEM" not in out
    if "ONEBOX_DATABASE_URL" not in stack.env:
        # The embedded server runs with every value of ops/postgres.conf.
        assert re.search(r"  (\d+) of \1 settings match", out), out


def test_doctor_names_a_pool_budget_over_max_connections(stack: Stack) -> None:
    result = stack.cli("doctor", ONEBOX_POOL_SIZE="60")
    assert result.returncode == 1
    assert "PROBLEM: connection budget 61 > max_connections 50" in result.stdout
    assert "lower ONEBOX_POOL_SIZE (now 60)" in result.stdout
    assert "1 problem(s):" in result.stdout


def test_doctor_names_a_stopped_memory_watchdog(stack: Stack) -> None:
    # memmon down means no cap is enforced: not "OK".
    supervisorctl = [str(Path(sys.executable).parent / "supervisorctl"), "-s", supervision.socket_url(stack.data_dir)]
    subprocess.run([*supervisorctl, "stop", "memmon"], check=True, capture_output=True, timeout=60)
    try:
        result = stack.cli("doctor")
        assert result.returncode == 1
        assert "PROBLEM: memmon is STOPPED: no memory cap is enforced" in result.stdout
    finally:
        subprocess.run([*supervisorctl, "start", "memmon"], check=True, capture_output=True, timeout=60)
        wait_until(lambda: stack.running("memmon"))
