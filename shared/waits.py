"""Waiting on an event with a time limit, without losing a cancellation.

``asyncio.wait_for`` on Python 3.11 returns normally when the awaited event is set in the same
loop iteration as the waiting task is cancelled, so the cancellation is lost: a loop built
around it keeps running and whoever cancelled it waits forever (an indexer that took 30 s to
stop, once in a few dozen test runs). ``asyncio.timeout`` keeps the cancellation.
"""

from __future__ import annotations

import asyncio


async def wait_until_set(event: asyncio.Event, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``event``: True when it is set, False when time ran out."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
