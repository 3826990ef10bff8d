"""wait_until_set: a time limit on an event that never swallows a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from shared.waits import wait_until_set


async def test_answers_whether_the_event_was_set_in_time() -> None:
    event = asyncio.Event()
    assert await wait_until_set(event, 0.01) is False
    event.set()
    assert await wait_until_set(event, 0.01) is True


async def test_a_cancel_in_the_same_turn_as_the_event_still_stops_a_polling_loop() -> None:
    """The race asyncio.wait_for loses on 3.11: the event is set, then the loop is cancelled."""
    event = asyncio.Event()
    rounds = 0

    async def poll() -> None:
        nonlocal rounds
        while True:
            await wait_until_set(event, 10)
            event.clear()
            rounds += 1

    task = asyncio.create_task(poll())
    await asyncio.sleep(0)  # the loop now waits on the event
    event.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert rounds == 0
