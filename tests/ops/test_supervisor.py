"""supervisord runs every program from ops/supervisord.conf and brings a killed gateway back."""

from __future__ import annotations

import os
import signal

from tests.ops.stack import Stack, wait_until


def test_every_program_runs(stack: Stack) -> None:
    programs = stack.programs()
    expected = {"gateway", "feed-indexer", "seacalendar-bot", "memmon", "restarts", "postgres"}
    assert expected <= set(programs)
    external = "ONEBOX_DATABASE_URL" in stack.env
    for name in expected - ({"postgres"} if external else set()):
        assert programs[name]["state"] == "RUNNING", (name, programs[name])
    # The workers' tenants are not enabled here (ONEBOX_TENANTS=wishlist): they idle, saying so.
    assert "does not run on this host" in stack.log("feed-indexer.log")
    # Logs land under var/log/, where supervisor rotates them.
    assert "ready to accept connections" in stack.log("postgres.log") or external
    assert '"msg":"Application startup complete."' in stack.log("gateway.log")


def test_killed_gateway_restarts_and_health_recovers(stack: Stack) -> None:
    before = stack.programs()["gateway"]
    os.kill(before["pid"], signal.SIGKILL)

    def restarted() -> dict[str, object] | None:
        doc = stack.health()
        gateway = doc["processes"]["gateway"] if doc else {}
        # Serving before supervisor's startsecs have passed is still STARTING; wait for RUNNING.
        back = gateway.get("pid") not in (None, before["pid"]) and gateway.get("state") == "RUNNING"
        return doc if back else None

    doc = wait_until(restarted, timeout=60)
    assert doc["status"] == "ok"
    gateway = doc["processes"]["gateway"]
    assert gateway["state"] == "RUNNING"
    assert gateway["restarts"] == before["restarts"] + 1
    assert gateway["last_restart"]["reason"] == "crashed (terminated by SIGKILL)"
    assert "gateway: crashed (terminated by SIGKILL)" in stack.log("restarts.log")
