"""Writes that lose a race with a deletion committed meanwhile answer 4xx, never 500.

Each request finds what it refers to when it looks, and finds it gone when its write commits
(:func:`tests.support.races.committed_under` makes that interleaving happen every time).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.tenant import TenantContext
from tenants.seacalendar import store
from tests.support.races import committed_under
from tests.tenants.seacalendar.conftest import API, Member, SignIn, assert_error, create_poll


async def racing(
    sea: httpx.AsyncClient, ctx: TenantContext, deletion: str, row: int, member: Member, path: str, body: Any
) -> httpx.Response:
    """``member``'s POST, answered while ``deletion`` of ``row`` commits under it."""
    request = sea.post(API + path, json=body, headers=member.auth)
    async with ctx.db.raw() as db:
        return await committed_under(db, deletion, row, request=request)


async def test_writes_of_an_account_deleted_meanwhile_are_conflicts_and_leave_nothing(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    host = await sign_in("Host")
    finalized = await create_poll(sea, host, is_private=False)
    chosen = {"option_id": finalized["options"][0]["id"]}
    assert (
        await sea.post(f"{API}/polls/{finalized['id']}/finalize", json=chosen, headers=host.auth)
    ).status_code == 200
    writes = [
        ("/polls", {"type": "generic", "title": "Late", "options": [{"label": "Yes"}]}),
        (f"/polls/{finalized['id']}/memories", {"kind": "note", "text": "Great night"}),
    ]
    for path, body in writes:
        gone = await sign_in("Gone")
        answer = await racing(sea, sea_ctx, "DELETE FROM users WHERE id = $1", gone.id, gone, path, body)
        assert "deleted" in assert_error(answer, 409, "conflict")["message"]
    async with sea_ctx.db.raw() as db:
        assert await db.fetchval("SELECT count(*) FROM polls WHERE title = 'Late'") == 0
        assert await db.fetchval("SELECT count(*) FROM memories WHERE poll_id = $1", finalized["id"]) == 0


async def test_a_vote_racing_the_voters_or_the_polls_deletion_is_refused(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    host, voter = await sign_in("Host"), await sign_in("Voter")
    poll = await create_poll(sea, host, invitees=[voter.discord_id])
    body = {"available": [poll["options"][0]["id"]]}
    path = f"/polls/{poll['id']}/vote"
    gone = await racing(sea, sea_ctx, "DELETE FROM users WHERE id = $1", voter.id, voter, path, body)
    assert_error(gone, 409, "conflict")
    voter = await sign_in("Voter")
    poll = await create_poll(sea, host, invitees=[voter.discord_id])
    body, path = {"available": [poll["options"][0]["id"]]}, f"/polls/{poll['id']}/vote"
    assert_error(
        await racing(sea, sea_ctx, "DELETE FROM polls WHERE id = $1", poll["id"], voter, path, body), 404, "not_found"
    )


async def test_an_event_deleted_while_its_calendar_file_is_made_is_not_found(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = await sign_in("Host")
    poll = await create_poll(sea, host, is_private=False)
    chosen = {"option_id": poll["options"][0]["id"]}
    assert (await sea.post(f"{API}/polls/{poll['id']}/finalize", json=chosen, headers=host.auth)).status_code == 200
    looked_up = store.visible_poll

    async def then_deleted(*args: Any, **kwargs: Any) -> Any:
        # A plain read waits on no lock, so the deletion is committed right after the lookup.
        row = await looked_up(*args, **kwargs)
        async with sea_ctx.db.raw() as db:
            await db.execute("DELETE FROM polls WHERE id = $1", row.id)
        return row

    monkeypatch.setattr(store, "visible_poll", then_deleted)
    assert_error(await sea.get(f"{API}/polls/{poll['id']}/event.ics", headers=host.auth), 404, "not_found")
