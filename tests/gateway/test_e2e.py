"""End to end over HTTP: gateway, both services and a real PostgreSQL.

The seed's backend test list (PATCH /script, the apply stamping rules, inline
get-or-create, another user's AI session, the cap, the list filter), the full
Script Builder tab story, viewers, and bad IDs — all through the REST surface.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

API = "/api/v1"


class Api:
    """A thin REST client for one user."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=url + API, headers={"authorization": f"Bearer {token}"}, timeout=30
        )

    async def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    async def session(self, title: str = "Outlook will not start") -> dict[str, Any]:
        return await self.call("POST", "/ai-sessions", 201, json={"title": title})

    async def fix(self, sid: str, **fields: Any) -> dict[str, Any]:
        body = {"title": "Reset the profile", "script_language": "powershell", **fields}
        return await self.call("POST", f"/ai-sessions/{sid}/suggested-fixes", 201, json=body)

    async def state_version(self, sid: str) -> int:
        return (await self.call("GET", f"/ai-sessions/{sid}", 200))["state_version"]

    async def close(self) -> None:
        await self.http.aclose()


@pytest.fixture
async def user(gateway_url, make_token):
    api = Api(gateway_url, make_token(user_id=f"eng-{uuid.uuid4().hex[:6]}"))
    yield api
    await api.close()


@pytest.fixture
async def other_user(gateway_url, make_token):
    api = Api(gateway_url, make_token(user_id=f"eng-{uuid.uuid4().hex[:6]}"))
    yield api
    await api.close()


def fix_path(fix: dict[str, Any], action: str = "") -> str:
    base = f"/ai-sessions/{fix['ai_session_id']}/suggested-fixes/{fix['id']}"
    return f"{base}/{action}" if action else base


# ---------------------------------------------------------------- PATCH /script


async def test_patch_script_happy_path(user) -> None:
    session = await user.session()
    fix = await user.fix(session["id"])
    before = await user.state_version(session["id"])
    updated = await user.call(
        "PATCH",
        fix_path(fix, "script"),
        200,
        json={
            "ai_drafted_script": "Remove-Item $env:LOCALAPPDATA\\x",
            "ai_drafted_parameters": {"a": 1},
        },
    )
    assert updated["ai_drafted_script"].startswith("Remove-Item")
    assert updated["ai_drafted_parameters"] == {"a": 1}
    assert updated["applied_at"] is None
    assert updated["status"] == "proposed"
    assert await user.state_version(session["id"]) == before + 1


async def test_patch_script_404_on_wrong_session(user, other_user) -> None:
    session = await user.session()
    fix = await user.fix(session["id"])
    other = await user.session("another")
    wrong = f"/ai-sessions/{other['id']}/suggested-fixes/{fix['id']}/script"
    await user.call("PATCH", wrong, 404, json={"ai_drafted_script": "x"})
    # Not yours is not found either.
    body = await other_user.call(
        "PATCH", fix_path(fix, "script"), 404, json={"ai_drafted_script": "x"}
    )
    assert body["error"]["status"] == "NOT_FOUND"


async def test_patch_script_409_on_terminal(user) -> None:
    session = await user.session()
    fix = await user.fix(session["id"])
    await user.call("POST", fix_path(fix, "dismiss"), 200, json={})
    body = await user.call("PATCH", fix_path(fix, "script"), 409, json={"ai_drafted_script": "x"})
    assert body["error"]["status"] == "FAILED_PRECONDITION"


@pytest.mark.parametrize(
    "body",
    [{"ai_drafted_script": ""}, {"ai_drafted_script": None}, {"ai_drafted_script": "x" * 50_001}],
)
async def test_patch_script_400_on_empty_or_oversize(user, body) -> None:
    session = await user.session()
    fix = await user.fix(session["id"])
    before = await user.state_version(session["id"])
    error = await user.call("PATCH", fix_path(fix, "script"), 400, json=body)
    assert error["error"]["status"] == "INVALID_ARGUMENT"
    assert await user.state_version(session["id"]) == before


async def test_patch_script_with_an_empty_body_changes_nothing(user) -> None:
    """`{}` names no field: the gateway's mask is set and empty, so the
    service writes nothing (docs/gateway.md, "Update masks")."""
    session = await user.session()
    fix = await user.fix(session["id"])
    before = await user.state_version(session["id"])
    same = await user.call("PATCH", fix_path(fix, "script"), 200, json={})
    assert same["etag"] == fix["etag"] and same["ai_drafted_script"] is None
    assert await user.state_version(session["id"]) == before


# ------------------------------------------------------- apply stamping rules


async def test_apply_needs_a_script_or_template(user) -> None:
    session = await user.session()
    fix = await user.fix(session["id"])
    assert fix["apply_route"] == "script_builder_tab" and fix["needs_script"] is True
    await user.call("POST", fix_path(fix, "apply"), 409, json={})
    assert (await user.call("GET", fix_path(fix), 200))["applied_at"] is None


@pytest.mark.parametrize(
    ("decision", "stamps"), [("one_off", True), ("draft_template", True), ("build_template", False)]
)
async def test_script_decisions_stamp_only_when_they_declare_a_run(user, decision, stamps) -> None:
    session = await user.session()
    fix = await user.fix(session["id"], ai_drafted_script="Get-Process")
    assert fix["apply_route"] == "no_template_dialog"
    decided = await user.call(
        "POST", fix_path(fix, "script-decision"), 200, json={"decision": decision}
    )
    assert decided["script_decision"] == decision
    assert (decided["applied_at"] is not None) is stamps
    assert decided["banner_mode"] == ("verifying" if stamps else "proposed")


async def test_template_match_panel_i_ran_this_stamps_once(user) -> None:
    template = await user.call(
        "POST",
        "/script-templates",
        201,
        json={
            "name": "Restart",
            "language": "bash",
            "body": "systemctl restart {{unit}}",
            "parameters": [{"name": "unit", "type": "string", "required": True}],
        },
    )
    session = await user.session()
    fix = await user.fix(session["id"], script_template_id=template["id"], script_language="bash")
    assert fix["apply_route"] == "template_match_panel"
    # Generate never stamps.
    rendered = await user.call(
        "POST",
        f"/script-templates/{template['id']}/render",
        200,
        json={"parameters": {"unit": "cups"}},
    )
    assert rendered["language"] == "bash" and "cups" in rendered["script"]
    assert (await user.call("GET", fix_path(fix), 200))["applied_at"] is None
    first = await user.call("POST", fix_path(fix, "apply"), 200)
    assert first["applied_at"] is not None and first["banner_mode"] == "verifying"
    again = await user.call("POST", fix_path(fix, "apply"), 200)
    assert again["applied_at"] == first["applied_at"]


# ------------------------------------------------------------ script builder


async def test_inline_create_201_then_200_same_id(user) -> None:
    session = await user.session()
    body = {"origin": "pilot_inline", "ai_session_id": session["id"], "language": "bash"}
    first = await user.call("POST", "/script-builder/sessions", 201, json=body)
    second = await user.call("POST", "/script-builder/sessions", 200, json=body)
    assert first["id"] == second["id"]
    assert first["origin"] == "pilot_inline" and first["ai_session_id"] == session["id"]
    listed = await user.call("GET", "/script-builder/sessions?include_inline=true", 200)
    assert [s["id"] for s in listed["sessions"]] == [first["id"]]


async def test_concurrent_inline_creates_return_one_row(user) -> None:
    session = await user.session()
    body = {"origin": "pilot_inline", "ai_session_id": session["id"]}
    responses = await asyncio.gather(
        *(user.http.post("/script-builder/sessions", json=body) for _ in range(10))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_inline_on_another_users_ai_session_is_rejected(user, other_user) -> None:
    session = await other_user.session()
    body = {"origin": "pilot_inline", "ai_session_id": session["id"]}
    error = await user.call("POST", "/script-builder/sessions", 404, json=body)
    assert error["error"]["status"] == "NOT_FOUND"
    assert (await user.call("GET", "/script-builder/sessions?include_inline=true", 200))[
        "sessions"
    ] == []


async def test_inline_without_ai_session_is_400(user) -> None:
    await user.call("POST", "/script-builder/sessions", 400, json={"origin": "pilot_inline"})


async def test_cap_and_list_filter(user) -> None:
    # Five inline sessions neither count against the cap nor show by default.
    inline_ids = set()
    for _ in range(5):
        ai = await user.session()
        created = await user.call(
            "POST",
            "/script-builder/sessions",
            201,
            json={"origin": "pilot_inline", "ai_session_id": ai["id"]},
        )
        inline_ids.add(created["id"])
    standalone_ids = set()
    for index in range(5):
        created = await user.call(
            "POST", "/script-builder/sessions", 201, json={"title": f"s{index}"}
        )
        assert created["origin"] == "standalone"
        standalone_ids.add(created["id"])
    sixth = await user.call("POST", "/script-builder/sessions", 409, json={"title": "s6"})
    assert sixth["error"]["status"] == "FAILED_PRECONDITION"
    assert sixth["error"]["details"][0]["reason"] == "SCRIPT_BUILDER_SESSION_CAP"
    default = await user.call("GET", "/script-builder/sessions", 200)
    assert {s["id"] for s in default["sessions"]} == standalone_ids
    everything = await user.call(
        "GET", "/script-builder/sessions", 200, params={"include_inline": "true"}
    )
    assert {s["id"] for s in everything["sessions"]} == standalone_ids | inline_ids
    # Deleting one frees a slot.
    await user.call("DELETE", f"/script-builder/sessions/{standalone_ids.pop()}", 204)
    await user.call("POST", "/script-builder/sessions", 201, json={"title": "again"})


# ----------------------------------------------------------------- the story


async def test_full_script_builder_tab_story(user) -> None:
    session = await user.session("VPN drops every hour")
    sid = session["id"]
    fix = await user.fix(sid, description="Renew the DHCP lease")
    assert fix["apply_route"] == "script_builder_tab"
    assert fix["needs_script"] is True and fix["banner_mode"] == "proposed"

    inline = await user.call(
        "POST",
        "/script-builder/sessions",
        201,
        json={"origin": "pilot_inline", "ai_session_id": sid, "language": "powershell"},
    )
    answer = await user.call(
        "POST",
        f"/script-builder/sessions/{inline['id']}/messages",
        201,
        json={"content": "Write a script that renews the DHCP lease"},
    )
    assert answer["user_message"]["role"] == "user"
    assert answer["assistant_message"]["role"] == "assistant"
    script = answer["assistant_message"]["script"]
    assert script
    # The drafter's output contract, on the REST surface: the recipe the
    # drafter used, the language, the typed parameters and the explanation.
    drafted = answer["assistant_message"]
    assert drafted["recipe_id"] == "flush-dns-reset-network"
    assert drafted["language"] == "powershell"
    assert "ipconfig /renew" in script and drafted["explanation"] in drafted["content"]
    renew = next(p for p in drafted["parameters"] if p["name"] == "release_renew")
    assert renew == {
        "name": "release_renew",
        "type": "boolean",
        "required": False,
        "default": True,
        "choices": [],
        "description": renew["description"],
    }
    assert answer["user_message"]["parameters"] == [] and answer["user_message"]["language"] is None
    assert answer["user_message"]["recipe_id"] is None
    messages = await user.call("GET", f"/script-builder/sessions/{inline['id']}/messages", 200)
    assert [m["role"] for m in messages["messages"]] == ["user", "assistant"]
    assert messages["messages"][1] == drafted
    draft = await user.call(
        "PATCH",
        f"/script-builder/sessions/{inline['id']}/draft",
        200,
        json={"editor_buffer": script, "mode": "editor"},
    )
    assert draft["mode"] == "editor" and draft["editor_buffer"] == script

    patched = await user.call(
        "PATCH", fix_path(fix, "script"), 200, json={"ai_drafted_script": script}
    )
    assert patched["apply_route"] == "no_template_dialog"
    assert patched["needs_script"] is False and patched["applied_at"] is None

    decided = await user.call(
        "POST", fix_path(fix, "script-decision"), 200, json={"decision": "one_off"}
    )
    assert decided["applied_at"] is not None and decided["banner_mode"] == "verifying"

    partial = await user.call(
        "PATCH",
        fix_path(fix, "outcome"),
        200,
        json={"outcome": "applied_partial", "notes": "lease renewed on one adapter only"},
    )
    assert partial["status"] == "applied_partial" and partial["banner_mode"] == "partial"
    assert partial["outcome_notes"] == "lease renewed on one adapter only"

    # Escalating without an outcome for the partial fix is refused.
    refused = await user.call("POST", f"/ai-sessions/{sid}/escalate", 409, json={"reason": "x"})
    assert refused["error"]["details"][0]["reason"] == "FIX_OUTCOME_REQUIRED"
    escalated = await user.call(
        "POST",
        f"/ai-sessions/{sid}/escalate",
        200,
        json={
            "reason": "still dropping",
            "fix_outcomes": [{"fix_id": fix["id"], "choice": "applied_failed"}],
        },
    )
    assert escalated["status"] == "escalated"
    final = await user.call("GET", fix_path(fix), 200)
    assert final["status"] == "applied_failed" and final["apply_route"] == "none"
    events = await user.call("GET", fix_path(fix, "events"), 200)
    actions = [e["action"] for e in events["events"]]
    assert actions[0] == "created" and "script_updated" in actions
    assert events["events"][-1]["state_version"] == escalated["state_version"]
    # The session's trail holds the fix's rows and, last, the escalation itself,
    # which belongs to no fix.
    trail = await user.call("GET", f"/ai-sessions/{sid}/events", 200, params={"page_size": 500})
    assert trail["next_page_token"] == ""
    assert [e["id"] for e in trail["events"] if e["fix_id"] == fix["id"]] == [
        e["id"] for e in events["events"]
    ]
    last = trail["events"][-1]
    assert last["action"] == "session_escalated" and last["fix_id"] == ""
    assert last["details"]["reason"] == "still dropping"
    assert last["state_version"] == escalated["state_version"]


# ------------------------------------------------------- identity and inputs


async def test_viewer_may_read_but_not_write(gateway_url, make_token, user) -> None:
    session = await user.session()
    viewer = Api(gateway_url, make_token(user_id=f"v-{uuid.uuid4().hex[:6]}", role="viewer"))
    try:
        await viewer.call("GET", "/ai-sessions", 200)
        for method, path, body in [
            ("POST", "/ai-sessions", {"title": "t"}),
            ("POST", "/script-builder/sessions", {}),
            ("POST", f"/ai-sessions/{session['id']}/resolve", {}),
        ]:
            error = await viewer.call(method, path, 403, json=body)
            assert error["error"]["status"] == "PERMISSION_DENIED"
    finally:
        await viewer.close()


@pytest.mark.parametrize(
    "path",
    [
        "/ai-sessions/not-a-uuid",
        "/ai-sessions/123/suggested-fixes",
        f"/ai-sessions/{uuid.uuid4()}/suggested-fixes/zzz",
        "/script-builder/sessions/%20",
        "/script-templates/1'%20OR%20'1'='1",
    ],
)
async def test_bad_uuid_in_path_is_400(user, path) -> None:
    error = await user.call("GET", path, 400)
    assert error["error"]["status"] == "INVALID_ARGUMENT"


async def test_health_and_readiness(gateway_url) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text


# ------------------------------------------ issue 10: fixes drafted, drafts kept


async def test_patch_draft_leaves_absent_fields_alone(user) -> None:
    """Issue 10, point 3, as the issue tried it: switching modes keeps the buffer."""
    session = await user.call("POST", "/script-builder/sessions", 201, json={"title": "t"})
    path = f"/script-builder/sessions/{session['id']}/draft"
    saved = await user.call("PATCH", path, 200, json={"editor_buffer": "Get-Service Spooler"})
    assert saved["editor_buffer"] == "Get-Service Spooler" and saved["mode"] == "ai"
    switched = await user.call("PATCH", path, 200, json={"mode": "editor"})
    assert switched["editor_buffer"] == "Get-Service Spooler" and switched["mode"] == "editor"
    back = await user.call("PATCH", path, 200, json={"mode": "ai"})
    assert back["editor_buffer"] == "Get-Service Spooler" and back["mode"] == "ai"
    unchanged = await user.call("PATCH", path, 200, json={})
    assert unchanged == back  # nothing named, nothing written (updated_at too)
    only_mask = await user.call(
        "PATCH",
        path,
        200,
        json={"editor_buffer": "ignored", "mode": "editor", "update_mask": "mode"},
    )
    assert only_mask["editor_buffer"] == "Get-Service Spooler" and only_mask["mode"] == "editor"
    cleared = await user.call("PATCH", path, 200, json={"editor_buffer": None})
    assert cleared["editor_buffer"] == "" and cleared["mode"] == "editor"
    refused = await user.call("PATCH", path, 400, json={"mode": None})
    assert refused["error"]["details"][0]["reason"] == "INVALID_ARGUMENT"
    unknown = await user.call("PATCH", path, 400, json={"mode": "ai", "update_mask": "title"})
    assert unknown["error"]["details"][0]["reason"] == "INVALID_UPDATE_MASK"


async def test_two_fixes_drafted_in_one_inline_session(user) -> None:
    """Issue 10, point 2, as the issue tried it, over REST."""
    sid = (await user.session("Printing and name lookups fail"))["id"]
    spooler = await user.fix(sid, title="Restart the print spooler", script_language="powershell")
    dns = await user.fix(sid, title="Flush DNS cache", script_language="bash")
    create = {"origin": "pilot_inline", "ai_session_id": sid}
    tab = await user.call(
        "POST", "/script-builder/sessions", 201, json={**create, "fix_id": spooler["id"]}
    )
    assert tab["fix_id"] == spooler["id"] and tab["language"] == "powershell"
    messages = f"/script-builder/sessions/{tab['id']}/messages"
    first = await user.call(
        "POST", messages, 201, json={"content": "draft it", "fix_id": spooler["id"]}
    )
    drafted = first["assistant_message"]
    assert drafted["language"] == "powershell" and "Spooler" in drafted["script"]
    assert drafted["fix_id"] == spooler["id"]

    moved = await user.call(
        "POST", "/script-builder/sessions", 200, json={**create, "fix_id": dns["id"]}
    )
    assert moved["id"] == tab["id"] and moved["fix_id"] == dns["id"]
    assert moved["language"] == "bash"
    second = await user.call("POST", messages, 201, json={"content": "draft it"})
    drafted = second["assistant_message"]
    assert drafted["language"] == "bash" and "resolvectl flush-caches" in drafted["script"]
    assert drafted["fix_id"] == dns["id"]

    other = (await user.session("Another ticket"))["id"]
    foreign = await user.fix(other, title="Reboot")
    missing = await user.call(
        "POST", "/script-builder/sessions", 404, json={**create, "fix_id": foreign["id"]}
    )
    assert missing["error"]["details"][0]["reason"] == "FIX_NOT_FOUND"
