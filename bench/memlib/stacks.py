"""The box started two ways for bench/memory.py, both under supervisord so both are measured alike.

- consolidated: ``onebox run`` exactly as an operator starts it (ops/supervisord.conf).
- separate: the same programs, except one gateway process per tenant (``ONEBOX_TENANTS=<t>``,
  its own port and pool), the way four separate apps would run.
"""

from __future__ import annotations

import configparser
import io
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import bootstrap, opsconfig, registry, supervision
from gateway.procmem import Usage, usage
from shared.db.urls import libpq, tenant_url
from shared.settings import Settings
from tests.support.database import free_port

BIN = Path(sys.executable).parent
CONF = bootstrap.ROOT / "ops" / "supervisord.conf"


@dataclass
class Box:
    """A running box: supervisord's process, its environment, and which URL serves each tenant."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    data_dir: Path
    urls: dict[str, str]
    secret: str

    def programs(self) -> dict[str, dict[str, Any]]:
        try:
            return supervision.processes(self.data_dir, supervision.socket_url(self.data_dir))
        except OSError:
            return {}

    def measure(self) -> list[tuple[str, Usage]]:
        """RSS/PSS of supervisord and every running program (PostgreSQL with all its backends)."""
        pid = int((self.data_dir / "run" / "supervisord.pid").read_text())
        rows = [("supervisord", usage(pid))]
        for name, info in sorted(self.programs().items()):
            if info["pid"]:
                rows.append((name, usage(info["pid"], children=name == "postgres")))
        return rows

    def tenant_dsn(self, tenant: str) -> str:
        """libpq URL of ``tenant``'s database as its own role."""
        server = bootstrap.embedded(
            Settings(_env_file=None, data_dir=self.data_dir, pg_port=int(self.env["ONEBOX_PG_PORT"]))
        )
        return libpq(tenant_url(server.admin_url(), "onebox", tenant, self.secret, driver="postgresql"))

    def wait_ready(self, timeout: float = 180) -> None:
        """Until every gateway answers /health and every program left STARTING."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the box exited; see {self.data_dir / 'log'}")
            states = {info["state"] for info in self.programs().values()}
            try:
                up = all(httpx.get(f"{url}/health", timeout=5).status_code < 600 for url in set(self.urls.values()))
            except httpx.HTTPError:
                up = False
            if states and "STARTING" not in states and up:
                return
            time.sleep(0.5)
        raise RuntimeError(f"the box did not come up in {timeout}s; see {self.data_dir / 'log'}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def environment(base: Path, extra: dict[str, str]) -> tuple[dict[str, str], str]:
    """A clean ``ONEBOX_*`` environment for a box in ``base``; returns it and the secret key."""
    secret = secrets.token_urlsafe(48)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEBOX_", "SUPERVISOR_"))}
    env.update(
        ONEBOX_DATA_DIR=str(base / "var"),
        ONEBOX_PG_PORT=str(free_port()),
        ONEBOX_PORT=str(free_port()),
        ONEBOX_SECRET_KEY=secret,
        ONEBOX_LOG_FORMAT="json",
        # All load comes from one address: the per-IP limits would measure themselves, not the box.
        ONEBOX_RATE_LIMIT_PER_MINUTE="100000000",
        ONEBOX_AUTH_RATE_LIMIT_PER_MINUTE="100000000",
        **extra,
    )
    return env, secret


def consolidated(base: Path, extra: dict[str, str]) -> Box:
    """``onebox run``: one gateway with every tenant."""
    env, secret = environment(base, extra)
    log = (base / "run.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "onebox"), "run"], env=env, cwd=base, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{env['ONEBOX_PORT']}"
    return Box(process, env, base / "var", {name: url for name in registry.TENANTS}, secret)


def separate_conf(tenants: dict[str, int]) -> str:
    """ops/supervisord.conf with its one gateway replaced by one gateway per tenant."""
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(CONF)
    gateway = dict(parser["program:gateway"])
    parser.remove_section("program:gateway")
    caps = []
    for name, port in tenants.items():
        section = f"program:gateway-{name}"
        parser.add_section(section)
        for key, value in gateway.items():
            parser[section][key] = value
        parser[section]["command"] = f"%(ENV_ONEBOX_BIN)s/onebox serve --port {port}"
        parser[section]["environment"] = f'ONEBOX_TENANTS="{name}"'
        parser[section]["stdout_logfile"] = f"%(ENV_ONEBOX_VAR)s/log/gateway-{name}.log"
        caps.append(f"-p gateway-{name}=%(ENV_ONEBOX_CAP_GATEWAY_MB)sMB")
    memmon = parser["eventlistener:memmon"]["command"]
    parser["eventlistener:memmon"]["command"] = memmon.replace(
        "-p gateway=%(ENV_ONEBOX_CAP_GATEWAY_MB)sMB", "\n".join(caps)
    )
    buffer = io.StringIO()
    parser.write(buffer)
    return buffer.getvalue()


def separate(base: Path, extra: dict[str, str]) -> Box:
    """One gateway process per tenant (own port, own pool), the rest as in the consolidated box."""
    env, secret = environment(base, extra)
    subprocess.run([str(BIN / "onebox"), "setup"], env=env, cwd=base, check=True, capture_output=True)
    ports = {name: free_port() for name in registry.TENANTS}
    conf = base / "supervisord-separate.conf"
    conf.write_text(separate_conf(ports))
    settings = Settings(_env_file=None, data_dir=base / "var", pg_port=int(env["ONEBOX_PG_PORT"]))
    for folder in ("log", "run"):
        (settings.data_dir / folder).mkdir(parents=True, exist_ok=True)
    server = bootstrap.embedded(settings)
    server.init()
    sup_env = opsconfig.supervisor_environment(settings, opsconfig.OpsSettings(_env_file=None), server)
    log = (base / "run.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "supervisord"), "-n", "-c", str(conf)],
        env={**env, **sup_env},
        cwd=base,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    return Box(process, env, base / "var", urls, secret)
