"""Writes racing a deletion committed meanwhile answer 4xx, never 500, and the deletion misses nothing.

:func:`tests.support.races.committed_under` makes each interleaving happen every time: one side's
transaction stays open until the other waits on a row it holds.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import socketio

from shared.tenant import TenantContext
from tenants.seacalendar import store
from tests.support.races import committed_under
from tests.support.waiting import wait_for
from tests.tenants.seacalendar.conftest import API, Member, SignIn, assert_error, create_poll

DELETE_USER = "DELETE FROM users WHERE id = $1"


async def racing(
    sea: httpx.AsyncClient, ctx: TenantContext, deletion: str, row: int, member: Member, path: str, body: Any
) -> httpx.Response:
    """``member``'s POST, answered while ``deletion`` of ``row`` commits under it."""
    request = sea.post(API + path, json=body, headers=member.auth)
    async with ctx.db.raw() as db:
        return await committed_under(db, deletion, row, request=request)


async def test_writes_of_an_account_deleted_meanwhile_are_signed_out_and_leave_nothing(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    host = await sign_in("Host")
    finalized = await create_poll(sea, host, is_private=False)
    chosen = {"option_id": finalized["options"][0]["id"]}
    assert (
        await sea.post(f"{API}/polls/{finalized['id']}/finalize", json=chosen, headers=host.auth)
    ).status_code == 200
    voting = await create_poll(sea, host, is_private=False)
    writes = [
        ("/polls", {"type": "generic", "title": "Late", "options": [{"label": "Yes"}]}),
        (f"/polls/{finalized['id']}/memories", {"kind": "note", "text": "Great night"}),
        (f"/polls/{voting['id']}/vote", {"available": [voting["options"][0]["id"]]}),
    ]
    for path, body in writes:
        gone = await sign_in("Gone")
        answer = await racing(sea, sea_ctx, DELETE_USER, gone.id, gone, path, body)
        assert_error(answer, 401, "unauthorized")
    async with sea_ctx.db.raw() as db:
        assert await db.fetchval("SELECT count(*) FROM polls WHERE title = 'Late'") == 0
        assert await db.fetchval("SELECT count(*) FROM memories WHERE poll_id = $1", finalized["id"]) == 0
        assert await db.fetchval("SELECT count(*) FROM votes WHERE poll_id = $1", voting["id"]) == 0


async def test_a_vote_racing_its_polls_deletion_is_not_found(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    host, voter = await sign_in("Host"), await sign_in("Voter")
    poll = await create_poll(sea, host, invitees=[voter.discord_id])
    body, path = {"available": [poll["options"][0]["id"]]}, f"/polls/{poll['id']}/vote"
    answer = await racing(sea, sea_ctx, "DELETE FROM polls WHERE id = $1", poll["id"], voter, path, body)
    assert_error(answer, 404, "not_found")


async def test_a_deletion_waits_for_a_vote_in_flight_and_its_watchers_see_the_vote_go(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    host, leaving = await sign_in("Host"), await sign_in("Leaving")
    poll = await create_poll(sea, host, invitees=[leaving.discord_id])
    tallies: list[dict[str, Any]] = []
    watcher = socketio.AsyncClient(reconnection=False)
    watcher.on("vote_updated", tallies.append, namespace="/seacalendar")
    await watcher.connect(sea_url, auth={"token": host.access}, namespaces=["/seacalendar"], transports=["websocket"],
                          wait_timeout=5)  # fmt: skip
    try:
        assert (await watcher.call("join", {"room": f"poll:{poll['id']}"}, namespace="/seacalendar", timeout=5))["ok"]
        # Their first vote on this poll, not yet committed when the deletion starts.
        vote = "INSERT INTO votes (poll_id, user_id, available_option_ids) VALUES ($1, $2, $3)"
        deletion = sea.request("DELETE", f"{API}/users/me", headers=leaving.auth)
        async with sea_ctx.db.raw() as db:
            answer = await committed_under(
                db, vote, poll["id"], leaving.id, [poll["options"][0]["id"]], request=deletion
            )
        assert answer.status_code == 204, answer.text
        # The deletion saw the vote it waited for, took it, and told the poll's watchers.
        last = await wait_for(lambda: tallies and tallies[-1])
    finally:
        await watcher.disconnect()
    assert last["poll_id"] == poll["id"] and last["tally"]["voters"] == 0
    assert last["tally"]["version"] == 1  # newer than the tally the vote's page held (0: written by hand here)
    async with sea_ctx.db.raw() as db:
        assert await db.fetchval("SELECT count(*) FROM votes WHERE poll_id = $1", poll["id"]) == 0


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
