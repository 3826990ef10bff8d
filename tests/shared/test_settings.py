"""Settings files: every settings class reads the box's ``<data_dir>/secrets.env``, wherever it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gateway.app import create_app
from shared.settings import Settings
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
