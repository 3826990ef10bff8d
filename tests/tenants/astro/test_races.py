"""Writes that lose a race with the member's account deletion answer 4xx, never 500 or a wrong 404."""

from __future__ import annotations

import uuid

import httpx
from starlette.applications import Starlette

from tests.support.races import committed_under
from tests.tenants.astro.conftest import SignIn
from tests.tenants.astro.test_profile import birth


async def test_a_profile_saved_while_the_account_is_deleted_is_signed_out(
    astro: httpx.AsyncClient, sign_in: SignIn, astro_app: Starlette
) -> None:
    me = await sign_in("Gone")
    request = astro.put("/astro/api/profile", json=birth(), headers=me["headers"])
    async with astro_app.state.contexts["astro"].db.raw() as db:
        deletion = "DELETE FROM astro_profiles WHERE id = $1"
        answer = await committed_under(db, deletion, uuid.UUID(me["id"]), request=request)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"
