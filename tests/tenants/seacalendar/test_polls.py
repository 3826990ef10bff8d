"""Polls and votes: visibility, the live tally, updates, finalising, cancelling, deleting, and the 409/422/404 rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import socketio
import sqlalchemy as sa

from shared.settings import Settings
from shared.tenant import TenantContext
from tenants.seacalendar.bot import scheduler
from tenants.seacalendar.bot.main import bot_dsn, open_pool
from tests.support.waiting import wait_for
from tests.tenants.seacalendar.conftest import API, SignIn, assert_error, create_poll, vote


async def test_create_read_and_tally(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id], venue={"name": "The Anchor"})
    assert poll["status"] == "voting" and poll["is_creator"] and poll["venue"]["name"] == "The Anchor"
    first, second = (o["id"] for o in poll["options"])
    assert poll["invitees"] == [{"discord_id": bob.discord_id, "display_name": "Bob", "has_voted": False}]
    answer = await vote(sea, bob, poll["id"], available=[first], maybe=[second], note="late")
    assert answer.status_code == 200, answer.text
    assert answer.json()["tally"]["options"] == [
        {"option_id": first, "available": 1, "maybe": 0},
        {"option_id": second, "available": 0, "maybe": 1},
    ]
    # Changing a vote replaces it.
    await vote(sea, bob, poll["id"], available=[second])
    doc = (await sea.get(f"{API}/polls/{poll['id']}", headers=bob.auth)).json()
    assert doc["my_vote"]["available"] == [second] and doc["my_vote"]["maybe"] == []
    assert doc["tally"]["voters"] == 1 and not doc["is_creator"]
    assert doc["invitees"] == [{"discord_id": bob.discord_id, "display_name": "Bob", "has_voted": True}]


async def test_a_voter_taken_off_a_private_poll_leaves_the_tally_until_invited_again(
    sea: httpx.AsyncClient, sign_in: SignIn
) -> None:
    ann, bob, dee = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Dee")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, dee.discord_id])
    first = poll["options"][0]["id"]
    for member in (ann, bob, dee):  # the creator votes without an invite of her own
        assert (await vote(sea, member, poll["id"], available=[first])).status_code == 200

    async def counted() -> tuple[int, int, int]:
        doc = (await sea.get(f"{API}/polls/{poll['id']}", headers=ann.auth)).json()
        (listed,) = [
            p for p in (await sea.get(f"{API}/polls", headers=ann.auth)).json()["polls"] if p["id"] == poll["id"]
        ]
        return doc["tally"]["voters"], doc["tally"]["options"][0]["available"], listed["voters"]

    assert await counted() == (3, 3, 3)
    invitees = await sea.put(f"{API}/polls/{poll['id']}", json={"invitees": [bob.discord_id]}, headers=ann.auth)
    assert invitees.json()["tally"]["voters"] == 2
    assert await counted() == (2, 2, 2)
    again = await sea.put(
        f"{API}/polls/{poll['id']}", json={"invitees": [bob.discord_id, dee.discord_id]}, headers=ann.auth
    )
    assert {"discord_id": dee.discord_id, "display_name": "Dee", "has_voted": True} in again.json()["invitees"]
    assert await counted() == (3, 3, 3)


async def test_the_creator_moves_the_place_or_takes_it_off(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann, venue={"name": "The Anchor", "url": "https://maps.example/a"})
    base = f"{API}/polls/{poll['id']}"
    moved = (await sea.put(base, json={"venue": {"name": "The Ship", "address": "2 Dock Rd"}}, headers=ann.auth)).json()
    assert (moved["venue"]["name"], moved["venue"]["address"], moved["venue"]["url"]) == ("The Ship", "2 Dock Rd", None)
    # Leaving it out of a change keeps it; an explicit null takes it off.
    assert (await sea.put(base, json={"title": "Quiz"}, headers=ann.auth)).json()["venue"]["name"] == "The Ship"
    assert (await sea.put(base, json={"venue": None}, headers=ann.auth)).json()["venue"] is None
    assert_error(await sea.put(base, json={"venue": {"name": ""}}, headers=ann.auth), 422, "validation_error")
    bad_link = {"venue": {"name": "x", "url": "nope"}}
    assert_error(await sea.put(base, json=bad_link, headers=ann.auth), 422, "validation_error")


async def test_list_mine_and_invited_with_status_filter(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, bob, cy = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy")
    mine = await create_poll(sea, ann, title="Mine")
    invited = await create_poll(sea, bob, title="Invited", invitees=[ann.discord_id])
    await create_poll(sea, cy, title="Public but not mine", is_private=False)
    listed = (await sea.get(f"{API}/polls", headers=ann.auth)).json()["polls"]
    assert [p["id"] for p in listed] == [invited["id"], mine["id"]]
    await sea.post(f"{API}/polls/{mine['id']}/cancel", headers=ann.auth)
    cancelled = (await sea.get(f"{API}/polls", params={"status": "cancelled"}, headers=ann.auth)).json()["polls"]
    assert [p["id"] for p in cancelled] == [mine["id"]]
    page = (await sea.get(f"{API}/polls", params={"limit": 1, "before": invited["id"]}, headers=ann.auth)).json()
    assert [p["id"] for p in page["polls"]] == [mine["id"]]


async def test_private_poll_is_404_to_strangers_and_public_one_is_open(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, stranger = await sign_in("Ann"), await sign_in("Stranger")
    private = await create_poll(sea, ann)
    option = private["options"][0]["id"]
    assert_error(await sea.get(f"{API}/polls/{private['id']}", headers=stranger.auth), 404, "not_found")
    assert_error(await vote(sea, stranger, private["id"], available=[option]), 404, "not_found")
    public = await create_poll(sea, ann, is_private=False)
    assert (await vote(sea, stranger, public["id"], available=[public["options"][0]["id"]])).status_code == 200


async def test_drafts_are_hidden_until_published(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    draft = await create_poll(sea, ann, status="draft", invitees=[bob.discord_id])
    assert_error(await sea.get(f"{API}/polls/{draft['id']}", headers=bob.auth), 404, "not_found")
    assert_error(await vote(sea, ann, draft["id"], available=[draft["options"][0]["id"]]), 409, "poll_draft")
    published = await sea.put(f"{API}/polls/{draft['id']}", json={"status": "voting"}, headers=ann.auth)
    assert published.status_code == 200 and published.json()["status"] == "voting"
    assert (await sea.get(f"{API}/polls/{draft['id']}", headers=bob.auth)).status_code == 200


async def test_vote_rules(sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    other = await create_poll(sea, ann)
    assert_error(await vote(sea, bob, poll["id"], available=[other["options"][0]["id"]]), 422, "unknown_option")
    both = poll["options"][0]["id"]
    assert_error(await vote(sea, bob, poll["id"], available=[both], maybe=[both]), 422, "validation_error")
    async with sea_ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE polls SET voting_deadline = :d WHERE id = :id"),
            {"d": datetime.now(UTC) - timedelta(minutes=1), "id": poll["id"]},
        )
    assert_error(await vote(sea, bob, poll["id"], available=[both]), 409, "voting_closed")
    finalized = await sea.post(
        f"{API}/polls/{other['id']}/finalize", json={"option_id": other["options"][0]["id"]}, headers=ann.auth
    )
    assert finalized.status_code == 200
    assert_error(await vote(sea, ann, other["id"], available=[other["options"][0]["id"]]), 409, "poll_finalized")


async def test_only_the_creator_updates_finalizes_and_cancels(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    option = poll["options"][0]["id"]
    assert_error(await sea.put(f"{API}/polls/{poll['id']}", json={"title": "x"}, headers=bob.auth), 403, "not_creator")
    assert_error(
        await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": option}, headers=bob.auth),
        403,
        "not_creator",
    )
    assert_error(await sea.post(f"{API}/polls/{poll['id']}/cancel", headers=bob.auth), 403, "not_creator")
    cancelled = await sea.post(f"{API}/polls/{poll['id']}/cancel", headers=ann.auth)
    assert cancelled.json()["status"] == "cancelled"
    assert_error(await sea.post(f"{API}/polls/{poll['id']}/cancel", headers=ann.auth), 409, "poll_cancelled")
    assert_error(
        await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": option}, headers=ann.auth),
        409,
        "poll_cancelled",
    )


async def test_the_creator_deletes_a_poll_in_any_state_with_what_hangs_on_it(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    ann, bob, eve = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Eve")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id], is_private=True)
    base = f"{API}/polls/{poll['id']}"
    assert (await vote(sea, bob, poll["id"], available=[poll["options"][0]["id"]])).status_code == 200
    finalized = await sea.post(f"{base}/finalize", json={"option_id": poll["options"][0]["id"]}, headers=ann.auth)
    assert finalized.status_code == 200, finalized.text
    assert (await sea.post(f"{base}/memories", json={"text": "Fun"}, headers=bob.auth)).status_code == 201
    assert_error(await sea.delete(base, headers=bob.auth), 403, "not_creator")
    assert_error(await sea.delete(base, headers=eve.auth), 404, "not_found")  # private: not even there to her

    assert (await sea.delete(base, headers=ann.auth)).status_code == 204
    assert_error(await sea.get(base, headers=ann.auth), 404, "not_found")
    assert_error(await sea.delete(base, headers=ann.auth), 404, "not_found")  # a retry finds nothing to do
    assert poll["id"] not in [p["id"] for p in (await sea.get(f"{API}/polls", headers=bob.auth)).json()["polls"]]
    async with sea_ctx.db.connect() as conn:
        for table in ("poll_options", "votes", "invites", "reminders", "memories"):
            left = f"SELECT count(*) FROM {table} WHERE poll_id = :p"
            assert (await conn.execute(sa.text(left), {"p": poll["id"]})).scalar() == 0, table
    # A draft goes the same way, and the creator keeps their other polls.
    draft = await create_poll(sea, ann, status="draft")
    kept = await create_poll(sea, ann)
    assert (await sea.delete(f"{API}/polls/{draft['id']}", headers=ann.auth)).status_code == 204
    assert (await sea.get(f"{API}/polls/{kept['id']}", headers=ann.auth)).status_code == 200


async def test_voted_options_need_clear_votes_to_be_removed(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id])
    keep, drop = (o["id"] for o in poll["options"])
    await vote(sea, bob, poll["id"], available=[keep, drop])
    options = [{"id": keep, "date": "2030-06-01", "start_time": "20:00"}, {"date": "2030-06-03"}]
    refused = await sea.put(f"{API}/polls/{poll['id']}", json={"options": options}, headers=ann.auth)
    assert assert_error(refused, 409, "option_has_votes")["details"] == {"option_ids": [drop]}
    updated = await sea.put(
        f"{API}/polls/{poll['id']}", json={"options": options, "clear_votes": True, "title": "Moved"}, headers=ann.auth
    )
    assert updated.status_code == 200, updated.text
    doc = updated.json()
    assert doc["title"] == "Moved" and [o["start_time"] for o in doc["options"]] == ["20:00:00", None]
    mine = (await sea.get(f"{API}/polls/{poll['id']}", headers=bob.auth)).json()["my_vote"]
    assert mine["available"] == [keep]
    foreign = [{"id": 2**40, "date": "2030-06-01"}]
    assert_error(
        await sea.put(f"{API}/polls/{poll['id']}", json={"options": foreign}, headers=ann.auth), 422, "unknown_option"
    )


async def test_a_vote_that_no_longer_counts_does_not_hold_an_option(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, bob, cy = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, cy.discord_id])
    keep, drop = (o["id"] for o in poll["options"])
    await vote(sea, bob, poll["id"], available=[keep, drop])
    url = f"{API}/polls/{poll['id']}"
    assert (await sea.put(url, json={"invitees": [cy.discord_id]}, headers=ann.auth)).json()["tally"]["voters"] == 0
    # Bob's kept vote is not in the tally, so nobody has voted for ``drop``: no clear_votes needed.
    options = [{"id": keep, "date": "2030-06-01"}]
    updated = await sea.put(url, json={"options": options}, headers=ann.auth)
    assert updated.status_code == 200, updated.text
    assert [o["id"] for o in updated.json()["options"]] == [keep]
    # Invited again, his vote counts again, for the options that remain.
    again = (await sea.put(url, json={"invitees": [bob.discord_id, cy.discord_id]}, headers=ann.auth)).json()
    assert again["tally"]["voters"] == 1
    assert again["tally"]["options"] == [{"option_id": keep, "available": 1, "maybe": 0}]
    assert (await sea.get(url, headers=bob.auth)).json()["my_vote"]["available"] == [keep]
    # The rule is applied to the poll as the update leaves it: taking Bob off and removing the
    # option he chose, in one request, needs no clear_votes.
    second = {"date": "2030-06-02"}
    added = (await sea.put(url, json={"options": [*options, second]}, headers=ann.auth)).json()["options"]
    await vote(sea, bob, poll["id"], available=[added[1]["id"]])
    both = [{"id": keep, "date": "2030-06-01"}]
    assert_error(await sea.put(url, json={"options": both}, headers=ann.auth), 409, "option_has_votes")
    removed = await sea.put(url, json={"options": both, "invitees": [cy.discord_id]}, headers=ann.auth)
    assert removed.status_code == 200, removed.text


async def test_finalize_schedules_event_reminders_and_cancels_vote_reminders(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext
) -> None:
    ann = await sign_in("Ann")
    poll = await create_poll(sea, ann, voting_deadline=(datetime.now(UTC) + timedelta(days=5)).isoformat())
    query = sa.text("SELECT type, status FROM reminders WHERE poll_id = :p ORDER BY type")
    async with sea_ctx.db.connect() as conn:
        assert [tuple(r) for r in await conn.execute(query, {"p": poll["id"]})] == [
            ("vote_1d", "pending"),
            ("vote_3d", "pending"),
        ]
    option = poll["options"][1]["id"]
    done = await sea.post(f"{API}/polls/{poll['id']}/finalize", json={"option_id": option}, headers=ann.auth)
    assert done.json()["status"] == "finalized" and done.json()["finalized_option_id"] == option
    async with sea_ctx.db.connect() as conn:
        rows = {r.type: r.status for r in await conn.execute(query, {"p": poll["id"]})}
    assert rows == {
        "vote_1d": "cancelled",
        "vote_3d": "cancelled",
        "event_1w": "pending",
        "event_1d": "pending",
        "event_2h": "pending",
    }


async def test_a_draft_keeps_its_vote_reminders_for_when_it_is_published(
    sea: httpx.AsyncClient, sign_in: SignIn, sea_ctx: TenantContext, make_settings: Callable[..., Settings]
) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    draft = await create_poll(sea, ann, status="draft", invitees=[bob.discord_id], voting_deadline=None)
    url, days = f"{API}/polls/{draft['id']}", lambda n: (datetime.now(UTC) + timedelta(days=n)).isoformat()
    # A deadline set while drafting, whose 3-day reminder falls due while it is still a draft...
    assert (await sea.put(url, json={"voting_deadline": days(3.5)}, headers=ann.auth)).status_code == 200
    async with sea_ctx.db.transaction() as conn:
        await conn.execute(
            sa.text("UPDATE reminders SET scheduled_for = now() - interval '1 second' WHERE poll_id = :p"),
            {"p": draft["id"]},
        )
    pool = await open_pool(bot_dsn(make_settings(tenants=["seacalendar"])))
    try:
        await scheduler.expand_due_reminders(pool)  # the bot's pass
    finally:
        await pool.close()
    # ...then moved and published: the invitee is still reminded 3 days and 1 day before it.
    answer = await sea.put(url, json={"voting_deadline": days(10), "status": "voting"}, headers=ann.auth)
    assert answer.status_code == 200, answer.text
    async with sea_ctx.db.connect() as conn:
        rows = await conn.execute(sa.text("SELECT type, status FROM reminders WHERE poll_id = :p"), {"p": draft["id"]})
        assert {r.type: r.status for r in rows} == {"vote_3d": "pending", "vote_1d": "pending"}


async def test_invitees_carry_the_names_of_those_who_have_signed_in(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    ann, bob = await sign_in("Ann"), await sign_in("Bob")
    stranger = "199999999999999999"
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, stranger])
    names = {i["discord_id"]: i["display_name"] for i in poll["invitees"]}
    assert names == {bob.discord_id: "Bob", stranger: None}
    # The name is the account's current one, not a copy taken when the invite was made.
    renamed = await sea.put(f"{API}/users/me", json={"display_name": "Robert"}, headers=bob.auth)
    assert renamed.status_code == 200, renamed.text
    doc = (await sea.get(f"{API}/polls/{poll['id']}", headers=bob.auth)).json()
    assert {i["discord_id"]: i["display_name"] for i in doc["invitees"]}[bob.discord_id] == "Robert"


async def test_who_was_invited_is_for_the_creator_and_invitees(
    sea: httpx.AsyncClient, sea_url: str, sign_in: SignIn
) -> None:
    ann, bob, cy = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy")
    poll = await create_poll(sea, ann, is_private=False, invitees=[bob.discord_id])
    url = f"{API}/polls/{poll['id']}"
    invited = [{"discord_id": bob.discord_id, "display_name": "Bob", "has_voted": False}]
    assert poll["invitees"] == invited and poll["invitee_count"] == 1
    assert (await sea.get(url, headers=bob.auth)).json()["invitees"] == invited
    # Cy may see and vote in the public poll, but learns only how many were invited.
    seen = (await sea.get(url, headers=cy.auth)).json()
    assert seen["invitees"] is None and seen["invitee_count"] == 1
    client = socketio.AsyncClient(reconnection=False)
    events: list[tuple[str, Any]] = []
    for name in ("vote_updated", "poll_updated", "poll_finalized"):
        client.on(name, lambda data, name=name: events.append((name, data)), namespace="/seacalendar")
    await client.connect(sea_url, auth={"token": cy.access}, namespaces=["/seacalendar"], transports=["websocket"],
                         wait_timeout=5)  # fmt: skip
    try:
        joined = await client.call("join", {"room": f"poll:{poll['id']}"}, namespace="/seacalendar", timeout=5)
        assert joined["ok"], joined
        option = poll["options"][0]["id"]
        assert (await vote(sea, bob, poll["id"], available=[option])).status_code == 200
        assert (await vote(sea, cy, poll["id"], available=[option])).status_code == 200
        assert (await sea.put(url, json={"title": "Moved"}, headers=ann.auth)).status_code == 200
        finalized = await sea.post(f"{url}/finalize", json={"option_id": option}, headers=ann.auth)
        assert finalized.status_code == 200 and finalized.json()["invitees"] is not None
        await wait_for(lambda: [name for name, _ in events][-1:] == ["poll_finalized"])
    finally:
        await client.disconnect()
    # Nor do the live events, which reach everyone watching the poll, nor anyone's list of polls.
    assert [name for name, _ in events] == ["vote_updated", "vote_updated", "poll_updated", "poll_finalized"]
    assert bob.discord_id not in json.dumps(events)
    after = (await sea.get(url, headers=cy.auth)).json()
    assert after["invitees"] is None and after["tally"]["voters"] == 2
    listed = (await sea.get(f"{API}/polls", headers=ann.auth)).text
    assert str(poll["id"]) in listed and bob.discord_id not in listed


async def test_every_tally_change_has_a_newer_version(sea: httpx.AsyncClient, sign_in: SignIn) -> None:
    """Pages keep the newest of the tallies they get (answers and live events); the version orders them."""
    ann, bob, cy = await sign_in("Ann"), await sign_in("Bob"), await sign_in("Cy")
    poll = await create_poll(sea, ann, invitees=[bob.discord_id, cy.discord_id])
    first = poll["options"][0]["id"]
    url = f"{API}/polls/{poll['id']}"
    assert poll["tally"]["version"] == 0
    versions = [
        (await vote(sea, who, poll["id"], available=[first])).json()["tally"]["version"] for who in (bob, cy, bob)
    ]
    assert versions == [1, 2, 3]
    assert (await sea.get(url, headers=cy.auth)).json()["tally"]["version"] == 3
    # Taking Cy off the invitees drops Cy's vote from the tally: a change like any vote.
    changed = (await sea.put(url, json={"invitees": [bob.discord_id]}, headers=ann.auth)).json()["tally"]
    assert changed["version"] == 4 and changed["voters"] == 1
    finalized = await sea.post(f"{url}/finalize", json={"option_id": first}, headers=ann.auth)
    assert finalized.json()["tally"]["version"] == 4  # the same votes
