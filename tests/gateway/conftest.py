"""Gateway fixtures: the gateway over fake services (fast, no database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from flowpilot.runtime.settings import Settings
from gateway.app import FIXES_SERVICE, SCRIPTBUILDER_SERVICE, BackendService, create_app
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
    fixes_server, sb_server = fixes.server(settings), scriptbuilder.server(settings)
    await fixes_server.start()
    await sb_server.start()
    try:
        app = create_app(
            settings,
            [
                BackendService(FIXES_SERVICE, fixes_server.target),
                BackendService(SCRIPTBUILDER_SERVICE, sb_server.target),
            ],
        )
        async with serve_http(app) as url:
            yield FakeStack(url, fixes, scriptbuilder, settings)
    finally:
        await fixes_server.stop(0)
        await sb_server.stop(0)


@pytest.fixture
def engineer_token(make_token) -> str:
    return make_token(user_id="user-eng", role="engineer")
