"""Slow clients (issue 9, point 6): half-sent requests are answered 408 and
closed within the configured bounds, under the very uvicorn configuration
`flowpilot serve gateway` uses, while normal requests keep being served."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from flowpilot.runtime.embedded_pg import free_port
from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings
from gateway.app import create_app, uvicorn_config
from tests.support.gateway import both_services

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
# Generous against the bounds above: the machine is loaded, the figures (about
# the bound plus a few ms) are reported separately.
CLOSED_WITHIN = 10.0
SLOW_CONNECTIONS = 450


@contextlib.asynccontextmanager
async def _gateway(settings: Settings, fixes: str, scriptbuilder: str) -> AsyncIterator[int]:
    import uvicorn

    port = free_port()
    bounded = settings.model_copy(
        update={
            "bind_host": "127.0.0.1",
            "http_port": port,
            "http_header_timeout_seconds": HEADER_TIMEOUT,
            "http_body_timeout_seconds": BODY_TIMEOUT,
            "http_max_header_bytes": 16_384,
        }
    )
    app = create_app(bounded, both_services(fixes, scriptbuilder))
    server = uvicorn.Server(uvicorn_config(app, bounded))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def gateway_port(
    settings: Settings, fixes_server: GrpcServer, scriptbuilder_server: GrpcServer
) -> AsyncIterator[int]:
    async with _gateway(settings, fixes_server.target, scriptbuilder_server.target) as port:
        yield port


def _post_head(token: str, length: int) -> bytes:
    return (
        "POST /api/v1/ai-sessions HTTP/1.1\r\nHost: gateway\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n"
    ).encode()


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65_536):
            received += chunk
    return received


async def _hold(port: int, payload: bytes) -> tuple[float, bytes]:
    """Sends `payload`, then waits; (seconds until the server closed, what it sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        started = time.monotonic()
        received = await asyncio.wait_for(_until_closed(reader), CLOSED_WITHIN * 3)
        return time.monotonic() - started, received
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _error_reason(response: bytes) -> str:
    body = json.loads(response.split(b"\r\n\r\n", 1)[1])
    return body["error"]["details"][0]["reason"]


def _enough_file_descriptors(connections: int) -> None:
    """Both ends of every connection live in this process: make room for them
    (CI containers may start with a soft limit of 1024)."""
    needed = 2 * connections + 512
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        ceiling = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


async def test_half_sent_requests_are_cut_off_while_others_are_served(
    gateway_port: int, make_token
) -> None:
    _enough_file_descriptors(SLOW_CONNECTIONS)
    token = make_token()
    body = json.dumps({"title": "x" * 2000}).encode()
    head = _post_head(token, len(body))
    kinds = {
        "half a head": (head, "REQUEST_HEADERS_TIMEOUT"),
        "a head, no body": (head + b"\r\n", "REQUEST_BODY_TIMEOUT"),
        "a head and half a body": (head + b"\r\n" + body[: len(body) // 2], "REQUEST_BODY_TIMEOUT"),
    }
    names = list(kinds)
    held = [
        asyncio.create_task(_hold(gateway_port, kinds[names[i % 3]][0]))
        for i in range(SLOW_CONNECTIONS)
    ]
    # While they are all held open, a normal request is served.
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{gateway_port}",
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    ) as client:
        created = await client.post("/api/v1/ai-sessions", json={"title": "VPN"})
        assert created.status_code == 201, created.text
        assert not all(task.done() for task in held)
    results = await asyncio.gather(*held)
    for i, (seconds, response) in enumerate(results):
        kind = names[i % 3]
        assert seconds < CLOSED_WITHIN, f"{kind}: open for {seconds:.1f} s"
        assert response.startswith(b"HTTP/1.1 408 "), f"{kind}: {response[:80]!r}"
        assert _error_reason(response) == kinds[kind][1]
        assert b"connection: close" in response.lower()


async def test_a_silent_connection_is_closed_without_an_answer(gateway_port: int) -> None:
    seconds, response = await _hold(gateway_port, b"")
    assert seconds < CLOSED_WITHIN
    assert response == b""


async def test_a_slow_but_timely_request_and_an_idle_keep_alive_are_served(
    gateway_port: int, make_token
) -> None:
    """The bounds cut off what is too slow, not what is merely slow or idle:
    a head sent in pieces within the bound is served, and a kept-alive
    connection idle for longer than the head bound serves its next request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway_port)
    try:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: gateway\r\n", b"\r\n"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(HEADER_TIMEOUT / 5)
        first = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 10)
        assert first.startswith(b"HTTP/1.1 200 ")
        await asyncio.sleep(HEADER_TIMEOUT * 1.5)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
        await writer.drain()
        second = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 10)
        assert second.startswith(b"HTTP/1.1 200 ")
        # A later request on the same connection has the same head bound.
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: gat")
        await writer.drain()
        started = time.monotonic()
        third = await asyncio.wait_for(_until_closed(reader), CLOSED_WITHIN * 3)
        assert time.monotonic() - started < CLOSED_WITHIN
        assert third.startswith(b"HTTP/1.1 408 ")
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_an_oversized_head_is_refused(gateway_port: int) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n" + b"X-Padding: " + b"a" * 40_000
    _, response = await _hold(gateway_port, head)
    assert response.startswith(b"HTTP/1.1 431 "), response[:80]
    assert _error_reason(response) == "REQUEST_HEADERS_TOO_LARGE"
    # A large but allowed head is served.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway_port}") as client:
        response_ok = await client.get("/healthz", headers={"x-padding": "a" * 8_000})
    assert response_ok.status_code == 200


def test_defaults_are_below_what_the_issue_saw() -> None:
    """Half-sent requests stayed open over 20 s; the defaults close them sooner."""
    defaults = Settings.model_fields
    assert defaults["http_header_timeout_seconds"].default < 20
    assert defaults["http_body_timeout_seconds"].default < 20
