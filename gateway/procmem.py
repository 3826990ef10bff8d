"""Memory of a process (and its children): RSS and PSS, as doctor and bench/memory.py report them.

RSS counts shared pages (libraries, PostgreSQL's shared buffers) once per process, so summing RSS
over processes overstates what a box uses; PSS splits each shared page among its users, so PSS
sums to the real total. Both are reported; budgets are checked against PSS, caps (memmon) use RSS.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil

MB = 2**20


@dataclass(frozen=True)
class Usage:
    """Bytes of RSS and PSS over ``count`` processes (PSS is None where the kernel won't tell us)."""

    rss: int
    pss: int | None
    count: int

    def __add__(self, other: Usage) -> Usage:
        pss = None if self.pss is None or other.pss is None else self.pss + other.pss
        return Usage(self.rss + other.rss, pss, self.count + other.count)


NOTHING = Usage(0, 0, 0)


def _one(proc: psutil.Process) -> Usage:
    try:
        full = proc.memory_full_info()
        return Usage(full.rss, getattr(full, "pss", None), 1)
    except psutil.AccessDenied:
        return Usage(proc.memory_info().rss, None, 1)


def usage(pid: int, children: bool = False) -> Usage:
    """Memory of ``pid`` (plus all its descendants with ``children``); nothing if it is gone."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *(proc.children(recursive=True) if children else [])]
    except psutil.NoSuchProcess:
        return NOTHING
    total = NOTHING
    for each in procs:
        try:
            total = total + _one(each)
        except psutil.NoSuchProcess:
            continue  # exited while we looked (a PostgreSQL backend closing)
    return total


def mb(value: int | None) -> str:
    """Bytes as whole-ish megabytes for tables; ``-`` when unknown."""
    return "-" if value is None else f"{value / MB:.1f}"
