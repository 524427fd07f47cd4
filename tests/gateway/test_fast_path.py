"""The API's routes are served past the framework's per-request layers
(`gateway.app.ApiFastPath`), the rest by the router as before: checked by
counting the router's calls while the gateway answers over HTTP. What each
route answers (methods, HEAD, 405, metrics by template) is every other
gateway test's subject, over the same fast path."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRouter

pytestmark = pytest.mark.integration


@pytest.fixture
def router_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = APIRouter.__call__

    async def counted(self: APIRouter, scope: Any, receive: Any, send: Any) -> None:
        calls.append(f"{scope['method']} {scope['path']}")
        await original(self, scope, receive, send)

    monkeypatch.setattr(APIRouter, "__call__", counted)
    return calls


async def test_api_routes_skip_the_router_and_the_rest_reach_it(
    widget_stack, engineer_token, router_calls: list[str]
) -> None:
    async with widget_stack.client(engineer_token) as client:
        assert (await client.get("/test/v1/widgets/w1")).status_code == 200
        assert (await client.head("/test/v1/widgets/w1")).status_code == 200
        assert (await client.post("/test/v1/widgets/w1:touch", json={})).status_code == 200
        assert router_calls == []
        # A method the path does not take: the router's 405, naming the allowed ones.
        refused = await client.put("/test/v1/widgets/w1", json={})
        assert refused.status_code == 405
        assert set(refused.headers["allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/test/v1/nothing-here")).status_code == 404
    assert router_calls == [
        "PUT /test/v1/widgets/w1",
        "GET /healthz",
        "GET /test/v1/nothing-here",
    ]
