"""Issue 16 over HTTP (gateway, both services, a real PostgreSQL): template
versions, diff and deprecation; the Script Builder tab's submit with its
provenance through to the run record; analytics and a template's success
rate, as the console will call them; 4xx with reasons and nothing written."""

from __future__ import annotations

import uuid

import pytest

from tests.gateway.test_e2e import Api

pytestmark = pytest.mark.e2e


@pytest.fixture
async def user(gateway_url, make_token):
    api = Api(gateway_url, make_token(user_id=f"eng-{uuid.uuid4().hex[:6]}"))
    yield api
    await api.close()


@pytest.fixture
async def viewer(gateway_url, make_token):
    api = Api(gateway_url, make_token(user_id="viewer-1", role="viewer"))
    yield api
    await api.close()


def _reason(body: dict) -> str:
    return body["error"]["details"][0]["reason"]


async def _template(user: Api) -> dict:
    return await user.call(
        "POST",
        "/script-templates",
        201,
        json={
            "name": "Restart a unit",
            "language": "bash",
            "body": "systemctl restart -- {{unit}}",
            "parameters": [{"name": "unit", "type": "string", "required": True}],
        },
    )


async def test_versions_diff_and_deprecation_over_rest(user: Api, viewer: Api) -> None:
    template = await _template(user)
    assert template["current_version"] == 1
    base = f"/script-templates/{template['id']}"
    v2 = await user.call(
        "POST",
        f"{base}/versions",
        201,
        json={
            "body": "systemctl restart -- {{unit}}\nsystemctl is-active -- {{unit}}",
            "parameters": [{"name": "unit", "type": "string", "required": True}],
            "change_note": "check it came back",
            "base_version": 1,
        },
    )
    assert (v2["version"], v2["change_note"], v2["language"]) == (2, "check it came back", "bash")
    listed = await viewer.call("GET", f"{base}/versions", 200)
    assert [v["version"] for v in listed["versions"]] == [2, 1]
    one = await viewer.call("GET", f"{base}/versions/1", 200)
    assert one["body"] == "systemctl restart -- {{unit}}"
    diff = await viewer.call("GET", f"{base}/versions:diff?from_version=1&to_version=2", 200)
    assert diff["diff"].endswith("+systemctl is-active -- {{unit}}\n")
    assert (diff["added_lines"], diff["removed_lines"]) == (1, 0)
    deprecated = await user.call(
        "POST", f"{base}/versions/1:deprecate", 200, json={"reason": "no check"}
    )
    assert deprecated["deprecated"] and deprecated["deprecation_reason"] == "no check"
    refused = await viewer.call("POST", f"{base}/versions/2:deprecate", 403, json={})
    assert _reason(refused) == "ROLE_CANNOT_WRITE"
    stale = await user.call(
        "POST", f"{base}/versions", 409, json={"body": "true", "base_version": 1}
    )
    assert _reason(stale) == "TEMPLATE_VERSION_CONFLICT"
    bad_number = await user.call("GET", f"{base}/versions/abc", 400)
    assert bad_number["error"]["status"] == "INVALID_ARGUMENT"
    missing = await user.call("GET", f"{base}/versions/9", 404)
    assert _reason(missing) == "TEMPLATE_VERSION_NOT_FOUND"
    assert [
        v["version"] for v in (await user.call("GET", f"{base}/versions", 200))["versions"]
    ] == [
        2,
        1,
    ]


async def test_submit_run_and_analytics_over_rest(user: Api, viewer: Api) -> None:
    session = await user.session("Printing stopped")
    fix = await user.fix(session["id"], title="Restart the print spooler")
    tab = await user.call(
        "POST",
        "/script-builder/sessions",
        201,
        json={"origin": "pilot_inline", "ai_session_id": session["id"]},
    )
    await user.call(
        "POST",
        f"/script-builder/sessions/{tab['id']}/messages",
        201,
        json={"content": "restart the print spooler on PRN-SRV03"},
    )
    submitted = await user.call(
        "POST",
        f"/script-builder/sessions/{tab['id']}:submit",
        200,
        json={"fix_id": fix["id"], "source": "ai"},
    )
    assert submitted["provenance"]["origin"] == "ai_draft"
    fix_path = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}"
    applied = await user.call(
        "POST", f"{fix_path}/apply", 200, json={}, headers={"if-match": submitted["etag"]}
    )
    assert applied["last_run"]["provenance"]["origin"] == "ai_draft"
    await user.call("PATCH", f"{fix_path}/outcome", 200, json={"outcome": "applied_success"})

    report = await viewer.call("GET", "/analytics/outcomes?group_by=origin", 200)
    assert report["totals"]["runs"] >= 1  # the account's runs (other tests share it)
    origins = {g["key"]: g["counts"] for g in report["groups"]}
    assert origins["ai_draft"]["success"] >= 1
    assert report["group_by"] == "origin"
    recipe = submitted["provenance"]["recipe_id"]
    rate = await viewer.call("GET", f"/analytics/success-rate?recipe_id={recipe}", 200)
    assert rate["counts"]["decided"] >= 1 and rate["counts"]["success_rate"] > 0

    for query, reason in (
        ("/analytics/outcomes?group_by=colour", "INVALID_ENUM_VALUE"),
        (
            "/analytics/outcomes?start_time=2026-02-01T00:00:00Z&end_time=2026-01-01T00:00:00Z",
            "INVALID_WINDOW",
        ),
        ("/analytics/success-rate", "MISSING_FIELD"),
        ("/analytics/success-rate?template_id=nope", "INVALID_UUID"),
    ):
        body = await viewer.call("GET", query, 400)
        assert _reason(body) == reason, (query, body)


async def test_a_bad_submit_writes_nothing(user: Api) -> None:
    session = await user.session()
    fix = await user.fix(session["id"])
    tab = await user.call(
        "POST",
        "/script-builder/sessions",
        201,
        json={"origin": "pilot_inline", "ai_session_id": session["id"]},
    )
    before = await user.state_version(session["id"])
    nothing = await user.call(
        "POST", f"/script-builder/sessions/{tab['id']}:submit", 409, json={"fix_id": fix["id"]}
    )
    assert _reason(nothing) == "NO_SCRIPT_TO_SUBMIT"
    unknown = await user.call(
        "POST", f"/script-builder/sessions/{tab['id']}:submit", 400, json={"fix_id": 7}
    )
    assert unknown["error"]["status"] == "INVALID_ARGUMENT"
    assert await user.state_version(session["id"]) == before
