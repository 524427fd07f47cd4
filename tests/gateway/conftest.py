"""Gateway fixtures: the gateway over fake services (fast, no database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from flowpilot.runtime.server import open_channel
from flowpilot.runtime.settings import Settings
from gateway.app import FIXES_SERVICE, SCRIPTBUILDER_SERVICE, create_app
from tests.conftest import serve_http
from tests.gateway.fakes import FakeService


@dataclass
class FakeStack:
    url: str
    fixes: FakeService
    scriptbuilder: FakeService
    settings: Settings

    def client(self, token: str | None = None, **headers: str) -> httpx.AsyncClient:
        if token:
            headers["authorization"] = f"Bearer {token}"
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
async def fake_stack(settings: Settings) -> AsyncIterator[FakeStack]:
    fixes, scriptbuilder = FakeService(FIXES_SERVICE), FakeService(SCRIPTBUILDER_SERVICE)
    fixes_server = fixes.server(settings)
    await fixes_server.start()
    # Like the real one, the script-builder reports whether it reaches the fixes service.
    to_fixes = open_channel(fixes_server.target)
    sb_server = scriptbuilder.server(settings, {FIXES_SERVICE.full_name: to_fixes})
    await sb_server.start()
    try:
        app = create_app(
            settings, fixes_target=fixes_server.target, scriptbuilder_target=sb_server.target
        )
        async with serve_http(app) as url:
            yield FakeStack(url, fixes, scriptbuilder, settings)
    finally:
        await fixes_server.stop(0)
        await sb_server.stop(0)
        await to_fixes.close()


@pytest.fixture
def engineer_token(make_token) -> str:
    return make_token(user_id="user-eng", role="engineer")
