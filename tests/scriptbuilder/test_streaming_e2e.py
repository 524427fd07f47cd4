"""Streaming drafts end to end: a client → the gateway (server-sent events) →
the script builder → the recipe drafter, or a model streaming its answer
(the fake chat-completions server); and a client that leaves half-way."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings
from tests.conftest import serve_http
from tests.scriptbuilder.conftest import TEXT_ANSWER, ChatServer
from tests.scriptbuilder.test_streaming import stored
from tests.support.gateway import both_services
from tests.support.sse import parse, read_events

pytestmark = pytest.mark.e2e


async def test_a_draft_streams_through_the_gateway_as_server_sent_events(
    gateway_url, make_token
) -> None:
    token = make_token()
    async with httpx.AsyncClient(
        base_url=gateway_url + "/api/v1", headers={"authorization": f"Bearer {token}"}
    ) as api:
        session = (await api.post("/script-builder/sessions", json={"language": "bash"})).json()
        response = await api.post(
            f"/script-builder/sessions/{session['id']}/messages:stream",
            json={"content": "restart nginx on web01"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse(response.text)
        assert [e.event for e in events] == [
            "user_message",
            "text_delta",
            "text_delta",
            "assistant_message",
        ]
        answer = events[-1].json["assistant_message"]
        assert events[0].json["user_message"]["content"] == "restart nginx on web01"
        assert "".join(e.json["text_delta"]["text"] for e in events[1:-1]) == answer["content"]
        assert answer["language"] == "bash" and answer["script"] and answer["parameters"]
        listed = (await api.get(f"/script-builder/sessions/{session['id']}/messages")).json()
        assert listed["messages"][1] == answer
        # A refusal before any event is an ordinary JSON error.
        refused = await api.post(
            f"/script-builder/sessions/{session['id']}/messages:stream", json={"content": ""}
        )
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/json"


async def test_a_model_draft_through_the_gateway_and_a_client_that_leaves(
    settings: Settings,
    fixes_server: GrpcServer,
    model_server: GrpcServer,
    chat_server: ChatServer,
    make_token,
    scriptbuilder_db_url: str,
) -> None:
    """The real end-to-end SSE path: browser-like client → gateway → script
    builder → a streaming model, and back; then a client that hangs up."""
    from gateway.app import create_app

    token = make_token()
    app = create_app(settings, both_services(fixes_server.target, model_server.target))
    async with (
        serve_http(app) as url,
        httpx.AsyncClient(
            base_url=url + "/api/v1", headers={"authorization": f"Bearer {token}"}, timeout=30
        ) as api,
    ):
        session = (await api.post("/script-builder/sessions", json={"language": "bash"})).json()
        path = f"/script-builder/sessions/{session['id']}/messages:stream"
        response = await api.post(path, json={"content": "restart the print spooler"})
        events = parse(response.text)
        deltas = [e.json["text_delta"]["text"] for e in events if e.event == "text_delta"]
        assert "".join(deltas) == TEXT_ANSWER and len(deltas) > 2
        assert events[-1].event == "assistant_message"
        assert events[-1].json["assistant_message"]["script"] == "systemctl restart cups"
        assert await stored(scriptbuilder_db_url) == 2

        chat_server.stall_after = 2
        async with api.stream("POST", path, json={"content": "again please"}) as live:
            received = read_events(live.aiter_lines())
            assert (await anext(received)).event == "user_message"
            assert (await anext(received)).event == "text_delta"
        # The client left: the gateway cancels the call, the service abandons
        # the model's answer, and nothing of the half exchange is stored.
        await asyncio.wait_for(chat_server.hung_up.wait(), 5)
        await asyncio.sleep(0.2)
        assert await stored(scriptbuilder_db_url) == 2
        assert app.state.gateway.streams.open == 0
        messages = (await api.get(f"/script-builder/sessions/{session['id']}/messages")).json()
        contents = [m["content"] for m in messages["messages"]]
        assert contents == ["restart the print spooler", TEXT_ANSWER]
        assert "again please" not in json.dumps(messages)
