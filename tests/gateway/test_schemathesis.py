"""Schemathesis against the gateway's own /openapi.json, with the real services.

Every operation gets at least 100 generated requests with a valid engineer
token (positive mode), plus a shorter negative run (invalid inputs must be
4xx). Checks: no 5xx, documented status codes and content types, and every
response body valid against the published schema.

Streaming operations (`x-flowpilot-streaming`) answer `text/event-stream`:
schemathesis checks their status codes and content types like any other's
(and their JSON errors), which works for a stream that ends by itself
(`POST .../messages:stream`). A streaming GET is a live watch, which never
ends by itself: schemathesis would wait on its body forever, so the sweep
leaves those out, and this test opens each of them once instead (200,
`text/event-stream`, then hangs up); their behaviour has its own tests
(tests/gateway/test_sse.py and the service's).

The HTTP calls are blocking (requests), so they run in a worker thread while
the servers keep serving on the test's event loop. Schemathesis is imported
when the test runs, not when the suite is collected: `-m unit` stays quick.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections import Counter

import httpx
import hypothesis
import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

from tests.gateway.test_routes import annotated_rpcs

pytestmark = [pytest.mark.e2e, pytest.mark.schemathesis]

POSITIVE_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "100"))
STREAMING = "x-flowpilot-streaming"


def live_watches(doc: dict) -> list[tuple[str, str]]:
    """(method, path) of the streams that never end by themselves: streaming GETs."""
    return [
        ("GET", path) for path, item in doc["paths"].items() if STREAMING in item.get("get", {})
    ]


NEGATIVE_EXAMPLES = max(1, POSITIVE_EXAMPLES // 4)


def _with_known_ids(strategy, known: dict[str, str], path: str):
    """Half the cases address resources that exist, so success bodies get validated too."""
    scope = "script-builder:" if path.startswith("/api/v1/script-builder/") else ""

    def substitute(pair):
        case, use_known = pair
        if use_known and case.path_parameters:
            for name in case.path_parameters:
                value = known.get(scope + name) or known.get(name)
                if value:
                    case.path_parameters[name] = value
        return case

    return st.tuples(strategy, st.booleans()).map(substitute)


def _make_check(operation, mode, examples, checks, label, session, counts, statuses, known):
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(
        case=_with_known_ids(operation.as_strategy(generation_mode=mode), known, operation.path)
    )
    def check(case) -> None:
        counts[label] = counts.get(label, 0) + 1
        response = case.call_and_validate(session=session, checks=checks)
        statuses.setdefault(label, Counter())[response.status_code] += 1

    return check


def fuzz(
    doc: dict, base_url: str, token: str, known: dict[str, str]
) -> tuple[dict[str, int], dict[str, Counter], list[str]]:
    import requests
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance,
        negative_data_rejection,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    schema = schemathesis.openapi.from_dict(doc)
    schema.config.update(base_url=base_url)

    # Schemathesis' own auth, not `headers=`: a negative case that drops the
    # Authorization header must stay dropped, or a valid request is sent and
    # then reported as a schema violation that was accepted.
    @schema.auth(refresh_interval=None)
    class BearerToken:
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    session = requests.Session()
    counts: dict[str, int] = {}
    statuses: dict[str, Counter] = {}
    failures: list[str] = []
    watches = {f"{method} {path}" for method, path in live_watches(doc)}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in watches:
            continue  # a live watch: opened once by the test instead
        for mode, examples, mode_checks in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES, checks),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, [*checks, negative_data_rejection]),
        ):
            label = f"{operation.label} [{mode.value}]"

            check = _make_check(
                operation, mode, examples, mode_checks, label, session, counts, statuses, known
            )
            try:
                check()
            except hypothesis.errors.Unsatisfiable:
                continue  # nothing invalid to generate for this operation
            except (Exception, BaseExceptionGroup) as exc:  # collect all, not the first
                failures.append(f"{label}: {exc}")
    return counts, statuses, failures


async def seed(base_url: str, token: str) -> dict[str, str]:
    """An AI session with a fix, a template and a script-builder session to aim at."""
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", headers=headers) as client:

        async def post(path: str, body: dict) -> str:
            response = await client.post(path, json=body)
            assert response.status_code == 201, response.text
            return response.json()["id"]

        session_id = await post("/ai-sessions", {"title": "fuzz"})
        fix_id = await post(
            f"/ai-sessions/{session_id}/suggested-fixes",
            {"title": "f", "script_language": "bash", "ai_drafted_script": "echo hi"},
        )
        template_id = await post(
            "/script-templates",
            {
                "name": "t",
                "language": "bash",
                "body": "echo {{x}}",
                "parameters": [{"name": "x", "type": "string"}],
            },
        )
        sb_session_id = await post("/script-builder/sessions", {"title": "fuzz"})
    return {
        "session_id": session_id,
        "fix_id": fix_id,
        "template_id": template_id,
        # `session_id` of script-builder routes names a script-builder session.
        "script-builder:session_id": sb_session_id,
    }


async def open_each_watch(
    base_url: str, token: str, known: dict[str, str], watches: list[tuple[str, str]]
) -> None:
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        for method, template in watches:
            path = re.sub(r"\{([a-z_.]+)\}", lambda m: known[m.group(1)], template)
            async with client.stream(method, path) as response:
                assert response.status_code == 200, f"{method} {template}"
                assert response.headers["content-type"].startswith("text/event-stream")


async def test_schemathesis_finds_no_violation(gateway_url, make_token) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        doc = (await client.get("/openapi.json")).json()
    token = make_token(user_id=f"fuzz-{uuid.uuid4().hex[:6]}")
    known = await seed(gateway_url, token)
    counts, statuses, failures = await asyncio.to_thread(fuzz, doc, gateway_url, token, known)
    assert not failures, "\n\n".join(failures)
    watches = live_watches(doc)
    await open_each_watch(gateway_url, token, known, watches)
    # The auth provider really authenticates positive cases: every API
    # operation answered something other than 401 at least once, and the
    # positive run as a whole reached successful responses.
    for label, seen in statuses.items():
        if label.endswith("[positive]") and "/api/" in label:
            assert set(seen) - {401}, f"{label}: only 401s, the token was not sent"
    positive_2xx = sum(
        n
        for label, seen in statuses.items()
        if label.endswith("[positive]")
        for code, n in seen.items()
        if 200 <= code < 300
    )
    assert positive_2xx > 0
    operations = {label.rsplit(" [", 1)[0] for label in counts}
    # Every RPC route (the watches opened above), healthz, readyz.
    assert len(operations) + len(watches) == len(annotated_rpcs()) + 2
    assert "POST /api/v1/script-builder/sessions/{session_id}/messages:stream" in operations
    assert "POST /api/v1/script-templates/{template_id}/publish" in operations
    # healthz/readyz take no input: one distinct request is all there is.
    positive = {k: v for k, v in counts.items() if k.endswith("[positive]") and "/api/" in k}
    assert min(positive.values()) >= POSITIVE_EXAMPLES, positive
