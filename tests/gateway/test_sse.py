"""Server-streaming RPCs as server-sent events, over real HTTP, on the
test-only Widget API: the frames, Last-Event-ID, heartbeats, errors before
and after the first event, a client that goes away, the per-process bound,
and the end of every stream when the gateway stops."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest

from flowpilot.runtime.errors import FailedPrecondition, NotFound
from tests.gateway.widgets import message
from tests.support.sse import parse, read_events

pytestmark = pytest.mark.integration

WATCH = "/test/v1/widgets:watch"


def _changes(*event_ids: int, then: object = None):
    async def stream(request, context):
        for event_id in event_ids:
            yield message(
                "WidgetChange",
                event_id=event_id,
                kind=1,
                widget=message("Widget", id=f"w{event_id}", name="spanner"),
            )
        if isinstance(then, BaseException):
            raise then
        if then == "hold":
            await asyncio.sleep(3600)

    return stream


async def test_each_message_is_one_event_with_id_kind_and_json(
    widget_stack, engineer_token
) -> None:
    widget_stack.service.streams["WatchWidgets"] = _changes(1, 2)
    async with widget_stack.client(engineer_token, **{"x-request-id": "rid-sse"}) as client:
        response = await client.get(WATCH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-request-id"] == "rid-sse"
    assert response.text.startswith("id: 1\nevent: widget_updated\ndata: {")
    events = parse(response.text)
    assert [(e.id, e.event) for e in events] == [("1", "widget_updated"), ("2", "widget_updated")]
    # The data is the message as the REST surface writes it: every field.
    assert events[1].json == {
        "event_id": 2,
        "kind": "widget_updated",
        "widget": {
            "id": "w2",
            "name": "spanner",
            "color": "",
            "size": None,
            "tags": [],
            "etag": "",
        },
    }
    call = widget_stack.service.last("WatchWidgets")
    assert call.metadata["authorization"] == f"Bearer {engineer_token}"
    assert call.metadata["x-request-id"] == "rid-sse"


async def test_a_stream_is_authorized_at_the_edge_like_a_read(widget_stack, make_token) -> None:
    async with widget_stack.client() as client:
        anonymous = await client.get(WATCH)
    async with widget_stack.client(make_token(role="service")) as client:
        service = await client.get(WATCH)
    async with widget_stack.client(make_token(role="viewer")) as client:
        viewer = await client.get(WATCH)
    assert anonymous.status_code == 401 and service.status_code == 403
    assert viewer.status_code == 200
    assert [c.method for c in widget_stack.service.calls] == ["WatchWidgets"]


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [("", "5", 5), ("?last_event_id=3", "5", 5), ("?last_event_id=3", None, 3), ("", "", 0)],
)
async def test_last_event_id_resumes_and_wins_over_the_query(
    widget_stack, engineer_token, query: str, header: str | None, expected: int
) -> None:
    headers = {"last-event-id": header} if header is not None else {}
    async with widget_stack.client(engineer_token, **headers) as client:
        response = await client.get(WATCH + query)
    assert response.status_code == 200
    assert widget_stack.service.last("WatchWidgets").request.last_event_id == expected


async def test_a_malformed_last_event_id_is_400(widget_stack, engineer_token) -> None:
    async with widget_stack.client(engineer_token, **{"last-event-id": "seven"}) as client:
        response = await client.get(WATCH)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["reason"] == "INVALID_FIELD_VALUE"
    assert not widget_stack.service.calls


async def test_an_error_before_the_first_event_is_an_ordinary_error(
    widget_stack, engineer_token
) -> None:
    widget_stack.service.streams["WatchWidgets"] = _changes(then=NotFound("NO_WIDGETS", "none"))
    async with widget_stack.client(engineer_token) as client:
        response = await client.get(WATCH)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["status"] == "NOT_FOUND" and error["details"][0]["reason"] == "NO_WIDGETS"


async def test_an_error_after_the_first_event_is_an_error_event_then_the_end(
    widget_stack, engineer_token
) -> None:
    refusal = FailedPrecondition("WIDGET_FROZEN", "the widget is frozen")
    widget_stack.service.streams["WatchWidgets"] = _changes(1, then=refusal)
    async with widget_stack.client(engineer_token) as client:
        response = await client.get(WATCH)
    assert response.status_code == 200
    events = parse(response.text)
    assert [e.event for e in events] == ["widget_updated", "error"]
    error = events[1].json["error"]
    assert error["code"] == 409 and error["status"] == "FAILED_PRECONDITION"
    assert error["details"][0]["reason"] == "WIDGET_FROZEN"
    assert events[1].id is None


async def test_a_quiet_stream_gets_heartbeats(widget_stack, engineer_token) -> None:
    async def quiet(request, context):
        await context.send_initial_metadata(())  # accepted: the gateway answers 200
        await asyncio.sleep(0.7)
        yield message("WidgetChange", event_id=9, kind=2)

    widget_stack.service.streams["WatchWidgets"] = quiet
    async with widget_stack.client(engineer_token) as client:
        response = await client.get(WATCH)
    assert response.text.startswith(": ping\n\n")
    assert response.text.count(": ping\n\n") >= 2  # every 0.2 s of silence
    (event,) = parse(response.text)
    assert event.event == "widget_deleted" and event.id == "9"


async def test_a_service_that_accepts_silently_past_the_deadline_still_streams(
    widget_stack, engineer_token
) -> None:
    async def late(request, context):
        await asyncio.sleep(1.5)  # past the gateway's 1 s wait, no initial metadata
        yield message("WidgetChange", event_id=1, kind=1)

    widget_stack.service.streams["WatchWidgets"] = late
    async with widget_stack.client(engineer_token) as client:
        response = await client.get(WATCH)
    assert response.status_code == 200
    assert [e.id for e in parse(response.text)] == ["1"]


async def test_a_client_that_goes_away_cancels_the_call(widget_stack, engineer_token) -> None:
    ended = asyncio.Event()

    async def endless(request, context):
        try:
            yield message("WidgetChange", event_id=1, kind=1)
            await asyncio.sleep(3600)
        finally:
            ended.set()

    widget_stack.service.streams["WatchWidgets"] = endless
    async with (
        widget_stack.client(engineer_token) as client,
        client.stream("GET", WATCH) as response,
    ):
        first = await anext(read_events(response.aiter_lines()))
        assert first.id == "1"
        assert widget_stack.streams.open == 1
    started = time.monotonic()
    await asyncio.wait_for(ended.wait(), 5)
    assert time.monotonic() - started < 2
    for _ in range(50):
        if widget_stack.streams.open == 0:
            break
        await asyncio.sleep(0.02)
    assert widget_stack.streams.open == 0


async def test_past_the_bound_a_stream_is_503_with_retry_after(
    widget_stack, engineer_token
) -> None:
    widget_stack.service.streams["WatchWidgets"] = _changes(1, then="hold")
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(widget_stack.client(engineer_token))
        held = []
        for _ in range(2):  # the bound in WIDGET_SETTINGS
            response = await stack.enter_async_context(client.stream("GET", WATCH))
            assert response.status_code == 200
            held.append(response)
        refused = await client.get(WATCH)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["error"]["details"][0]["reason"] == "TOO_MANY_STREAMS"
        # Unary calls are not streams: they still go through.
        assert (await client.get("/test/v1/widgets/w1")).status_code == 200
        await held.pop().aclose()
        for _ in range(50):
            if widget_stack.streams.open < 2:
                break
            await asyncio.sleep(0.02)
        async with client.stream("GET", WATCH) as again:
            assert again.status_code == 200


async def test_head_on_a_stream_is_405(widget_stack, engineer_token) -> None:
    async with widget_stack.client(engineer_token) as client:
        response = await client.head(WATCH)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert not widget_stack.service.calls


async def test_a_post_stream_names_events_by_their_oneof(widget_stack, engineer_token) -> None:
    async def replay(request, context):
        yield message("ReplayEvent", note=request.note)
        yield message("ReplayEvent", widget=message("Widget", id="w1"), trace="t")
        yield message("ReplayEvent", trace="no member set")

    widget_stack.service.streams["ReplayWidgets"] = replay
    async with widget_stack.client(engineer_token) as client:
        response = await client.post("/test/v1/widgets:replay", json={"note": "hello"})
    assert response.status_code == 200
    events = parse(response.text)
    assert [e.event for e in events] == ["note", "widget", "message"]
    assert events[0].json == {"widget": None, "note": "hello", "trace": None}
    assert all(e.id is None for e in events)


async def test_stopping_the_gateway_ends_open_streams_cleanly(widget_stack, engineer_token) -> None:
    widget_stack.service.streams["WatchWidgets"] = _changes(1, then="hold")
    async with (
        widget_stack.client(engineer_token) as client,
        client.stream("GET", WATCH) as response,
    ):
        events = read_events(response.aiter_lines())
        assert (await anext(events)).id == "1"
        widget_stack.streams.closing.set()  # what the server's shutdown does first
        rest = [event async for event in events]  # the body ends: no error, no hang
    assert rest == []


async def test_a_stream_to_a_service_that_is_not_there_is_503(settings, engineer_token) -> None:
    from gateway.app import BackendService, create_app
    from tests.conftest import serve_http
    from tests.gateway.widgets import widget_service

    app = create_app(
        settings.model_copy(update={"backend_timeout_seconds": 0.5}),
        [BackendService(widget_service(), "127.0.0.1:9")],  # discard port: nothing listens
    )
    async with (
        serve_http(app) as url,
        httpx.AsyncClient(
            base_url=url, headers={"authorization": f"Bearer {engineer_token}"}
        ) as client,
    ):
        started = time.monotonic()
        response = await client.get(WATCH)
    assert response.status_code == 503
    assert response.json()["error"]["details"][0]["reason"] == "BACKEND_UNAVAILABLE"
    assert time.monotonic() - started < 3
    assert app.state.gateway.streams.open == 0


async def test_the_served_gateway_ends_streams_first_when_it_shuts_down(
    settings, widget_stack, engineer_token
) -> None:
    """`flowpilot serve gateway`'s server: a stop does not wait out the grace
    period for an open stream (uvicorn would, then cut it)."""
    from flowpilot.runtime.embedded_pg import free_port
    from gateway.app import BackendService, create_app, gateway_server
    from tests.gateway.widgets import widget_service

    widget_stack.service.streams["WatchWidgets"] = _changes(1, then="hold")
    port = free_port()
    served = settings.model_copy(
        update={"http_port": port, "bind_host": "127.0.0.1", "shutdown_grace_seconds": 8.0}
    )
    target = widget_stack.app.state.gateway.backends[0].target
    app = create_app(served, [BackendService(widget_service(), target)])
    server = gateway_server(app, served)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    headers = {"authorization": f"Bearer {engineer_token}"}
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client,
        client.stream("GET", WATCH) as response,
    ):
        events = read_events(response.aiter_lines())
        assert (await anext(events)).id == "1"
        started = time.monotonic()
        server.should_exit = True  # what SIGTERM does
        assert [event async for event in events] == []
    await asyncio.wait_for(serving, 8)
    assert time.monotonic() - started < 3
