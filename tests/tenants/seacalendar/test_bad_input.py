"""Every endpoint answers bad input with a 4xx in the shared error shape, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.tenants.seacalendar.conftest import API, Member, SignIn, assert_error, create_poll, soon

DATE = {"date": "2030-06-01"}
BAD_BODIES: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/auth/login", b"{oops", 400, "malformed_json"),
    ("POST", "/auth/login", {"username": ""}, 422, "validation_error"),
    ("POST", "/auth/refresh", {}, 422, "validation_error"),
    ("POST", "/auth/refresh", {"refresh_token": "never-issued"}, 401, "invalid_refresh_token"),
    ("POST", "/auth/logout", b"", 400, "malformed_json"),
    ("PUT", "/users/me", {"username": "ok_name"}, 422, "validation_error"),
    ("PUT", "/users/me", {"username": "no spaces!", "password": "long-enough-pw"}, 422, "validation_error"),
    ("PUT", "/users/me", [1, 2], 422, "validation_error"),
    ("PUT", "/users/me", {"current_password": ""}, 422, "validation_error"),
    ("POST", "/polls", b"[", 400, "malformed_json"),
    ("POST", "/polls", {"title": "x", "options": []}, 422, "validation_error"),
    ("POST", "/polls", {"title": "x", "options": [{"label": "no date"}]}, 422, "validation_error"),
    (
        "POST",
        "/polls",
        {"title": "x", "options": [DATE], "voting_deadline": "2001-01-01T00:00:00Z"},
        422,
        "validation_error",
    ),
    (
        "POST",
        "/polls",
        {"title": "x", "options": [DATE], "voting_deadline": "2031-01-01T00:00:00"},
        422,
        "validation_error",
    ),
    ("POST", "/polls", {"title": "x", "options": [DATE], "timezone": "Mars/Olympus"}, 422, "validation_error"),
    ("POST", "/polls", {"title": "x", "options": [DATE], "invitees": ["not-a-snowflake"]}, 422, "validation_error"),
    ("POST", "/polls", {"title": "x", "options": [DATE], "colour": "red"}, 422, "validation_error"),
    (
        "POST",
        "/polls",
        {"title": "x", "options": [{"date": "2030-06-01", "end_time": "10:00"}]},
        422,
        "validation_error",
    ),
    # 9999-12-31 has no next day for an all-day event to end on (its .ics was a 500).
    ("POST", "/polls", {"title": "x", "options": [{"date": "9999-12-31"}]}, 422, "validation_error"),
    ("POST", "/polls", {"title": "x", "options": [{"date": "0001-01-01"}]}, 422, "validation_error"),
    ("POST", "/qotw/questions", {"guild_id": "1", "text": ""}, 422, "validation_error"),
    ("PUT", "/qotw/config", {"guild_id": "1", "channel_id": "2", "weekday": 7, "hour": 1}, 422, "validation_error"),
    ("PUT", "/qotw/config", {"guild_id": "x", "channel_id": "2", "weekday": 1, "hour": 1}, 422, "validation_error"),
]


@pytest.fixture
async def member(sign_in: SignIn) -> Member:
    return await sign_in("Tester")


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_BODIES)
async def test_bad_bodies(
    sea: httpx.AsyncClient, member: Member, method: str, path: str, body: Any, status: int, code: str
) -> None:
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    headers = {**member.auth, "Content-Type": "application/json"}
    assert_error(await sea.request(method, f"{API}{path}", content=content, headers=headers), status, code)


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/auth/discord", {"response": "xml"}, 422, "validation_error"),
        ("/polls", {"status": "bogus"}, 422, "validation_error"),
        ("/polls", {"limit": "0"}, 422, "validation_error"),
        ("/polls", {"before": "abc"}, 422, "validation_error"),
        ("/polls/999999999", {}, 404, "not_found"),
        ("/polls/99999999999999999999999", {}, 404, "not_found"),
        ("/polls/abc", {}, 404, "not_found"),
        ("/polls/999999999/event.ics", {}, 404, "not_found"),
        ("/polls/999999999/memories", {}, 404, "not_found"),
        ("/qotw/config", {}, 422, "validation_error"),
        ("/qotw/questions", {"guild_id": "abc"}, 422, "validation_error"),
    ],
)
async def test_bad_queries_and_ids(
    sea: httpx.AsyncClient, member: Member, path: str, params: dict[str, str], status: int, code: str
) -> None:
    assert_error(await sea.get(f"{API}{path}", params=params, headers=member.auth), status, code)


async def test_bad_input_on_poll_actions(sea: httpx.AsyncClient, member: Member) -> None:
    poll = await create_poll(sea, member)
    base = f"{API}/polls/{poll['id']}"
    auth = member.auth
    assert_error(await sea.put(base, content=b"{", headers=auth), 400, "malformed_json")
    assert_error(await sea.put(base, json={"title": ""}, headers=auth), 422, "validation_error")
    assert_error(await sea.put(base, json={"status": "finalized"}, headers=auth), 422, "validation_error")
    assert_error(await sea.post(f"{base}/vote", json={"available": [-1]}, headers=auth), 422, "validation_error")
    assert_error(await sea.post(f"{base}/vote", json={"available": ["x"]}, headers=auth), 422, "validation_error")
    assert_error(await sea.post(f"{base}/vote", json={"available": [1, 1]}, headers=auth), 422, "validation_error")
    assert_error(await sea.post(f"{base}/vote", content=b"nope", headers=auth), 400, "malformed_json")
    assert_error(await sea.post(f"{base}/finalize", json={}, headers=auth), 422, "validation_error")
    assert_error(await sea.post(f"{base}/finalize", json={"option_id": 2**40}, headers=auth), 422, "unknown_option")
    assert_error(await sea.post(f"{base}/memories", json={"kind": "link"}, headers=auth), 422, "validation_error")
    assert_error(await sea.post(f"{API}/polls/999999999/cancel", headers=auth), 404, "not_found")
    assert_error(await sea.delete(f"{API}/polls/999999999", headers=auth), 404, "not_found")
    assert_error(await sea.delete(f"{API}/polls/abc", headers=auth), 404, "not_found")
    assert_error(await sea.delete(f"{API}/polls/99999999999999999999999", headers=auth), 404, "not_found")
    assert_error(await sea.post(f"{API}/polls/999999999/vote", json={}, headers=auth), 404, "not_found")
    assert_error(
        await sea.post(f"{API}/qotw/questions/999999999/responses", json={"text": "a"}, headers=auth), 404, "not_found"
    )
    assert_error(
        await sea.post(f"{API}/qotw/questions/1/responses", json={"text": ""}, headers=auth), 422, "validation_error"
    )
    huge = {"title": "x" * 2_000_000, "options": [DATE], "voting_deadline": soon()}
    assert_error(await sea.post(f"{API}/polls", json=huge, headers=auth), 413, "payload_too_large")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/users/me"),
        ("PUT", "/users/me"),
        ("DELETE", "/users/me"),
        ("GET", "/polls"),
        ("POST", "/polls"),
        ("GET", "/polls/1"),
        ("PUT", "/polls/1"),
        ("DELETE", "/polls/1"),
        ("POST", "/polls/1/vote"),
        ("POST", "/polls/1/finalize"),
        ("POST", "/polls/1/cancel"),
        ("GET", "/polls/1/event.ics"),
        ("GET", "/polls/1/memories"),
        ("POST", "/polls/1/memories"),
        ("DELETE", "/polls/1/memories/1"),
        ("GET", "/guilds"),
        ("GET", "/qotw/config"),
        ("PUT", "/qotw/config"),
        ("GET", "/qotw/questions"),
        ("POST", "/qotw/questions"),
        ("POST", "/qotw/questions/1/responses"),
    ],
)
async def test_every_member_endpoint_needs_a_token(sea: httpx.AsyncClient, method: str, path: str) -> None:
    assert_error(await sea.request(method, f"{API}{path}", json={}), 401, "unauthorized")
    # The alias prefix reaches the same routes.
    assert_error(await sea.request(method, f"/api/seacalendar{path}", json={}), 401, "unauthorized")
