"""Input an attacker sends, through the whole system: always a 4xx with a
reason, never a 5xx, never an exception's text, and the keep-alive
connection it came on still serves the next request (issue 9, point 3).

The pure rules are tested exhaustively beside their code
(`tests/gateway/test_codec_document.py`, `tests/foundation/test_paging.py`);
here each kind of input goes through the gateway and both services.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import uuid
from typing import Any

import grpc
import httpx
import pytest

from flowpilot.fixes.v1 import fixes_pb2, fixes_pb2_grpc
from flowpilot.runtime.paging import PageTokens
from flowpilot.runtime.settings import Settings
from gateway.codec.document import MAX_DEPTH
from tests.support.grpc_client import auth_metadata, refused

pytestmark = pytest.mark.e2e

API = "/api/v1"
# What must never reach a client: exception names and texts of any layer.
LEAKS = ("DecodeError", "Unexpected", "Traceback", "Exception", "Error parsing", "asyncpg")


def assert_clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    for word in LEAKS:
        assert word not in response.text, response.text


@pytest.fixture
async def api(gateway_url: str, make_token: Any) -> Any:
    headers = {"authorization": f"Bearer {make_token(user_id='hostile')}"}
    async with httpx.AsyncClient(base_url=gateway_url + API, headers=headers, timeout=30) as c:
        yield c


def objects(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"k": value}
    return value


def arrays(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


async def test_json_nested_at_every_depth_is_never_a_5xx(api: httpx.AsyncClient) -> None:
    """Issue 9: Struct values nested 49 to 62 levels were 500s carrying
    protobuf's DecodeError text. Every depth up to 70, as objects and as
    arrays, in every JSON field of the API: accepted (the service's own
    rules may still refuse it), or 400 NESTED_TOO_DEEPLY at the edge."""
    session = (await api.post("/ai-sessions", json={"title": "deep"})).json()
    fix = (
        await api.post(
            f"/ai-sessions/{session['id']}/suggested-fixes",
            json={"title": "f", "script_language": "bash", "ai_drafted_script": "echo"},
        )
    ).json()
    template = (
        await api.post(
            "/script-templates",
            json={
                "name": "t",
                "language": "bash",
                "body": "echo {{x}}",
                "parameters": [{"name": "x", "type": "string"}],
            },
        )
    ).json()
    fixes = f"/ai-sessions/{session['id']}/suggested-fixes"
    seen: dict[int, set[str]] = {}
    for levels in range(1, 71):
        for shape in (objects, arrays):
            requests = [
                api.post(
                    fixes,
                    json={
                        "title": "f",
                        "script_language": "bash",
                        "ai_drafted_script": "echo",
                        "ai_drafted_parameters": {"p": shape(levels)},
                    },
                ),
                api.patch(
                    f"{fixes}/{fix['id']}/script",
                    json={
                        "ai_drafted_script": "echo",
                        "ai_drafted_parameters": {"p": shape(levels)},
                    },
                ),
                api.post(
                    f"/script-templates/{template['id']}/render",
                    json={"parameters": {"x": shape(levels)}},
                ),
                api.post(
                    "/script-templates",
                    json={
                        "name": "t",
                        "language": "bash",
                        "body": "echo {{x}}",
                        "parameters": [{"name": "x", "type": "string", "default": shape(levels)}],
                    },
                ),
            ]
            for response in await asyncio.gather(*requests):
                assert_clean(response)
                reason = response.json().get("error", {}).get("details", [{}])[0].get("reason", "")
                seen.setdefault(levels, set()).add(reason)
    # Past the one limit, the one reason: nothing deeper reaches a service.
    for levels in range(MAX_DEPTH, 71):
        assert seen[levels] == {"NESTED_TOO_DEEPLY"}, (levels, seen[levels])


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One HTTP/1.1 request and its answer on an open connection."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(line.split(":", 1)[1])
        for line in lines[1:]
        if line.lower().startswith("content-length")
    )
    return status, await reader.readexactly(length)


def _request(method: str, path: str, token: str, body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


SURROGATE_BODIES = [
    b'{"\\ud800":"a"}',
    b'{"title":"\\udfff"}',
    b'{"title":"t","\\udbff\\udbff":1}',
    b'{"a":{"\\ud800":{"b":1}}}',
    b'["\\ud800"]',
]


async def test_a_lone_surrogate_key_and_the_next_request_on_that_connection(
    gateway_url: str, make_token: Any
) -> None:
    """Issue 9: `{"\\ud800":"a"}` was a 500, and the next request on that
    keep-alive connection was reset. Now: 400 INVALID_JSON, and the same
    connection serves the next request."""
    token = make_token(user_id="surrogates")
    host, port = gateway_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for body in SURROGATE_BODIES:
            for path in (f"{API}/ai-sessions", f"{API}/script-builder/sessions"):
                status, answer = await _exchange(
                    reader, writer, _request("POST", path, token, body)
                )
                assert status == 400, answer
                error = json.loads(answer)["error"]
                assert error["details"][0]["reason"] == "INVALID_JSON"
                # The same connection, the next request.
                status, answer = await _exchange(
                    reader, writer, _request("GET", f"{API}/ai-sessions", token)
                )
                assert status == 200, answer
    finally:
        writer.close()


def _fuzzed_body(rng: random.Random) -> bytes:
    """Mostly-JSON with escapes where they hurt: lone and paired surrogates,
    control characters, deep nesting, odd numbers, in keys and values."""
    pieces = [
        "\\ud800",
        "\\udc00",
        "\\ud83d\\ude00",
        "\\u0000",
        "\\n",
        "title",
        "script_language",
        "ai_session_id",
        "x",
    ]

    def text() -> str:
        return '"' + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) + '"'

    def value(depth: int) -> str:
        roll = rng.random()
        if depth > 30 or roll < 0.2:
            return rng.choice([text(), "1e400", "-0", str(2**70), "true", "null", "[]", "{}"])
        # Wide near the top, a single chain below: deep without growing huge.
        width = rng.randint(1, 3) if depth < 3 else 1
        if roll < 0.6:
            members = ",".join(f"{text()}:{value(depth + 1)}" for _ in range(width))
            return "{" + members + "}"
        return "[" + ",".join(value(depth + 1) for _ in range(width)) + "]"

    members = ",".join(f"{text()}:{value(1)}" for _ in range(rng.randint(1, 4)))
    return ("{" + members + "}").encode()


async def test_fuzzed_bodies_on_one_keep_alive_connection(
    gateway_url: str, make_token: Any
) -> None:
    rng = random.Random(9)
    token = make_token(user_id="fuzz")
    host, port = gateway_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    paths = [f"{API}/ai-sessions", f"{API}/script-builder/sessions", f"{API}/script-templates"]
    try:
        for _ in range(150):
            body = _fuzzed_body(rng)
            status, answer = await _exchange(
                reader, writer, _request("POST", rng.choice(paths), token, body)
            )
            assert status < 500, (body, answer)
            assert not any(word.encode() in answer for word in LEAKS), answer
    finally:
        writer.close()


def _unsigned(payload: Any) -> str:
    """A token as the issue forged them: base64url JSON, no signature."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


FORGED_TOKENS = [
    "garbage",
    "%%%",
    "A" * 600,
    _unsigned({"o": 2**70}),
    _unsigned({"o": 10}),
    _unsigned(
        {"k": "ai_sessions", "p": "x", "v": ["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]}
    ),
    _unsigned({"k": "fix_events", "p": "x", "v": [2**64]}),
    _unsigned(json.loads("[" * 200 + "]" * 200)),
    PageTokens(b"somebody else's key, long enough").sign("ai_sessions", "x", [1]),
]


async def test_forged_page_tokens_on_every_list(api: httpx.AsyncClient, settings: Settings) -> None:
    session = (await api.post("/ai-sessions", json={"title": "lists"})).json()
    fix = (
        await api.post(
            f"/ai-sessions/{session['id']}/suggested-fixes",
            json={"title": "f", "script_language": "bash"},
        )
    ).json()
    sb = (await api.post("/script-builder/sessions", json={"title": "s"})).json()
    lists = [
        "/ai-sessions",
        f"/ai-sessions/{session['id']}/suggested-fixes",
        f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}/events",
        "/script-builder/sessions",
        f"/script-builder/sessions/{sb['id']}/messages",
        "/script-templates",
    ]
    # Signed with the services' own key, for the right list, out of range.
    ours = PageTokens.from_settings(settings)
    edge = ours.sign("ai_sessions", "x", ["9999-12-31T23:59:59-14:00", str(uuid.uuid4())])
    for path in lists:
        for token in [*FORGED_TOKENS, edge]:
            response = await api.get(path, params={"page_token": token})
            assert_clean(response)
            assert response.status_code == 400, (path, token, response.text)
            assert response.json()["error"]["details"][0]["reason"] == "INVALID_PAGE_TOKEN"


async def test_what_the_services_issue_they_take_back(api: httpx.AsyncClient) -> None:
    for _ in range(3):
        await api.post("/ai-sessions", json={"title": "page"})
    first = (await api.get("/ai-sessions", params={"page_size": 1})).json()
    second = await api.get(
        "/ai-sessions", params={"page_size": 1, "page_token": first["next_page_token"]}
    )
    assert second.status_code == 200
    assert second.json()["ai_sessions"][0]["id"] != first["ai_sessions"][0]["id"]


def _deep_struct(levels: int) -> fixes_pb2.CreateSuggestedFixRequest:
    request = fixes_pb2.CreateSuggestedFixRequest(title="f")
    value = request.ai_drafted_parameters.fields["p"]
    for _ in range(levels):
        value = value.list_value.values.add()
    value.number_value = 1
    return request


@pytest.mark.integration
async def test_a_message_the_service_cannot_parse_is_400_without_internals(
    fixes_channel: grpc.aio.Channel, make_token: Any
) -> None:
    """Straight to the service, past the gateway's limit: protobuf refuses to
    parse it, and the caller hears INVALID_ARGUMENT INVALID_MESSAGE, not
    protobuf's exception."""
    metadata = auth_metadata(make_token(user_id="direct"))
    raw = fixes_channel.unary_unary(
        "/flowpilot.fixes.v1.FixesService/CreateSuggestedFix",
        request_serializer=None,
        response_deserializer=None,
    )
    for payload in (_deep_struct(60).SerializeToString(), b"\xff\xff\xff\xff", b"\x0a\xff"):
        refusal = await refused(raw(payload, metadata=metadata, timeout=10))
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_MESSAGE",
        )
        assert not any(word in refusal.message for word in LEAKS), refusal.message
    # Health checks answer without a token and parse the same way.
    health = fixes_channel.unary_unary(
        "/grpc.health.v1.Health/Check", request_serializer=None, response_deserializer=None
    )
    refusal = await refused(health(b"\xff\xff", timeout=10))
    assert refusal.code is grpc.StatusCode.INVALID_ARGUMENT
    # A well-formed one still works through the same stub kind.
    stub = fixes_pb2_grpc.FixesServiceStub(fixes_channel)
    created = await stub.CreateAiSession(
        fixes_pb2.CreateAiSessionRequest(title="fine"), metadata=metadata, timeout=10
    )
    assert created.id
