"""Profiles over HTTP: places, time zones, charts on save, deletion, and every kind of bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.tenants.astro.conftest import SignIn


def birth(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "birth_date": "1988-03-14",
        "birth_time": "06:45",
        "birth_place": {"city": "Kochi", "country": "IN"},
        "visibility": "private",
    }
    return {**body, **overrides}


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_save_computes_and_stores_charts(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    me = await sign_in("kochi")
    saved = await astro.put("/astro/api/profile", json=birth(), headers=me["headers"])
    assert saved.status_code == 200, saved.text
    doc = saved.json()
    assert doc["birth"]["utc"] == "1988-03-14T01:15:00+00:00"  # IST, +05:30
    assert doc["birth"]["utc_offset"] == "+05:30" and doc["birth"]["timezone"] == "Asia/Kolkata"
    assert doc["birth_location"]["city"] == "Kochi" and doc["birth_location"]["country"] == "IN"
    chart = doc["chart"]
    assert [b["body"] for b in chart["d1"]["bodies"]] == [
        "Sun", "Moon", "Mars", "Mercury", "Jupiter", "Venus", "Saturn", "Rahu", "Ketu",
    ]  # fmt: skip
    assert chart["d1"]["ascendant"]["sign"] and chart["d9"]["ascendant"]["sign"]
    sun = chart["d1"]["bodies"][0]
    assert sun["sign"] == "Aquarius" and sun["house"] is not None  # sidereal Sun ≈ 0° Pisces − 1°
    assert (await astro.get("/astro/api/profile", headers=me["headers"])).json() == doc


async def test_coordinates_get_their_time_zone(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    me = await sign_in("nyc")
    place = {"lat": 40.7128, "lon": -74.006, "name": "Manhattan"}
    saved = await astro.put("/astro/api/profile", json=birth(birth_place=place), headers=me["headers"])
    assert saved.status_code == 200, saved.text
    assert saved.json()["birth_location"]["timezone"] == "America/New_York"
    assert saved.json()["birth"]["utc"] == "1988-03-14T11:45:00+00:00"


async def test_ambiguous_city_offers_candidates_to_pick(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    me = await sign_in("paris")
    ambiguous = await astro.put("/astro/api/profile", json=birth(birth_place={"city": "paris"}), headers=me["headers"])
    assert ambiguous.status_code == 409 and code(ambiguous) == "ambiguous_place"
    candidates = ambiguous.json()["error"]["details"]["candidates"]
    assert {c["country"] for c in candidates} >= {"FR", "US"}
    texas = next(c for c in candidates if c["timezone"] == "America/Chicago")
    picked = await astro.put(
        "/astro/api/profile", json=birth(birth_place={"geonameid": texas["geonameid"]}), headers=me["headers"]
    )
    assert picked.status_code == 200 and picked.json()["birth_location"]["timezone"] == "America/Chicago"
    by_country = await astro.put(
        "/astro/api/profile", json=birth(birth_place={"city": "Paris", "country": "fr"}), headers=me["headers"]
    )
    assert by_country.json()["birth_location"]["timezone"] == "Europe/Paris"


async def test_a_city_of_that_very_name_wins_over_alternate_names(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    """ "London, GB" also matched the City of London (an alternate name) and asked which one."""
    me = await sign_in("london")
    saved = await astro.put(
        "/astro/api/profile", json=birth(birth_place={"city": "London", "country": "GB"}), headers=me["headers"]
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["birth_location"]["city"] == "London"
    assert saved.json()["birth_location"]["timezone"] == "Europe/London"
    # Two Londons of that name (England, Ontario) are still a question to the member.
    anywhere = await astro.put("/astro/api/profile", json=birth(birth_place={"city": "London"}), headers=me["headers"])
    assert anywhere.status_code == 409 and code(anywhere) == "ambiguous_place"
    assert {c["country"] for c in anywhere.json()["error"]["details"]["candidates"]} >= {"GB", "CA"}


async def test_alternate_and_accented_names(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    me = await sign_in("munich")
    for name in ("München", "munchen", "MUNICH"):
        saved = await astro.put(
            "/astro/api/profile", json=birth(birth_place={"city": name, "country": "DE"}), headers=me["headers"]
        )
        assert saved.status_code == 200, (name, saved.text)
        assert saved.json()["birth_location"]["city"] == "Munich"


async def test_daylight_saving_change_and_historical_offset(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    me = await sign_in("berlin")
    berlin = {"city": "Berlin", "country": "DE"}
    twice = birth(birth_date="2021-10-31", birth_time="02:30", birth_place=berlin)
    ambiguous = await astro.put("/astro/api/profile", json=twice, headers=me["headers"])
    assert ambiguous.status_code == 409 and code(ambiguous) == "ambiguous_local_time"
    second = await astro.put("/astro/api/profile", json={**twice, "fold": 1}, headers=me["headers"])
    assert second.status_code == 200 and second.json()["birth"]["utc"] == "2021-10-31T01:30:00+00:00"
    skipped = birth(birth_date="2021-03-28", birth_time="02:30", birth_place=berlin)
    gap = await astro.put("/astro/api/profile", json=skipped, headers=me["headers"])
    assert gap.status_code == 422 and code(gap) == "nonexistent_local_time"
    old = birth(birth_date="1935-06-01", birth_time="12:00", birth_place={"city": "Amsterdam", "country": "NL"})
    amsterdam = await astro.put("/astro/api/profile", json=old, headers=me["headers"])
    assert amsterdam.json()["birth"]["utc_offset"] == "+01:19:32"
    assert amsterdam.json()["birth"]["utc"] == "1935-06-01T10:40:28+00:00"


async def test_unknown_birth_time(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    me = await sign_in("noclock")
    body = birth(time_known=False)
    del body["birth_time"]
    saved = await astro.put("/astro/api/profile", json=body, headers=me["headers"])
    assert saved.status_code == 200, saved.text
    chart = saved.json()["chart"]
    assert chart["time_known"] is False and chart["d1"]["ascendant"] is None
    assert saved.json()["birth"]["time"] is None and saved.json()["birth"]["utc"] == "1988-03-14T06:30:00+00:00"
    assert all(b["house"] is None for b in chart["d1"]["bodies"])


async def test_delete_forgets_birth_data(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    me = await sign_in("forgetful")
    await astro.put("/astro/api/profile", json=birth(visibility="members"), headers=me["headers"])
    assert (await astro.delete("/astro/api/profile", headers=me["headers"])).status_code == 204
    doc = (await astro.get("/astro/api/profile", headers=me["headers"])).json()
    assert doc["birth"] is None and doc["birth_location"] is None and doc["chart"] is None
    assert doc["visibility"] == "private" and doc["mastodon"]["acct"] == "forgetful@fake.test"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"birth_date": "2023-02-30"}, 422, "validation_error"),
        ({"birth_date": "1899-12-31"}, 422, "validation_error"),
        ({"birth_date": "14/03/1988"}, 422, "validation_error"),
        ({"birth_date": 19880314}, 422, "validation_error"),
        ({"birth_date": "2999-01-01"}, 422, "future_birth"),
        ({"birth_date": "9999-12-31", "birth_time": "23:59"}, 422, "future_birth"),  # no next day to compute
        ({"birth_time": "25:00"}, 422, "validation_error"),
        ({"birth_time": "6:45"}, 422, "validation_error"),
        ({"birth_time": None}, 422, "validation_error"),
        ({"time_known": False}, 422, "validation_error"),
        ({"fold": 2}, 422, "validation_error"),
        ({"visibility": "public"}, 422, "validation_error"),
        ({"birth_place": {"lat": 91, "lon": 0}}, 422, "validation_error"),
        ({"birth_place": {"lat": 0, "lon": -180.5}}, 422, "validation_error"),
        ({"birth_place": {"lat": 10}}, 422, "validation_error"),
        ({"birth_place": {"city": "Kochi", "lat": 1, "lon": 2}}, 422, "validation_error"),
        ({"birth_place": {}}, 422, "validation_error"),
        ({"birth_place": {"city": "x" * 101}}, 422, "validation_error"),
        ({"birth_place": {"city": "Atlantis Under The Sea"}}, 422, "unknown_place"),
        ({"birth_place": {"geonameid": 1}}, 422, "unknown_place"),
        ({"horoscope": "yes"}, 422, "validation_error"),
    ],
)
async def test_bad_profile_input(
    astro: httpx.AsyncClient, sign_in: SignIn, change: dict[str, Any], status: int, error: str
) -> None:
    me = await sign_in("typo")
    response = await astro.put("/astro/api/profile", json=birth(**change), headers=me["headers"])
    assert response.status_code == status, response.text
    assert code(response) == error


async def test_bad_bodies_and_missing_auth(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    me = await sign_in("sloppy")
    headers = {**me["headers"], "Content-Type": "application/json"}
    malformed = await astro.put("/astro/api/profile", content=b'{"birth_date":', headers=headers)
    assert malformed.status_code == 400 and code(malformed) == "malformed_json"
    not_object = await astro.put("/astro/api/profile", json=[1, 2], headers=me["headers"])
    assert not_object.status_code == 422 and code(not_object) == "validation_error"
    huge = await astro.put("/astro/api/profile", content=b"[" + b"1," * 600_000 + b"1]", headers=headers)
    assert huge.status_code == 413 and code(huge) == "payload_too_large"
    for method in ("GET", "PUT", "DELETE"):
        anonymous = await astro.request(method, "/astro/api/profile", json=birth())
        assert anonymous.status_code == 401 and code(anonymous) == "unauthorized"
        forged = await astro.request(method, "/astro/api/profile", headers={"Authorization": "Bearer a.b.c"})
        assert forged.status_code == 401 and code(forged) == "unauthorized"
