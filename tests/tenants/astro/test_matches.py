"""Members, compatibility and privacy: nobody but the owner ever receives birth data."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tenants.astro.compat import Moon, mutual
from tests.tenants.astro.conftest import SignIn

SUMMARY_KEYS = {"id", "acct", "display_name", "avatar", "moon_sign", "moon_nakshatra", "moon_uncertain", "sun_sign"}


async def member_with_chart(
    astro: httpx.AsyncClient, sign_in: SignIn, name: str, day: str, visibility: str
) -> dict[str, Any]:
    me = await sign_in(name)
    body = {
        "birth_date": day,
        "birth_time": "21:07",
        "birth_place": {"lat": -37.8136, "lon": 144.9631, "name": f"{name}'s hospital"},
        "visibility": visibility,
    }
    saved = await astro.put("/astro/api/profile", json=body, headers=me["headers"])
    assert saved.status_code == 200, saved.text
    return {**me, "profile": saved.json()}


def secrets_of(member: dict[str, Any]) -> list[str]:
    """Strings that would betray a member's birth data if anyone else saw them."""
    profile = member["profile"]
    moon = next(b for b in profile["chart"]["d1"]["bodies"] if b["body"] == "Moon")
    return [
        profile["birth"]["date"],
        profile["birth"]["utc"][:16],
        "21:07",
        "144.9631",
        "-37.8136",
        "hospital",
        str(moon["longitude"])[:7],
        str(moon["degree"])[:6],
    ]


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_matching_and_privacy(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    ada = await member_with_chart(astro, sign_in, "ada", "1990-02-11", "members")
    bo = await member_with_chart(astro, sign_in, "bo", "1991-08-23", "members")
    cy = await member_with_chart(astro, sign_in, "cy", "1989-12-02", "private")
    dee = await sign_in("dee")  # linked, no chart yet

    summary = await astro.get(f"/astro/api/members/{bo['id']}", headers=ada["headers"])
    assert summary.status_code == 200 and set(summary.json()) == SUMMARY_KEYS
    assert summary.json()["acct"] == "bo@fake.test"

    match = await astro.get(f"/astro/api/match/{bo['id']}", headers=ada["headers"])
    assert match.status_code == 200, match.text
    doc = match.json()
    assert [k["koota"] for k in doc["kootas"]] == [
        "varna", "vashya", "tara", "yoni", "graha_maitri", "gana", "bhakoot", "nadi",
    ]  # fmt: skip
    assert doc["max"] == 36 and doc["score"] == sum(k["points"] for k in doc["kootas"])
    moons = [next(b for b in m["profile"]["chart"]["d1"]["bodies"] if b["body"] == "Moon") for m in (ada, bo)]
    expected = mutual(Moon.at(moons[0]["longitude"]), Moon.at(moons[1]["longitude"]))
    assert doc["score"] == expected["score"] and doc["viewer_as"] == expected["viewer_as"]
    back = (await astro.get(f"/astro/api/match/{ada['id']}", headers=bo["headers"])).json()
    assert back["score"] == doc["score"]

    ranked = await astro.get("/astro/api/matches", params={"limit": 100}, headers=ada["headers"])
    assert ranked.status_code == 200
    entries = ranked.json()["matches"]
    ids = [e["member"]["id"] for e in entries]
    assert bo["id"] in ids and ada["id"] not in ids and cy["id"] not in ids and dee["id"] not in ids
    scores = [e["score"] for e in entries]
    assert scores == sorted(scores, reverse=True)
    assert next(e for e in entries if e["member"]["id"] == bo["id"])["score"] == doc["score"]
    assert (
        len((await astro.get("/astro/api/matches", params={"limit": 1}, headers=ada["headers"])).json()["matches"]) == 1
    )

    # Everything Bo and Dee were sent about the others must carry none of their birth data.
    seen = [
        summary.text,
        (await astro.get(f"/astro/api/members/{ada['id']}", headers=bo["headers"])).text,
        json.dumps(back),
        (await astro.get("/astro/api/matches", params={"limit": 100}, headers=bo["headers"])).text,
        (await astro.get(f"/astro/api/members/{cy['id']}", headers=bo["headers"])).text,
        (await astro.get(f"/astro/api/match/{cy['id']}", headers=dee["headers"])).text,
    ]
    for text in seen:
        for secret in secrets_of(ada) + secrets_of(cy):
            assert secret not in text, (secret, text)

    # Once Ada deletes her data she is gone from everyone's view.
    assert (await astro.delete("/astro/api/profile", headers=ada["headers"])).status_code == 204
    gone = await astro.get(f"/astro/api/members/{ada['id']}", headers=bo["headers"])
    assert gone.status_code == 404 and code(gone) == "not_found"
    after = (await astro.get("/astro/api/matches", params={"limit": 100}, headers=bo["headers"])).json()
    assert ada["id"] not in [e["member"]["id"] for e in after["matches"]]
    assert (await astro.get(f"/astro/api/match/{bo['id']}", headers=ada["headers"])).status_code == 409


async def test_member_and_match_errors(astro: httpx.AsyncClient, sign_in: SignIn) -> None:
    eve = await member_with_chart(astro, sign_in, "eve", "1995-05-05", "members")
    hidden = await member_with_chart(astro, sign_in, "hidden", "1996-06-06", "private")
    chartless = await sign_in("chartless")
    for path in ("/astro/api/members", "/astro/api/match"):
        for target in (hidden["id"], chartless["id"], str(uuid.uuid4()), "not-a-uuid"):
            response = await astro.get(f"{path}/{target}", headers=eve["headers"])
            assert response.status_code == 404 and code(response) == "not_found", (path, target)
        anonymous = await astro.get(f"{path}/{eve['id']}")
        assert anonymous.status_code == 401 and code(anonymous) == "unauthorized"
    itself = await astro.get(f"/astro/api/match/{eve['id']}", headers=eve["headers"])
    assert itself.status_code == 400 and code(itself) == "self_match"
    no_chart = await astro.get(f"/astro/api/match/{eve['id']}", headers=chartless["headers"])
    assert no_chart.status_code == 409 and code(no_chart) == "no_chart"
    no_chart_list = await astro.get("/astro/api/matches", headers=chartless["headers"])
    assert no_chart_list.status_code == 409 and code(no_chart_list) == "no_chart"
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"sort": "name"}):
        bad = await astro.get("/astro/api/matches", params=params, headers=eve["headers"])
        assert bad.status_code == 422 and code(bad) == "validation_error", params
    assert (await astro.get("/astro/api/matches")).status_code == 401


async def test_web_ui_is_served(astro: httpx.AsyncClient) -> None:
    page = await astro.get("/astro/")
    assert page.status_code == 200 and "StarMeet" in page.text
    for asset in ("app.js", "style.css"):
        assert (await astro.get(f"/astro/{asset}")).status_code == 200
    health = await astro.get("/astro/health")
    assert health.status_code == 200 and health.json()["places"] == {"ok": True}
