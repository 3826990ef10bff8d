"""Astro with its Mastodon instances configured, swept with hostile input: never a 5xx."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.support.sweep import report, sweep


async def test_every_route_answers_hostile_input_with_a_shaped_4xx(
    astro_app: Starlette, astro: httpx.AsyncClient
) -> None:
    failures = await sweep(astro_app, astro)
    assert not failures, report(failures)
