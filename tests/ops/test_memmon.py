"""memmon (superlance) restarts a program over its cap; /health and the logs say so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ops.stack import running_stack, wait_until


def test_memmon_restarts_a_program_over_its_cap(tmp_path: Path) -> None:
    # A test-only cap far below what any Python process uses, checked every 5 s instead of 60.
    with running_stack(tmp_path, ONEBOX_CAP_BOT_MB="1", ONEBOX_MEMMON_TICK="TICK_5") as stack:

        def restarted() -> dict[str, Any] | None:
            doc = stack.health()
            bot = doc["processes"]["seacalendar-bot"] if doc else {}
            return bot if bot.get("restarts", 0) >= 1 else None

        bot = wait_until(restarted, timeout=40)
        assert bot["last_restart"]["reason"].startswith("memory cap: RSS ")
        assert "passed its cap (memmon)" in bot["last_restart"]["reason"]
        assert "Restarting seacalendar-bot" in stack.log("memmon.log")
        # Programs under their caps are left alone.
        assert stack.programs()["gateway"]["restarts"] == 0
