"""Issue 10's REST surface end to end, after merging its two halves with the
hardening: the gateway over HTTP in front of both real services and a real
PostgreSQL.

- the AI-session watch (server-sent events through the gateway) delivers a
  change another request made;
- a PATCH with a stale or weak `If-Match` is 412 `ETAG_MISMATCH` and writes
  nothing;
- a PATCH of a fix script leaves the fields outside its update mask alone;
- the same `sub` in another account cannot read or draft in a fix-targeted
  inline session (404), and nothing is written for it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.sse import Event, read_events

pytestmark = pytest.mark.e2e

API = "/api/v1"
PATIENCE = 15.0  # against hangs only


def api(url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url + API, headers={"authorization": f"Bearer {token}"}, timeout=30
    )


async def call(client: httpx.AsyncClient, method: str, path: str, expect: int, **kw: Any) -> Any:
    response = await client.request(method, path, **kw)
    assert response.status_code == expect, f"{method} {path}: {response.text}"
    return response.json() if response.content else None


def reason(body: dict[str, Any]) -> str:
    return next(d["reason"] for d in body["error"]["details"] if "reason" in d)


async def new_fix(client: httpx.AsyncClient, **fields: Any) -> tuple[dict[str, Any], str]:
    session = await call(client, "POST", "/ai-sessions", 201, json={"title": "VPN drops"})
    body = {"title": "Restart the agent", "script_language": "bash", **fields}
    fix = await call(
        client, "POST", f"/ai-sessions/{session['id']}/suggested-fixes", 201, json=body
    )
    return fix, f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}"


@pytest.fixture
def engineer(gateway_url: str, make_token: Any) -> str:
    return make_token(user_id=f"eng-{uuid.uuid4().hex[:6]}")


# ------------------------------------------------------------- (a) the watch


async def test_the_watch_delivers_a_change_another_request_made(
    gateway_url: str, engineer: str
) -> None:
    async with api(gateway_url, engineer) as watcher, api(gateway_url, engineer) as writer:
        session = await call(writer, "POST", "/ai-sessions", 201, json={"title": "Printer"})
        path = f"/ai-sessions/{session['id']}/events:watch"
        async with watcher.stream("GET", path, headers={"accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            events: AsyncIterator[Event] = read_events(stream.aiter_lines())
            snapshot = await asyncio.wait_for(anext(events), PATIENCE)
            assert snapshot.event == "snapshot"
            assert snapshot.json["session"]["id"] == session["id"]

            # Another request (another connection) proposes a fix, then edits it.
            fix = await call(
                writer,
                "POST",
                f"/ai-sessions/{session['id']}/suggested-fixes",
                201,
                json={"title": "Clear the queue", "script_language": "bash"},
            )
            created = await asyncio.wait_for(anext(events), PATIENCE)
            assert created.event == "fix_created"
            assert created.json["fix"]["id"] == fix["id"]
            assert created.id == str(created.json["event_id"])

            fix_path = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}"
            edited = await call(
                writer, "PATCH", f"{fix_path}/script", 200, json={"ai_drafted_script": "lpstat"}
            )
            updated = await asyncio.wait_for(anext(events), PATIENCE)
            assert updated.event == "fix_updated"
            assert updated.json["fix"]["ai_drafted_script"] == "lpstat"
            assert updated.json["fix"]["etag"] == edited["etag"]
            assert int(updated.id or 0) > int(created.id or 0)


# ------------------------------------------------------ (b) If-Match and 412


async def test_a_stale_or_weak_if_match_is_412_and_writes_nothing(
    gateway_url: str, engineer: str
) -> None:
    async with api(gateway_url, engineer) as client:
        fix, path = await new_fix(client, ai_drafted_script="systemctl restart vpn")
        first = await client.get(path)
        assert first.headers["etag"] == fix["etag"]
        stale = fix["etag"]
        moved = await call(
            client,
            "PATCH",
            f"{path}/script",
            200,
            json={"ai_drafted_script": "systemctl restart vpnd"},
            headers={"if-match": stale},
        )
        assert moved["etag"] != stale
        events_before = await call(client, "GET", f"{path}/events", 200)
        current = await call(client, "GET", path, 200)

        for sent in (stale, "W/" + moved["etag"]):
            refused = await client.patch(
                f"{path}/script",
                json={"ai_drafted_script": "rm -rf /tmp/vpn"},
                headers={"if-match": sent},
            )
            assert refused.status_code == 412, (sent, refused.text)
            body = refused.json()
            assert body["error"]["status"] == "ABORTED"
            assert reason(body) == "ETAG_MISMATCH"

        # Nothing was written: the same fix, version and audit trail.
        assert await call(client, "GET", path, 200) == current
        assert await call(client, "GET", f"{path}/events", 200) == events_before
        # Not an entity tag at all is bad input instead.
        malformed = await client.patch(
            f"{path}/script", json={"ai_drafted_script": "x"}, headers={"if-match": "7"}
        )
        assert malformed.status_code == 400
        assert reason(malformed.json()) == "INVALID_ETAG"


# --------------------------------------------------------- (c) update masks


async def test_a_masked_patch_leaves_the_other_fields_alone(
    gateway_url: str, engineer: str
) -> None:
    async with api(gateway_url, engineer) as client:
        _, path = await new_fix(
            client,
            ai_drafted_script="ping -c {{count}} {{host}}",
            ai_drafted_parameters={"host": "gw01", "count": 3},
        )
        # The body's keys are the mask: the parameters are not in it.
        changed = await call(
            client,
            "PATCH",
            f"{path}/script",
            200,
            json={"ai_drafted_script": "ping -c {{count}} -W 2 {{host}}"},
        )
        assert changed["ai_drafted_script"] == "ping -c {{count}} -W 2 {{host}}"
        assert changed["ai_drafted_parameters"] == {"host": "gw01", "count": 3}

        # An explicit mask wins over the body's keys: only the parameters land.
        masked = await call(
            client,
            "PATCH",
            f"{path}/script",
            200,
            json={
                "ai_drafted_script": "not this",
                "ai_drafted_parameters": {"host": "gw02", "count": 1},
                "update_mask": "ai_drafted_parameters",
            },
        )
        assert masked["ai_drafted_script"] == "ping -c {{count}} -W 2 {{host}}"
        assert masked["ai_drafted_parameters"] == {"host": "gw02", "count": 1}
        assert await call(client, "GET", path, 200) == masked


# ------------------------------------- (d) the same sub in another account


async def test_the_same_sub_in_another_account_cannot_use_a_fix_targeted_inline_session(
    gateway_url: str, make_token: Any
) -> None:
    sub = f"eng-{uuid.uuid4().hex[:6]}"
    owner_token = make_token(user_id=sub, account_id="acct-1")
    stranger_token = make_token(user_id=sub, account_id="acct-2")
    async with api(gateway_url, owner_token) as owner, api(gateway_url, stranger_token) as other:
        fix, _ = await new_fix(owner)  # no script yet: it needs drafting
        inline_body = {
            "origin": "pilot_inline",
            "ai_session_id": fix["ai_session_id"],
            "fix_id": fix["id"],
        }
        inline = (await owner.post("/script-builder/sessions", json=inline_body)).json()
        assert inline["fix_id"] == fix["id"], inline
        session_path = f"/script-builder/sessions/{inline['id']}"
        drafted = await call(
            owner,
            "POST",
            f"{session_path}/messages",
            201,
            json={"content": "restart the agent", "fix_id": fix["id"]},
        )
        assert drafted
        history = await call(owner, "GET", f"{session_path}/messages", 200)

        message = {"content": "show me", "fix_id": fix["id"]}
        refusals = [
            await other.get(session_path),
            await other.get(f"{session_path}/messages"),
            await other.post(f"{session_path}/messages", json=message),
            await other.post(f"{session_path}/messages:stream", json=message),
            await other.patch(f"{session_path}/draft", json={"editor_buffer": "x"}),
            # Its own get-or-create for that AI session and fix: not its AI session.
            await other.post("/script-builder/sessions", json=inline_body),
        ]
        for refused in refusals:
            assert refused.status_code == 404, (refused.request.url, refused.text)
        listed = await call(other, "GET", "/script-builder/sessions?include_inline=true", 200)
        assert inline["id"] not in {s["id"] for s in listed.get("sessions", [])}

        # Nothing was written for the stranger.
        assert await call(owner, "GET", f"{session_path}/messages", 200) == history
        assert (await call(owner, "GET", session_path, 200))["editor_buffer"] == ""
