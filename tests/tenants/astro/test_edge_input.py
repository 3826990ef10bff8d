"""Astro: a member id in other spellings is still that member."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.tenants.astro.conftest import SignIn

BIRTH = {
    "birth_date": "1990-05-17",
    "birth_time": "10:30",
    "birth_place": {"lat": 1, "lon": 1},
    "visibility": "members",
}


SPELLINGS: list[Callable[[str], str]] = [
    str.upper,
    lambda s: "{" + s + "}",
    lambda s: s.replace("-", ""),
    lambda s: "urn:uuid:" + s,
]


@pytest.mark.parametrize("spell", SPELLINGS)
async def test_matching_yourself_is_refused_however_the_id_is_spelt(
    astro: httpx.AsyncClient, sign_in: SignIn, spell: Callable[[str], str]
) -> None:
    me = await sign_in("ann")
    assert (await astro.put("/astro/api/profile", json=BIRTH, headers=me["headers"])).status_code == 200
    answer = await astro.get(f"/astro/api/match/{spell(me['id'])}", headers=me["headers"])
    assert answer.status_code == 400, answer.text[:200]
    assert answer.json()["error"]["code"] == "self_match"
