"""Settings files: every settings class reads the box's ``<data_dir>/secrets.env``, wherever it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gateway.app import create_app
from shared.settings import Settings
from tenants.astro.settings import AstroSettings
from tenants.seacalendar.settings import SeaCalendarSettings
from tenants.wishlist.settings import WishlistSettings
from tests.support.server import serve


async def test_tenant_credentials_come_from_the_data_dirs_secrets_file(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ONEBOX_DATA_DIR outside the working directory, Discord's credentials added to the secrets
    # file `onebox setup` wrote there, as the README's deployment section says to.
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "secrets.env").write_text(
        "ONEBOX_DISCORD_CLIENT_ID=from-the-data-dir\nONEBOX_DISCORD_CLIENT_SECRET=its-secret\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for name in ("ONEBOX_DISCORD_CLIENT_ID", "ONEBOX_DISCORD_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(make_settings(tenants=["seacalendar"], data_dir=data_dir))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        start = await http.get("/seacalendar/api/auth/discord")
    assert start.status_code == 302, start.text
    assert parse_qs(urlsplit(start.headers["location"]).query)["client_id"] == ["from-the-data-dir"]


def test_one_public_url_serves_every_tenant_and_a_tenants_own_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for tenant in ("ASTRO", "SEACALENDAR", "WISHLIST"):
        monkeypatch.delenv(f"ONEBOX_{tenant}_PUBLIC_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no env files
    monkeypatch.setenv("ONEBOX_PUBLIC_URL", "https://box.example")
    assert AstroSettings().astro_public_url == "https://box.example"
    assert SeaCalendarSettings().seacalendar_public_url == "https://box.example"
    assert WishlistSettings().wishlist_public_url == "https://box.example"
    # A tenant moved to a host of its own.
    monkeypatch.setenv("ONEBOX_WISHLIST_PUBLIC_URL", "https://wish.example/")
    assert WishlistSettings().wishlist_public_url == "https://wish.example"
    assert AstroSettings().astro_public_url == "https://box.example"
    # Read from the secrets file as well.
    monkeypatch.delenv("ONEBOX_PUBLIC_URL")
    (tmp_path / "box.env").write_text("ONEBOX_PUBLIC_URL=https://file.example\n")
    assert AstroSettings(_env_file=tmp_path / "box.env").astro_public_url == "https://file.example"
