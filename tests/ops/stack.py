"""A whole box for ops tests: ``onebox run`` (set-up, then supervisord with every program) for real."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gateway import registry, supervision
from shared.db import provision
from shared.db.urls import libpq, resolve_admin_url, tenant_url
from shared.settings import Settings
from tests.support.database import free_port

ONEBOX = str(Path(sys.executable).parent / "onebox")
T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll ``condition`` until it returns something truthy (the synchronous twin of ``wait_for``)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@dataclass
class Stack:
    """A running ``onebox run`` and how to talk to it."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    data_dir: Path
    url: str
    cwd: Path

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``onebox ARGS`` against this box (extra environment variables as keywords)."""
        return subprocess.run(
            [ONEBOX, *args], env={**self.env, **env}, cwd=self.cwd, capture_output=True, text=True, timeout=120
        )

    def health(self) -> dict[str, Any] | None:
        """``GET /health`` as JSON, or None while the gateway isn't answering 200."""
        try:
            response = httpx.get(f"{self.url}/health", timeout=5)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

    def programs(self) -> dict[str, dict[str, Any]]:
        """supervisord's view of every program (state, pid, restarts)."""
        try:
            return supervision.processes(self.data_dir, supervision.socket_url(self.data_dir))
        except OSError:
            return {}

    def tenant_dsn(self, tenant: str) -> str:
        """libpq URL of ``tenant``'s database as its own role (password derived from the box's secret)."""
        lines = (self.data_dir / "secrets.env").read_text().splitlines()
        secret = next(line.split("=", 1)[1] for line in lines if line.startswith("ONEBOX_SECRET_KEY="))
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=self.data_dir,
            pg_port=int(self.env["ONEBOX_PG_PORT"]),
            database_url=self.env.get("ONEBOX_DATABASE_URL"),
            db_prefix=self.env.get("ONEBOX_DB_PREFIX", "onebox"),
        )
        url = tenant_url(resolve_admin_url(settings), settings.db_prefix, tenant, secret, driver="postgresql")
        return libpq(url)

    def log(self, name: str) -> str:
        path = self.data_dir / "log" / name
        return path.read_text() if path.exists() else ""

    def running(self, *names: str) -> bool:
        programs = self.programs()
        return all(programs.get(name, {}).get("state") == "RUNNING" for name in names)


def _environment(data_dir: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    # Nothing from the developer's ONEBOX_* environment leaks in, except an external server to use.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEBOX_", "SUPERVISOR_"))}
    env.update(
        ONEBOX_DATA_DIR=str(data_dir),
        ONEBOX_PORT=str(port),
        ONEBOX_PG_PORT=str(free_port()),
        ONEBOX_TENANTS="wishlist",
        ONEBOX_LOG_FORMAT="json",
    )
    if os.environ.get("ONEBOX_DATABASE_URL"):
        # Each box its own database names on the shared server, dropped when the box stops.
        env.update(ONEBOX_DATABASE_URL=os.environ["ONEBOX_DATABASE_URL"], ONEBOX_DB_PREFIX=f"ob{secrets.token_hex(4)}")
    env.update(extra)
    return env


@contextmanager
def running_stack(base: Path, **extra: str) -> Iterator[Stack]:
    """Start ``onebox run`` in ``base`` and wait until every program runs and /health answers 200."""
    data_dir, port = base / "var", free_port()
    env = _environment(data_dir, port, extra)
    output = (base / "run.log").open("wb")
    process = subprocess.Popen(
        [ONEBOX, "run"], env=env, cwd=base, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    stack = Stack(process, env, data_dir, f"http://127.0.0.1:{port}", base)
    wanted = ["gateway", "feed-indexer", "seacalendar-bot", "memmon", "restarts"]
    if "ONEBOX_DATABASE_URL" not in env:
        wanted.append("postgres")
    try:
        wait_until(lambda: _alive(stack, base) and stack.running(*wanted) and stack.health() is not None, timeout=90)
        yield stack
    finally:
        _stop(process)
        output.close()
        if "ONEBOX_DATABASE_URL" in env:  # leave an external server as we found it
            provision.drop(env["ONEBOX_DATABASE_URL"], env["ONEBOX_DB_PREFIX"], list(registry.TENANTS))


def _alive(stack: Stack, base: Path) -> bool:
    if stack.process.poll() is not None:
        raise AssertionError(f"onebox run exited:\n{(base / 'run.log').read_text()[-3000:]}")
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM supervisord (it stops its programs in order); kill our process group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
