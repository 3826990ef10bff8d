"""Restart facts: what supervisor and memmon restarted and why, for ``/health``, doctor and the logs.

Two small writers keep ``var/run/restarts.json`` (``{program: {count, last_at, last_reason}}``):

- ``python -m gateway.supervision listen VAR`` is a supervisor event listener for
  ``PROCESS_STATE_EXITED/BACKOFF/FATAL``; it records unexpected exits with supervisor's own exit
  message (``terminated by SIGKILL``), which supervisord logs before it emits the event.
- ``python -m gateway.supervision memmon-mail VAR`` is the "sendmail" superlance's memmon pipes
  its restart notice to; it records the RSS that passed the cap.

Writers hold an exclusive lock and replace the file atomically, so readers never see half of it.
Deliberate stops and restarts (``supervisorctl restart``) are not counted. ``onebox run`` starts
every stack with an empty file, so counts are "since the stack started". This module stays light
(standard library only): the listener runs for the life of the box.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import re
import socket
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path
from typing import Any

RESTARTS = Path("run") / "restarts.json"
SOCKET = Path("run") / "supervisor.sock"


def restarts_path(data_dir: Path) -> Path:
    """Where restart facts live for the data directory ``data_dir``."""
    return data_dir / RESTARTS


def read_restarts(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Restart facts per program (empty when nothing restarted)."""
    try:
        data = json.loads(restarts_path(data_dir).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(data_dir: Path, program: str, reason: str, counted: bool = True) -> None:
    """Add one restart (or, with ``counted=False``, just a new last reason) for ``program``."""
    path = restarts_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / "restarts.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        facts = read_restarts(data_dir)
        entry = facts.setdefault(program, {"count": 0})
        entry["count"] = int(entry.get("count", 0)) + (1 if counted else 0)
        entry["last_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        entry["last_reason"] = reason
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".restarts.")
        with os.fdopen(fd, "w") as fh:
            json.dump(facts, fh, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    print(f"{program}: {reason}", file=sys.stderr, flush=True)


def reset(data_dir: Path) -> None:
    """Forget earlier stacks' restarts (``onebox run`` calls this before starting supervisord)."""
    restarts_path(data_dir).unlink(missing_ok=True)


def _program(name: str) -> str:
    """``gateway:gateway`` (memmon's spelling) is just ``gateway``."""
    group, _, process = name.partition(":")
    return group if process in ("", group) else name


def exit_message(log_tail: str, program: str) -> str | None:
    """Supervisor's reason for ``program``'s latest exit (``terminated by SIGKILL``), from its log."""
    found = re.findall(rf"exited: {re.escape(program)} \(([^;)]*)", log_tail)
    return found[-1] if found else None


def event_reason(event: str, fields: dict[str, str], log_tail: str) -> tuple[str, bool] | None:
    """(reason, counted) for a PROCESS_STATE event, or None when the exit was expected."""
    name = fields.get("processname", "?")
    detail = exit_message(log_tail, name) or "no exit status logged"
    if event == "PROCESS_STATE_EXITED":
        return None if fields.get("expected") == "1" else (f"crashed ({detail})", True)
    if event == "PROCESS_STATE_BACKOFF":
        return f"failed to start ({detail}); retrying with backoff", True
    if event == "PROCESS_STATE_FATAL":
        return f"gave up after repeated failed starts; see var/log/{name}.log", False
    return None


def memmon_reason(mail: str) -> tuple[str, str] | None:
    """(program, reason) from the notice memmon mails when it restarts or fails to restart a process."""
    match = re.search(r"restarted the process named (\S+) .*\((\d+) bytes RSS\)", mail)
    if match:
        return _program(match[1]), f"memory cap: RSS {int(match[2]) / 2**20:.0f} MB passed its cap (memmon)"
    match = re.search(r"^Subject: memmon[^:]*: (failed to \w+ process ([^\s,]+).*)$", mail, re.MULTILINE)
    if match:
        return _program(match[2]), f"memory cap: memmon {match[1]}"
    return None


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over supervisord's unix socket, with a timeout (supervisor's own transport has none)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__()
        self.socket_path = path
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return _UnixConnection(self.socket_path, self.timeout)


def rpc(server_url: str, timeout: float = 5.0) -> Any:
    """supervisord's XML-RPC interface at ``unix:///path/supervisor.sock``."""
    if not server_url.startswith("unix://"):
        raise ValueError(f"only unix:// supervisor URLs are supported, not {server_url!r}")
    return xmlrpc.client.ServerProxy("http://localhost", transport=_UnixTransport(server_url[7:], timeout))


def socket_url(data_dir: Path) -> str:
    """The URL of the supervisord that ``onebox run`` starts for ``data_dir``."""
    return f"unix://{(data_dir / SOCKET).resolve()}"


def processes(data_dir: Path, server_url: str) -> dict[str, dict[str, Any]]:
    """Each supervised program's state and restart facts (blocking; call it in a thread)."""
    facts = read_restarts(data_dir)
    doc: dict[str, dict[str, Any]] = {}
    for info in rpc(server_url).supervisor.getAllProcessInfo():
        name = info["name"]
        entry: dict[str, Any] = {"state": info["statename"], "pid": info["pid"] or None}
        if info["statename"] == "RUNNING":
            entry["uptime_s"] = info["now"] - info["start"]
        restarts = facts.get(name, {})
        entry["restarts"] = restarts.get("count", 0)
        if "last_reason" in restarts:
            entry["last_restart"] = {"at": restarts.get("last_at"), "reason": restarts["last_reason"]}
        doc[name] = entry
    return doc


async def process_facts(data_dir: Path, server_url: str | None) -> dict[str, Any] | None:
    """``/health``'s ``processes`` section; None when this process isn't run by supervisord."""
    if not server_url:
        return None
    import asyncio  # here, not at the top: the listener, which imports this module, never needs it

    try:
        return await asyncio.wait_for(asyncio.to_thread(processes, data_dir, server_url), 5.0)
    except (OSError, TimeoutError, xmlrpc.client.Error, ValueError) as exc:
        return {"error": f"supervisord unreachable: {type(exc).__name__}"}


def listen(data_dir: Path) -> None:
    """The event listener loop (supervisor's protocol: READY, read one event, RESULT)."""
    server = rpc(os.environ["SUPERVISOR_SERVER_URL"])
    while True:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
        headers = dict(part.split(":", 1) for part in sys.stdin.readline().split())
        payload = sys.stdin.read(int(headers["len"]))
        fields = dict(part.split(":", 1) for part in payload.split("\n", 1)[0].split())
        try:
            tail = server.supervisor.readLog(-8000, 0) if headers["eventname"] != "PROCESS_STATE_FATAL" else ""
            found = event_reason(headers["eventname"], fields, tail)
            if found is not None:
                record(data_dir, fields["processname"], *found)
        except (OSError, ValueError, xmlrpc.client.Error) as exc:
            # Losing one fact is better than a dead listener that loses all the later ones.
            print(f"could not record {headers['eventname']} of {fields}: {exc!r}", file=sys.stderr, flush=True)
        sys.stdout.write("RESULT 2\nOK")
        sys.stdout.flush()


def main(argv: list[str]) -> None:
    """``listen VAR`` or ``memmon-mail VAR`` (mail text on stdin)."""
    command, data_dir = argv[0], Path(argv[1])
    if command == "listen":
        listen(data_dir)
    elif command == "memmon-mail":
        found = memmon_reason(sys.stdin.read())
        if found is not None:
            record(data_dir, *found)
    else:
        raise SystemExit(f"unknown command {command!r}; use listen or memmon-mail")


if __name__ == "__main__":
    main(sys.argv[1:])
