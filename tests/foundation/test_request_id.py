"""A request id travels gateway → script-builder service → fixes service."""

from __future__ import annotations

import logging

import httpx
import pytest

pytestmark = pytest.mark.e2e


async def test_request_id_reaches_both_services(
    gateway_url: str, make_token, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": f"Bearer {make_token(user_id='engineer-1')}"}
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers) as http:
        session = await http.post("/api/v1/ai-sessions", json={"title": "VPN drops"})
        assert session.status_code == 201
        caplog.set_level(logging.DEBUG, logger="flowpilot.grpc")
        created = await http.post(
            "/api/v1/script-builder/sessions",
            json={"origin": "pilot_inline", "ai_session_id": session.json()["id"]},
            headers={"X-Request-Id": "trace-4711"},
        )
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == "trace-4711"
    traced = {
        record.method
        for record in caplog.records
        if record.getMessage() == "rpc" and getattr(record, "request_id", None) == "trace-4711"
    }
    assert traced == {
        "/flowpilot.scriptbuilder.v1.ScriptBuilderService/CreateSession",
        "/flowpilot.fixes.v1.FixesService/CheckAiSessionAccess",
    }
