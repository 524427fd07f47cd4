"""Every annotated RPC of both protos is served at its annotated method and path.

The expected table is read here straight from the descriptors' google.api.http
options (not from gateway.routes), so a route the gateway drops, moves or binds
to the wrong RPC fails this test.
"""

from __future__ import annotations

import re
import uuid

import pytest
from google.api import annotations_pb2

from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2
from gateway.routes import TemplateError, compile_template

SERVICES = [
    fixes_pb2.DESCRIPTOR.services_by_name["FixesService"],
    scriptbuilder_pb2.DESCRIPTOR.services_by_name["ScriptBuilderService"],
]


def annotated_rpcs() -> list[tuple[str, str, str, str]]:
    """(service, rpc, HTTP method, path template) for every annotated RPC,
    server-streaming ones included (the gateway serves them as SSE)."""
    rows = []
    for service in SERVICES:
        for method in service.methods:
            options = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            rule = options.Extensions[annotations_pb2.http]
            kind = rule.WhichOneof("pattern")
            rows.append((service.name, method.name, kind.upper(), getattr(rule, kind)))
    return rows


RPCS = annotated_rpcs()


# CONTRACT §3, as it writes them (variable names do not matter: `{}`).
_FIX = "/api/v1/ai-sessions/{}/suggested-fixes/{}"
CONTRACT_ROUTES = {
    ("POST", "/api/v1/ai-sessions"),
    ("GET", "/api/v1/ai-sessions"),
    ("GET", "/api/v1/ai-sessions/{}"),
    ("POST", "/api/v1/ai-sessions/{}/resolve"),
    ("POST", "/api/v1/ai-sessions/{}/escalate"),
    ("POST", "/api/v1/ai-sessions/{}/suggested-fixes"),
    ("GET", "/api/v1/ai-sessions/{}/suggested-fixes"),
    ("GET", _FIX),
    ("PATCH", f"{_FIX}/script"),
    ("POST", f"{_FIX}/apply"),
    ("POST", f"{_FIX}/script-decision"),
    ("PATCH", f"{_FIX}/outcome"),
    ("POST", f"{_FIX}/dismiss"),
    ("PUT", f"{_FIX}/ai-outcome-proposal"),
    ("DELETE", f"{_FIX}/ai-outcome-proposal"),
    ("GET", f"{_FIX}/events"),
    ("GET", "/api/v1/ai-sessions/{}/events:watch"),
    ("POST", "/api/v1/script-builder/sessions"),
    ("GET", "/api/v1/script-builder/sessions"),
    ("GET", "/api/v1/script-builder/sessions/{}"),
    ("DELETE", "/api/v1/script-builder/sessions/{}"),
    ("POST", "/api/v1/script-builder/sessions/{}/messages"),
    ("GET", "/api/v1/script-builder/sessions/{}/messages"),
    ("PATCH", "/api/v1/script-builder/sessions/{}/draft"),
    ("POST", "/api/v1/script-builder/sessions/{}/template"),
    ("POST", "/api/v1/script-templates"),
    ("GET", "/api/v1/script-templates"),
    ("GET", "/api/v1/script-templates/{}"),
    ("POST", "/api/v1/script-templates/{}/render"),
}


def test_the_protos_have_the_contract_surface() -> None:
    served = {(verb, re.sub(r"\{[^}]*\}", "{}", path)) for _, _, verb, path in RPCS}
    assert CONTRACT_ROUTES - served == set(), "contract routes missing from the protos"
    # Our additions to the REST surface (docs/architecture.md).
    assert served - CONTRACT_ROUTES == {
        ("POST", "/api/v1/script-templates/{}/publish"),
        ("POST", f"{_FIX}:render"),
        ("POST", "/api/v1/script-builder/sessions/{}/messages:stream"),
        # Issue 16: template versions, provenance-stating submit, analytics.
        ("POST", "/api/v1/script-templates/{}/versions"),
        ("GET", "/api/v1/script-templates/{}/versions"),
        ("GET", "/api/v1/script-templates/{}/versions/{}"),
        ("GET", "/api/v1/script-templates/{}/versions:diff"),
        ("POST", "/api/v1/script-templates/{}/versions/{}:deprecate"),
        ("POST", "/api/v1/script-builder/sessions/{}:submit"),
        ("GET", "/api/v1/analytics/outcomes"),
        ("GET", "/api/v1/analytics/success-rate"),
        # The session's whole audit trail, its own rows included.
        ("GET", "/api/v1/ai-sessions/{}/events"),
    }
    internal = {"CheckAiSessionAccess", "ListPendingTemplateProposals", "AckTemplateProposal"}
    assert not internal & {rpc for _, rpc, _, _ in RPCS}


# Path variables bound to integer fields (a template version).
INTEGER_PATH_FIELDS = frozenset({"version"})


def concrete(template: str) -> tuple[str, dict[str, str | int]]:
    values: dict[str, str | int] = {}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        values[name] = 7 if name in INTEGER_PATH_FIELDS else str(uuid.uuid4())
        return str(values[name])

    return re.sub(r"\{([a-z_.]+)\}", fill, template), values


@pytest.mark.parametrize(("service", "rpc", "method", "template"), RPCS)
async def test_served_without_token_is_401_from_the_edge(
    fake_stack, service: str, rpc: str, method: str, template: str
) -> None:
    path, _ = concrete(template)
    async with fake_stack.client() as client:
        response = await client.request(method, path, json={} if method != "GET" else None)
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["details"][0]["reason"] == "TOKEN_MISSING"
    assert response.headers["www-authenticate"] == "Bearer"
    # Refused at the edge: no backend saw it.
    assert not fake_stack.fixes.calls and not fake_stack.scriptbuilder.calls


@pytest.mark.parametrize(("service", "rpc", "method", "template"), RPCS)
async def test_served_with_token_calls_that_rpc_with_path_fields(
    fake_stack, engineer_token: str, service: str, rpc: str, method: str, template: str
) -> None:
    path, values = concrete(template)
    async with fake_stack.client(engineer_token) as client:
        response = await client.request(method, path, json={} if method != "GET" else None)
    assert response.status_code < 300, response.text
    fake = fake_stack.fixes if service == "FixesService" else fake_stack.scriptbuilder
    call = fake.last(rpc)
    assert len(fake.calls) == 1
    for field_path, value in values.items():
        assert getattr(call.request, field_path) == value
    assert call.metadata["authorization"] == f"Bearer {engineer_token}"


async def test_wrong_method_is_405_naming_the_allowed_ones(fake_stack, engineer_token) -> None:
    async with fake_stack.client(engineer_token) as client:
        response = await client.put(f"/api/v1/ai-sessions/{uuid.uuid4()}")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == 405
    assert "GET" in response.headers["allow"]


async def test_unknown_route_is_404_with_the_error_body(fake_stack, engineer_token) -> None:
    async with fake_stack.client(engineer_token) as client:
        response = await client.get("/api/v1/nope", headers={"x-request-id": "rid-404"})
    assert response.status_code == 404
    body = response.json()
    assert body["error"]["status"] == "NOT_FOUND"
    assert body["error"]["details"][0]["reason"] == "ROUTE_NOT_FOUND"
    assert response.headers["x-request-id"] == "rid-404"


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/v1/{name=shelves/*}/books", "/v1/shelves/s1/books", {"name": "shelves/s1"}),
        ("/v1/{name=files/**}", "/v1/files/a/b/c", {"name": "files/a/b/c"}),
        ("/v1/books/{book.id}:publish", "/v1/books/7:publish", {"book.id": "7"}),
        ("/v1/*/x/{id}", "/v1/any/x/9", {"id": "9"}),
        ("/v1/{a}/b/{c}", "/v1/1/b/2", {"a": "1", "c": "2"}),
    ],
)
def test_path_templates_follow_google_api_http(template, path, expected) -> None:
    compiled = compile_template(template)
    match = compiled.regex.match(path)
    assert match is not None
    got = {field: match.group(group) for group, field in compiled.variables}
    assert got == expected
    if "**" not in template:
        assert not compiled.regex.match(path + "/extra")


@pytest.mark.parametrize("template", ["v1/x", "/v1//x", "/v1/{a", "/v1/{a=**/b}", "/v1/{1a}"])
def test_bad_templates_fail_at_startup(template) -> None:
    with pytest.raises(TemplateError):
        compile_template(template)
