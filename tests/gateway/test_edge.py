"""The edge: tokens and malformed input are refused before any backend call."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from flowpilot.runtime.auth import mint_token
from tests.support.tokens import TEST_JWT_SECRET, claims

pytestmark = pytest.mark.integration

SID, FID = str(uuid.uuid4()), str(uuid.uuid4())
SCRIPT_PATH = f"/api/v1/ai-sessions/{SID}/suggested-fixes/{FID}/script"


def bad_tokens() -> dict[str, str]:
    now = int(time.time())
    return {
        "expired": jwt.encode(claims(iat=now - 7200, exp=now - 3600), TEST_JWT_SECRET, "HS256"),
        "wrong_signature": jwt.encode(claims(), "another-secret-" + "y" * 40, "HS256"),
        "alg_none": jwt.encode(claims(), None, "none"),
        "wrong_audience": jwt.encode(claims(aud="other"), TEST_JWT_SECRET, "HS256"),
        "wrong_issuer": jwt.encode(claims(iss="evil"), TEST_JWT_SECRET, "HS256"),
        "no_account": jwt.encode(
            {k: v for k, v in claims().items() if k != "account_id"}, TEST_JWT_SECRET, "HS256"
        ),
        "unknown_role": jwt.encode(claims(role="root"), TEST_JWT_SECRET, "HS256"),
        "garbage": "not.a.jwt",
    }


@pytest.mark.parametrize("case", list(bad_tokens()))
async def test_bad_tokens_are_401_at_the_edge(fake_stack, case) -> None:
    token = bad_tokens()[case]
    async with fake_stack.client(token) as client:
        response = await client.patch(SCRIPT_PATH, json={"ai_drafted_script": "x"})
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["details"][0]["reason"] in {"TOKEN_INVALID", "TOKEN_EXPIRED"}
    assert not fake_stack.fixes.calls


@pytest.mark.parametrize("header", ["", "Bearer", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_missing_or_non_bearer_authorization_is_401(fake_stack, header) -> None:
    async with fake_stack.client(authorization=header) as client:
        response = await client.get(f"/api/v1/ai-sessions/{SID}")
    assert response.status_code == 401
    assert response.json()["error"]["details"][0]["reason"] == "TOKEN_MISSING"
    assert not fake_stack.fixes.calls


async def test_service_identity_is_refused_at_the_edge(fake_stack, settings) -> None:
    token = mint_token(settings, user_id="service:x", account_id="*", role="service")
    async with fake_stack.client(token) as client:
        response = await client.get(f"/api/v1/ai-sessions/{SID}")
    assert response.status_code == 403
    assert response.json()["error"]["details"][0]["reason"] == "SERVICE_IDENTITY_REFUSED"
    assert not fake_stack.fixes.calls


MALFORMED = {
    "bad_json": (b"{", "INVALID_JSON"),
    "truncated": (b'{"ai_drafted_script": "x"', "INVALID_JSON"),
    "array_body": (b"[]", "INVALID_JSON"),
    "string_body": (b'"x"', "INVALID_JSON"),
    "number_body": (b"1", "INVALID_JSON"),
    "nan": (b'{"ai_drafted_parameters": {"x": NaN}}', "INVALID_JSON"),
    "invalid_utf8": (b'{"ai_drafted_script": "\xff\xfe"}', "INVALID_JSON"),
    "deep": (
        b'{"ai_drafted_parameters": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        "NESTED_TOO_DEEPLY",
    ),
    "wrong_type_string": (b'{"ai_drafted_script": 5}', "INVALID_FIELD_VALUE"),
    "wrong_type_struct": (b'{"ai_drafted_parameters": [1]}', "INVALID_FIELD_VALUE"),
    "lone_surrogate": (b'{"ai_drafted_script": "\\ud800"}', "INVALID_JSON"),
    "lone_surrogate_key": (b'{"\\ud800": "x"}', "INVALID_JSON"),
    "unknown_field": (b'{"ai_drafted_script": "x", "surprise": 1}', "UNKNOWN_FIELD"),
    "path_field_in_body": (b'{"ai_drafted_script": "x", "fix_id": "other"}', "UNKNOWN_FIELD"),
    "camel_case_name": (b'{"aiDraftedScript": "x"}', "UNKNOWN_FIELD"),
    "huge_number": (b'{"ai_drafted_parameters": {"x": 1' + b"0" * 400 + b"}}", None),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_bodies_are_400_with_the_error_body(
    fake_stack, engineer_token, case
) -> None:
    body, reason = MALFORMED[case]
    async with fake_stack.client(engineer_token) as client:
        response = await client.patch(
            SCRIPT_PATH, content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    if reason:
        assert error["details"][0]["reason"] == reason
    assert not fake_stack.fixes.calls


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/api/v1/ai-sessions/{SID}/suggested-fixes/{FID}/script-decision", {"decision": "maybe"}),
        (f"/api/v1/ai-sessions/{SID}/suggested-fixes/{FID}/outcome", {"outcome": "APPLIED_FAILED"}),
        ("/api/v1/script-builder/sessions", {"origin": "unspecified"}),
        ("/api/v1/script-builder/sessions", {"origin": 1}),
    ],
)
async def test_unknown_enum_values_are_400(fake_stack, engineer_token, path, body) -> None:
    async with fake_stack.client(engineer_token) as client:
        method = "PATCH" if path.endswith("outcome") else "POST"
        response = await client.request(method, path, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["reason"] in {
        "INVALID_ENUM_VALUE",
        "INVALID_FIELD_VALUE",
    }


async def test_query_on_a_body_route_and_out_of_range_ints_are_400(
    fake_stack, engineer_token
) -> None:
    async with fake_stack.client(engineer_token) as client:
        query = await client.post(f"/api/v1/ai-sessions/{SID}/resolve?force=1", json={})
        big = await client.get("/api/v1/ai-sessions", params={"page_size": str(2**40)})
        twice = await client.get("/api/v1/ai-sessions?page_size=1&page_size=2")
    assert [r.status_code for r in (query, big, twice)] == [400, 400, 400]
    assert not fake_stack.fixes.calls


async def test_empty_body_means_all_defaults(fake_stack, engineer_token) -> None:
    async with fake_stack.client(engineer_token) as client:
        response = await client.post(f"/api/v1/ai-sessions/{SID}/suggested-fixes/{FID}/apply")
    assert response.status_code == 200
    assert fake_stack.fixes.last("ApplyFix").request.fix_id == FID


async def test_oversize_body_is_413(fake_stack, engineer_token) -> None:
    limit = fake_stack.settings.max_body_bytes
    big = b'{"ai_drafted_script": "' + b"x" * limit + b'"}'

    async def chunks():
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    async with fake_stack.client(engineer_token) as client:
        declared = await client.patch(SCRIPT_PATH, content=big)
        streamed = await client.patch(SCRIPT_PATH, content=chunks())
    for response in (declared, streamed):
        assert response.status_code == 413
        error = response.json()["error"]
        assert error["code"] == 413 and error["details"][0]["reason"] == "REQUEST_TOO_LARGE"
    assert not fake_stack.fixes.calls
