"""The small pure parts of ops: restart reasons, setting comparison, the pool budget, rotation."""

from __future__ import annotations

import configparser
from pathlib import Path

from gateway import backup, pgcheck, supervision
from gateway.bootstrap import POSTGRES_CONF
from gateway.opsconfig import OpsSettings
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

LOG = """\
2026-11-25 11:52:26,898 WARN exited: gateway (exit status 1; not expected)
2026-11-25 11:52:30,001 WARN exited: gateway (terminated by SIGKILL; not expected)
"""


def test_exit_reasons_come_from_supervisors_log() -> None:
    fields = {"processname": "gateway", "expected": "0"}
    assert supervision.event_reason("PROCESS_STATE_EXITED", fields, LOG) == ("crashed (terminated by SIGKILL)", True)
    assert supervision.event_reason("PROCESS_STATE_EXITED", {**fields, "expected": "1"}, LOG) is None
    backoff = supervision.event_reason("PROCESS_STATE_BACKOFF", fields, LOG)
    assert backoff is not None and backoff[0].startswith("failed to start (terminated by SIGKILL)")
    fatal = supervision.event_reason("PROCESS_STATE_FATAL", fields, "")
    assert fatal is not None and fatal[1] is False  # a final state, not one more restart


def test_memmon_mail_is_turned_into_a_reason() -> None:
    mail = (
        "To: onebox-restarts\nSubject: memmon: process gateway:gateway restarted\n\n"
        "memmon.py restarted the process named gateway:gateway at Wed Nov 25 12:00:00 2026 UTC because "
        "it was consuming too much memory (314572800 bytes RSS)"
    )
    assert supervision.memmon_reason(mail) == ("gateway", "memory cap: RSS 300 MB passed its cap (memmon)")
    failed = "To: x\nSubject: memmon: failed to stop process seacalendar-bot:seacalendar-bot, exiting\n\nboom"
    assert supervision.memmon_reason(failed) == (
        "seacalendar-bot",
        "memory cap: memmon failed to stop process seacalendar-bot:seacalendar-bot, exiting",
    )


def test_restart_facts_accumulate(tmp_path: Path) -> None:
    supervision.record(tmp_path, "gateway", "crashed (exit status 1)")
    supervision.record(tmp_path, "gateway", "gave up", counted=False)
    facts = supervision.read_restarts(tmp_path)["gateway"]
    assert facts["count"] == 1 and facts["last_reason"] == "gave up"


def test_settings_compare_in_the_servers_units() -> None:
    conf = pgcheck.read_conf(POSTGRES_CONF)
    assert conf["shared_buffers"] == "128MB" and conf["log_line_prefix"].endswith("%a: ")
    rows = [
        {"name": "shared_buffers", "setting": "16384", "unit": "8kB", "display": "128MB", "pending_restart": False},
        {"name": "checkpoint_timeout", "setting": "900", "unit": "s", "display": "15min", "pending_restart": False},
        {"name": "work_mem", "setting": "8192", "unit": "kB", "display": "8MB", "pending_restart": True},
        {"name": "jit", "setting": "off", "unit": None, "display": "off", "pending_restart": False},
    ]
    wanted = {k: conf[k] for k in ("shared_buffers", "checkpoint_timeout", "work_mem", "jit")}
    mismatches, unknown = pgcheck.compare({**wanted, "no_such_setting": "1"}, rows)
    assert [(m.name, m.running, m.wanted, m.pending_restart) for m in mismatches] == [("work_mem", "8MB", "4MB", True)]
    assert unknown == ["no_such_setting"]


def test_pool_budget_sums_every_process() -> None:
    settings = Settings(_env_file=None, pool_size=5, pool_overflow=2, pool_sizes={"feed": 8})  # type: ignore[call-arg]
    ops = OpsSettings(_env_file=None)  # type: ignore[call-arg]
    budget = pgcheck.pool_budget(settings, ops, {"wishlist": None, "feed": 6, "astro": 7}, ["feed-indexer"], 50, 3)
    # ONEBOX_POOL_SIZES beats the size a tenant prefers, which beats ONEBOX_POOL_SIZE.
    assert budget.total == (5 + 2 + 1) + (8 + 2 + 1) + (7 + 2 + 1) + 4
    assert budget.limit == 50 - 3 - 5 and budget.ok
    assert not pgcheck.pool_budget(settings, ops, dict.fromkeys("abcdef"), [], 50, 3).ok


def test_rotation_keeps_the_newest(tmp_path: Path) -> None:
    names = [f"wishlist-2026112{day}T000000000Z.dump" for day in range(1, 6)]
    for name in [*names, "wishlist-notes.txt", "wishlist-before-upgrade.dump"]:
        (tmp_path / name).write_text("x")
    removed = backup.rotate(tmp_path, "wishlist", keep=2)
    assert [p.name for p in removed] == names[:3]
    # A dump named by hand is the operator's: kept, and not counted among the newest.
    assert sorted(p.name for p in tmp_path.glob("*.dump")) == [*names[3:], "wishlist-before-upgrade.dump"]


def test_every_program_and_listener_restarts_with_backoff_and_rotated_logs() -> None:
    # Read as supervisord's own parser sees it: a [program:...] or [eventlistener:...] left at
    # supervisor's defaults gives up after 3 quick failures, or keeps its log for ever.
    parser = configparser.RawConfigParser()
    parser.read(ROOT / "ops" / "supervisord.conf")
    sections = [s for s in parser.sections() if s.startswith(("program:", "eventlistener:"))]
    assert len(sections) == 6
    for section in sections:
        assert parser.get(section, "autorestart") == "true", section
        assert parser.getint(section, "startretries") == 20, section
        # Programs send stderr to their stdout log; listeners keep stdout for supervisor's protocol.
        stream = "stdout" if parser.has_option(section, "redirect_stderr") else "stderr"
        assert parser.get(section, f"{stream}_logfile").startswith("%(ENV_ONEBOX_VAR)s/log/"), section
        assert parser.get(section, f"{stream}_logfile_backups"), section
