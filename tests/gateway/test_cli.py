"""The command line offers what the README lists, and nothing of its own plumbing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ONEBOX = str(Path(sys.executable).parent / "onebox")


@pytest.mark.parametrize(("tenant", "worker"), [("feed", "indexer"), ("seacalendar", "bot")])
def test_a_worker_command_takes_no_options(tenant: str, worker: str) -> None:
    result = subprocess.run(
        [ONEBOX, tenant, worker, "--help"], env=os.environ, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    options = [line for line in result.stdout.splitlines() if line.lstrip("│ ").startswith("-")]
    assert len(options) == 1 and "--help" in options[0], result.stdout
