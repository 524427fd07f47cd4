"""JSON ⇄ protobuf, status codes, error mapping and edge concerns, against fakes."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.protobuf import struct_pb2

from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.runtime import errors
from flowpilot.runtime.context import RESOURCE_CREATED_KEY
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2
from gateway.app import FIXES_SERVICE, SCRIPTBUILDER_SERVICE, create_app
from tests.conftest import serve_http
from tests.gateway.fakes import FakeService
from tests.gateway.test_routes import annotated_rpcs
from tests.support.gateway import both_services

pytestmark = pytest.mark.integration

SID, FID = str(uuid.uuid4()), str(uuid.uuid4())
FIX_PATH = f"/api/v1/ai-sessions/{SID}/suggested-fixes/{FID}"


def full_fix() -> fixes_pb2.SuggestedFix:
    fix = fixes_pb2.SuggestedFix(
        id=FID,
        ai_session_id=SID,
        title="Restart spooler",
        script_language=1,
        status=fixes_pb2.FIX_STATUS_APPLIED_PARTIAL,
        ai_drafted_script="Restart-Service Spooler",
        outcome_notes="half",
        banner_mode=fixes_pb2.BANNER_MODE_PARTIAL,
        apply_route=fixes_pb2.APPLY_ROUTE_NO_TEMPLATE_DIALOG,
    )
    fix.applied_at.FromJsonString("2026-04-23T10:00:00.250Z")
    fix.created_at.FromJsonString("2026-04-23T09:00:00Z")
    fix.ai_drafted_parameters.update({"host": "srv1", "retries": 3, "nested": {"a": [1, None]}})
    return fix


async def test_response_shape_every_field_present(fake_stack, engineer_token) -> None:
    async def get_fix(request, context):
        return full_fix()

    fake_stack.fixes.behaviors["GetSuggestedFix"] = get_fix
    async with fake_stack.client(engineer_token) as client:
        response = await client.get(FIX_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {f.name for f in fixes_pb2.SuggestedFix.DESCRIPTOR.fields}
    assert body["status"] == "applied_partial"
    assert body["script_language"] == "powershell"
    assert body["banner_mode"] == "partial"
    assert body["apply_route"] == "no_template_dialog"
    assert body["script_decision"] is None  # zero enum
    assert body["script_template_id"] is None  # unset optional
    assert body["ai_outcome_proposal"] is None  # unset message
    assert body["updated_at"] is None  # unset Timestamp
    assert body["applied_at"] == "2026-04-23T10:00:00.250Z"
    assert body["created_at"] == "2026-04-23T09:00:00Z"
    assert body["ai_drafted_parameters"] == {
        "host": "srv1",
        "retries": 3,
        "nested": {"a": [1, None]},
    }
    assert body["needs_script"] is False
    assert body["description"] == ""


async def test_request_body_is_decoded_with_proto_names_and_short_enums(
    fake_stack, engineer_token
) -> None:
    async with fake_stack.client(engineer_token) as client:
        response = await client.post(
            f"/api/v1/ai-sessions/{SID}/escalate",
            json={
                "reason": "customer waiting",
                "fix_outcomes": [
                    {"fix_id": FID, "choice": "applied_partial", "notes": "some"},
                    {"fix_id": "f2", "choice": "never_applied", "notes": None},
                ],
            },
        )
    assert response.status_code == 200, response.text
    request = fake_stack.fixes.last("EscalateAiSession").request
    assert request.session_id == SID
    assert request.reason == "customer waiting"
    assert [c.choice for c in request.fix_outcomes] == [
        fixes_pb2.ESCALATION_CHOICE_APPLIED_PARTIAL,
        fixes_pb2.ESCALATION_CHOICE_NEVER_APPLIED,
    ]


async def test_struct_and_optional_fields_in_requests(fake_stack, engineer_token) -> None:
    async with fake_stack.client(engineer_token) as client:
        response = await client.patch(
            f"{FIX_PATH}/script",
            json={"ai_drafted_script": "echo hi", "ai_drafted_parameters": {"n": 1.5, "l": [True]}},
        )
        assert response.status_code == 200
        request = fake_stack.fixes.last("UpdateFixScript").request
        assert request.ai_drafted_parameters == struct_pb2.Struct(
            fields={
                "n": struct_pb2.Value(number_value=1.5),
                "l": struct_pb2.Value(
                    list_value=struct_pb2.ListValue(values=[struct_pb2.Value(bool_value=True)])
                ),
            }
        )
        response = await client.post(
            "/api/v1/script-builder/sessions",
            json={"origin": "pilot_inline", "ai_session_id": SID, "language": None},
        )
    assert response.status_code == 201
    request = fake_stack.scriptbuilder.last("CreateSession").request
    assert request.origin == scriptbuilder_pb2.ORIGIN_PILOT_INLINE
    assert request.HasField("ai_session_id") and request.ai_session_id == SID
    assert request.language == 0  # null is the zero value


async def test_query_parameters_for_get(fake_stack, engineer_token) -> None:
    async with fake_stack.client(engineer_token) as client:
        response = await client.get(
            "/api/v1/script-builder/sessions",
            params={"include_inline": "true", "page_size": "7", "page_token": "abc"},
        )
        assert response.status_code == 200
        request = fake_stack.scriptbuilder.last("ListSessions").request
        assert (request.include_inline, request.page_size, request.page_token) == (True, 7, "abc")
        for bad in ({"include_inline": "yes"}, {"page_size": "x"}, {"bogus": "1"}):
            response = await client.get("/api/v1/script-builder/sessions", params=bad)
            assert response.status_code == 400, bad
            assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


async def test_empty_list_response(fake_stack, engineer_token) -> None:
    async with fake_stack.client(engineer_token) as client:
        response = await client.get("/api/v1/ai-sessions")
    assert response.json() == {"ai_sessions": [], "next_page_token": ""}


async def test_created_false_metadata_turns_201_into_200(fake_stack, engineer_token) -> None:
    async def existing(request, context):
        context.set_trailing_metadata(((RESOURCE_CREATED_KEY, "false"),))
        return scriptbuilder_pb2.Session(id="s1", origin=scriptbuilder_pb2.ORIGIN_PILOT_INLINE)

    async with fake_stack.client(engineer_token) as client:
        first = await client.post("/api/v1/script-builder/sessions", json={})
        fake_stack.scriptbuilder.behaviors["CreateSession"] = existing
        second = await client.post("/api/v1/script-builder/sessions", json={})
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["origin"] == "pilot_inline"


async def test_delete_is_204_without_body(fake_stack, engineer_token) -> None:
    async with fake_stack.client(engineer_token) as client:
        response = await client.delete(f"/api/v1/script-builder/sessions/{SID}")
    assert response.status_code == 204
    assert response.content == b""


ERROR_CASES = [
    (errors.InvalidArgument("empty script", field="ai_drafted_script"), 400, "INVALID_ARGUMENT"),
    (errors.Unauthenticated("bad token"), 401, "UNAUTHENTICATED"),
    (errors.PermissionDenied("ROLE_CANNOT_WRITE", "viewers read only"), 403, "PERMISSION_DENIED"),
    (errors.NotFound("FIX_NOT_FOUND", "no such fix"), 404, "NOT_FOUND"),
    (errors.FailedPrecondition("FIX_TERMINAL", "fix is terminal"), 409, "FAILED_PRECONDITION"),
    (errors.Aborted("CONCURRENT_UPDATE", "try again"), 409, "ABORTED"),
    (errors.AlreadyExists("EXISTS", "exists"), 409, "ALREADY_EXISTS"),
    (errors.ResourceExhausted("RATE_LIMITED", "slow down"), 429, "RESOURCE_EXHAUSTED"),
    (errors.Unavailable("FIXES_UNAVAILABLE", "fixes service down"), 503, "UNAVAILABLE"),
    (errors.DeadlineExceeded("SLOW", "too slow"), 504, "DEADLINE_EXCEEDED"),
]


@pytest.mark.parametrize(("error", "http", "status"), ERROR_CASES, ids=lambda v: str(v)[:30])
async def test_grpc_errors_map_to_contract_http(
    fake_stack, engineer_token, error, http, status
) -> None:
    async def fail(request, context):
        raise error

    fake_stack.fixes.behaviors["UpdateFixScript"] = fail
    async with fake_stack.client(engineer_token) as client:
        response = await client.patch(f"{FIX_PATH}/script", json={"ai_drafted_script": "x"})
    assert response.status_code == http
    body = response.json()["error"]
    assert body["code"] == http
    assert body["status"] == status
    assert body["message"] == error.message
    info = body["details"][0]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert info["reason"] == error.reason
    assert info["domain"] == "fake.flowpilot"
    if isinstance(error, errors.InvalidArgument):
        assert body["details"][1]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
        assert body["details"][1]["field_violations"][0]["field"] == "ai_drafted_script"


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNIMPLEMENTED]
)
async def test_other_codes_are_500(fake_stack, engineer_token, code) -> None:
    """A failure that is not one of our services' refusals (no google.rpc.Status)
    keeps its code, never its text: that is gRPC's or an exception's."""

    async def fail(request, context):
        await context.abort(code, "Unexpected <class 'KeyError'>: 'db_password'")

    fake_stack.fixes.behaviors["GetAiSession"] = fail
    async with fake_stack.client(engineer_token) as client:
        response = await client.get(f"/api/v1/ai-sessions/{SID}")
    assert response.status_code == 500
    expected = "the backend service does not offer this call"
    if code is not grpc.StatusCode.UNIMPLEMENTED:
        expected = "the backend service failed"
    assert response.json()["error"] == {
        "code": 500,
        "status": code.name,
        "message": expected,
        "details": [],
    }


async def test_an_exception_in_a_service_leaves_only_its_code(fake_stack, engineer_token) -> None:
    async def crash(request, context):
        raise KeyError("db_password")

    fake_stack.fixes.behaviors["GetAiSession"] = crash
    async with fake_stack.client(engineer_token) as client:
        response = await client.get(f"/api/v1/ai-sessions/{SID}")
    assert response.status_code == 500
    assert "db_password" not in response.text and "KeyError" not in response.text


async def test_request_id_forwarded_and_echoed(fake_stack, engineer_token) -> None:
    async with fake_stack.client(engineer_token) as client:
        given = await client.get(f"/api/v1/ai-sessions/{SID}", headers={"x-request-id": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        assert fake_stack.fixes.last("GetAiSession").metadata["x-request-id"] == "abc-123"
        minted = await client.get(f"/api/v1/ai-sessions/{SID}", headers={"x-request-id": "bad id!"})
    rid = minted.headers["x-request-id"]
    assert rid and rid != "bad id!"
    assert fake_stack.fixes.last("GetAiSession").metadata["x-request-id"] == rid


async def test_deadline_is_504(settings, make_token) -> None:
    fixes, sb = FakeService(FIXES_SERVICE), FakeService(SCRIPTBUILDER_SERVICE)

    async def slow(request, context):
        await asyncio.sleep(2)
        return fixes_pb2.AiSession()

    fixes.behaviors["GetAiSession"] = slow
    quick = settings.model_copy(update={"backend_timeout_seconds": 0.3})
    fs, ss = fixes.server(quick), sb.server(quick)
    await fs.start()
    await ss.start()
    try:
        app = create_app(quick, both_services(fs.target, ss.target))
        async with serve_http(app) as url, httpx_client(url, make_token()) as client:
            response = await client.get(f"/api/v1/ai-sessions/{SID}")
    finally:
        await fs.stop(0)
        await ss.stop(0)
    assert response.status_code == 504
    assert response.json()["error"]["status"] == "DEADLINE_EXCEEDED"


def httpx_client(url: str, token: str):
    import httpx

    return httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {token}"})


async def test_service_down_is_503_and_not_ready(settings, make_token) -> None:
    """A call waits for a service that is down (it may be restarting) until
    its deadline, then answers 503: the deadline passed waiting for the
    service, not inside it."""
    from flowpilot.runtime.embedded_pg import free_port

    dead = f"127.0.0.1:{free_port()}"
    short = settings.model_copy(update={"backend_timeout_seconds": 0.5})
    app = create_app(short, both_services(dead, dead))
    async with serve_http(app) as url, httpx_client(url, make_token()) as client:
        response = await client.post("/api/v1/ai-sessions", json={"title": "t"})
        assert response.status_code == 503
        assert response.json()["error"]["status"] == "UNAVAILABLE"
        assert response.json()["error"]["details"][0]["reason"] == "BACKEND_UNAVAILABLE"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert (await client.get("/healthz")).status_code == 200


async def test_ready_when_both_serving(fake_stack) -> None:
    async with fake_stack.client() as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["services"].values()) == {"SERVING"}
    assert ready.json()["dependencies"] == {
        SCRIPTBUILDER_SERVICE.full_name: {FIXES_SERVICE.full_name: "SERVING"}
    }


async def test_unavailable_is_retried_for_idempotent_calls_only(fake_stack, engineer_token) -> None:
    attempts = {"GetAiSession": 0, "CreateAiSession": 0}

    def flaky(name: str):
        async def behavior(request, context):
            attempts[name] += 1
            if attempts[name] == 1:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "blip")
            return fixes_pb2.AiSession(id="ok")

        return behavior

    for name in attempts:
        fake_stack.fixes.behaviors[name] = flaky(name)
    async with fake_stack.client(engineer_token) as client:
        get = await client.get(f"/api/v1/ai-sessions/{SID}")
        post = await client.post("/api/v1/ai-sessions", json={"title": "t"})
    assert get.status_code == 200 and attempts["GetAiSession"] == 2
    assert post.status_code == 503 and attempts["CreateAiSession"] == 1


async def test_openapi_and_docs_are_served(fake_stack) -> None:
    async with fake_stack.client() as client:
        doc = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    assert doc["openapi"].startswith("3.")
    operations = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert (
        "PATCH",
        "/api/v1/ai-sessions/{session_id}/suggested-fixes/{fix_id}/script",
    ) in operations
    assert len(operations) == len(annotated_rpcs()) + 2  # every annotated RPC, healthz, readyz
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    # New proto fields show up without gateway changes: the drafter's contract.
    message = doc["components"]["schemas"]["Message"]["properties"]
    assert message["parameters"]["items"] == {"$ref": "#/components/schemas/ScriptParameter"}
    assert {"language", "explanation", "recipe_id", "script"} <= set(message)
    assert "powershell" in str(message["language"])
    template = doc["components"]["schemas"]["ScriptTemplate"]["properties"]
    assert "source_recipe_id" in template


async def test_openapi_has_issue_10s_fixes_surface(fake_stack) -> None:
    """The fixes service's new fields and the fix render come from the protos
    alone: the gateway publishes them without a change of its own."""
    async with fake_stack.client() as client:
        doc = (await client.get("/openapi.json")).json()
    render = "/api/v1/ai-sessions/{session_id}/suggested-fixes/{fix_id}:render"
    assert "post" in doc["paths"][render]
    schemas = doc["components"]["schemas"]
    fix = schemas["SuggestedFix"]["properties"]
    assert {
        "etag",
        "state_version",
        "allowed_actions",
        "script_parameters",
        "last_run",
        "notes_history",
    } <= set(fix)
    assert "update_script" in str(fix["allowed_actions"])
    assert "frozen" in str(fix["banner_mode"])
    session = schemas["AiSession"]["properties"]
    assert {"etag", "allowed_actions", "escalation_choices"} <= set(session)
    assert "propose_fix" in str(session["allowed_actions"])

    def body(path: str, method: str) -> set[str]:
        schema = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
        return set(schema["schema"]["properties"])

    fix_path = "/api/v1/ai-sessions/{session_id}/suggested-fixes/{fix_id}"
    assert {"etag", "parameters"} <= body(f"{fix_path}/apply", "post")
    assert {"update_mask", "script_parameters", "etag"} <= body(f"{fix_path}/script", "patch")
    assert {"parameters"} <= body(render, "post")
    assert {"script", "language"} <= set(schemas["RenderSuggestedFixResponse"]["properties"])
    assert {"run"} <= set(schemas["FixEvent"]["properties"])
