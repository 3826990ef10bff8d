import httpx


async def test_health_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200, response.text
    assert response.json()["tenants"]["wishlist"]["database"]["ok"] is True


async def test_register_login(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/wishlist/api/auth/register", json={"email": "a@example.com", "password": "Secret123", "name": "A"}
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/wishlist/auth/login", json={"email": "a@example.com", "password": "Secret123"})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"]
