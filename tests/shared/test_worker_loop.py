"""A worker's loop: SIGTERM makes its job return and the process exit 0; a job that just returns, returns."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from shared.worker_loop import run_until_stopped

ROOT = Path(__file__).resolve().parents[2]

JOB = """
import asyncio, sys
from shared.worker_loop import run_until_stopped

stop = asyncio.Event()

async def main():
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        print("cleaned up", flush=True)

run_until_stopped(main, stop.set)
print("returned to the caller", flush=True)
"""


def test_a_stop_signal_ends_the_job_and_the_process() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen([sys.executable, "-c", JOB], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert out.split() == ["cleaned", "up"], "the job finished, and nothing ran after it in the caller"


def test_a_job_that_returns_by_itself_returns_to_its_caller() -> None:
    ran: list[str] = []

    async def main() -> None:
        await asyncio.sleep(0)
        ran.append("done")

    run_until_stopped(main, lambda: None)
    assert ran == ["done"]
