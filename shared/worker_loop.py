"""A worker's event loop, run until supervisor's stop signal, after which the process exits.

A worker job that returns tells ``gateway.worker`` it has nothing to do, and the process then
idles so supervisor doesn't restart it in a loop. A job that returns because it was *asked* to
stop must end the process instead: supervisor sends one SIGTERM, and a process that idled after
it was killed 15 s later (``stopwaitsecs``), on every stop of the box.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_until_stopped(
    main: Callable[[], Coroutine[Any, Any, None]],
    on_stop: Callable[[], None],
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> None:
    """Run ``main()`` on a new loop; SIGTERM or SIGINT calls ``on_stop`` (which should make it return).

    When ``main`` returns after such a signal, raises ``SystemExit(0)``: the process ends cleanly.
    """
    signalled: list[int] = []

    def stop(sig: int) -> None:
        signalled.append(sig)
        on_stop()

    async def body() -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop, sig)
        await main()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(body())
    if signalled:
        raise SystemExit(0)
