"""The wishlist with mail configured (password reset live, not 503), swept with hostile input: never a 5xx."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.support.sweep import report, sweep


async def test_every_route_answers_hostile_input_with_a_shaped_4xx(mail_app: Starlette, mail_url: str) -> None:
    async with httpx.AsyncClient(base_url=mail_url, timeout=15) as client:
        failures = await sweep(mail_app, client)
    assert not failures, report(failures)
