"""Gateway fixtures: the gateway over fake services (fast, no database).

The app and the fakes are imported by the fixture, not here: `-m unit` runs
the gateway's pure tests without importing FastAPI or gRPC servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from flowpilot.runtime.server import open_channel
from flowpilot.runtime.settings import Settings
from tests.conftest import serve_http
from tests.support.gateway import both_services

if TYPE_CHECKING:
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
    from gateway.app import FIXES_SERVICE, SCRIPTBUILDER_SERVICE, create_app
    from tests.gateway.fakes import FakeService

    fixes, scriptbuilder = FakeService(FIXES_SERVICE), FakeService(SCRIPTBUILDER_SERVICE)
    fixes_server = fixes.server(settings)
    await fixes_server.start()
    # Like the real one, the script-builder reports whether it reaches the fixes service.
    to_fixes = open_channel(fixes_server.target)
    sb_server = scriptbuilder.server(settings, {FIXES_SERVICE.full_name: to_fixes})
    await sb_server.start()
    try:
        app = create_app(settings, both_services(fixes_server.target, sb_server.target))
        async with serve_http(app) as url:
            yield FakeStack(url, fixes, scriptbuilder, settings)
    finally:
        await fixes_server.stop(0)
        await sb_server.stop(0)
        await to_fixes.close()


@dataclass
class WidgetStack:
    """The gateway in front of the test-only Widget API (tests/gateway/widgets.py)."""

    url: str
    service: FakeService
    app: Any

    def client(self, token: str | None = None, **headers: str) -> httpx.AsyncClient:
        if token:
            headers["authorization"] = f"Bearer {token}"
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    @property
    def streams(self) -> Any:
        return self.app.state.gateway.streams


# Short enough for tests to see heartbeats and bounds quickly.
WIDGET_SETTINGS = {
    "sse_heartbeat_seconds": 0.2,
    "sse_max_streams": 2,
    "backend_timeout_seconds": 1.0,
}


@pytest.fixture
async def widget_stack(settings: Settings) -> AsyncIterator[WidgetStack]:
    from gateway.app import BackendService, create_app
    from tests.gateway.fakes import FakeService
    from tests.gateway.widgets import widget_service

    service = FakeService(widget_service())
    server = service.server(settings)
    await server.start()
    try:
        app = create_app(
            settings.model_copy(update=WIDGET_SETTINGS),
            [BackendService(widget_service(), server.target)],
        )
        async with serve_http(app) as url:
            yield WidgetStack(url, service, app)
    finally:
        await server.stop(0)


@pytest.fixture
def engineer_token(make_token) -> str:
    return make_token(user_id="user-eng", role="engineer")
