"""A user is (`account_id`, `sub`): the same `sub` in another account is
somebody else, on every script-builder route, through the gateway (issue 9,
point 2: a validly signed token with the same `sub` in another account read,
drafted in, posted to, saved as a template, deleted another account's session
and shared its cap).

Each refusal is 404 (absent or out of reach are not told apart) and writes
nothing: the owner sees their session exactly as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

SUB = "same-sub"
SESSIONS = "/script-builder/sessions"


class Caller:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=url + "/api/v1", headers={"authorization": f"Bearer {token}"}, timeout=30
        )

    async def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    async def refused(self, method: str, path: str, **kwargs: Any) -> None:
        body = await self.call(method, path, 404, **kwargs)
        assert body["error"]["status"] == "NOT_FOUND"


@pytest.fixture
async def owner(gateway_url: str, make_token: Any) -> Any:
    caller = Caller(gateway_url, make_token(user_id=SUB, account_id="account-a"))
    yield caller
    await caller.http.aclose()


@pytest.fixture
async def stranger(gateway_url: str, make_token: Any) -> Any:
    """The same `sub`, validly signed, in another account."""
    caller = Caller(gateway_url, make_token(user_id=SUB, account_id="account-b"))
    yield caller
    await caller.http.aclose()


async def owned_session(owner: Caller) -> tuple[dict[str, Any], str]:
    session = await owner.call("POST", SESSIONS, 201, json={"title": "mine", "language": "bash"})
    path = f"{SESSIONS}/{session['id']}"
    await owner.call("PATCH", f"{path}/draft", 200, json={"editor_buffer": "echo a", "mode": "ai"})
    await owner.call("POST", f"{path}/messages", 201, json={"content": "restart nginx"})
    return await owner.call("GET", path, 200), path


async def snapshot(owner: Caller, path: str) -> tuple[Any, Any, Any]:
    return (
        await owner.call("GET", path, 200),
        await owner.call("GET", f"{path}/messages", 200),
        await owner.call("GET", "/script-templates", 200),
    )


async def test_read_list_and_messages_of_another_account_are_not_found(
    owner: Caller, stranger: Caller
) -> None:
    _, path = await owned_session(owner)
    await stranger.refused("GET", path)
    await stranger.refused("GET", f"{path}/messages")
    assert (await stranger.call("GET", SESSIONS, 200))["sessions"] == []
    inline = await stranger.call("GET", SESSIONS, 200, params={"include_inline": "true"})
    assert inline["sessions"] == []


async def test_writes_to_another_accounts_session_change_nothing(
    owner: Caller, stranger: Caller
) -> None:
    session, path = await owned_session(owner)
    before = await snapshot(owner, path)
    await stranger.refused(
        "PATCH", f"{path}/draft", json={"editor_buffer": "rm -rf /", "mode": "editor"}
    )
    await stranger.refused("POST", f"{path}/messages", json={"content": "and now mine"})
    await stranger.refused("POST", f"{path}/template", json={"name": "stolen"})
    await stranger.refused("DELETE", path)
    assert await snapshot(owner, path) == before
    # Nothing reached the stranger's own library either.
    assert (await stranger.call("GET", "/script-templates", 200))["templates"] == []
    assert session["account_id"] == "account-a"


async def test_the_owner_still_can(owner: Caller, stranger: Caller) -> None:
    """The refusals above are about the account, not the routes."""
    _, path = await owned_session(owner)
    template = await owner.call("POST", f"{path}/template", 201, json={"name": "kept"})
    await stranger.refused("GET", f"/script-templates/{template['id']}")
    await stranger.refused("POST", f"/script-templates/{template['id']}/render", json={})
    await stranger.refused("POST", f"/script-templates/{template['id']}/publish", json={})
    await owner.call("DELETE", path, 204)
    await owner.refused("GET", path)


async def test_the_cap_counts_per_account_and_user(owner: Caller, stranger: Caller) -> None:
    for number in range(5):
        await owner.call("POST", SESSIONS, 201, json={"title": f"a{number}"})
    capped = await owner.call("POST", SESSIONS, 409, json={"title": "a6"})
    assert capped["error"]["details"][0]["reason"] == "SCRIPT_BUILDER_SESSION_CAP"
    # The same sub elsewhere has a cap of its own, untouched by the owner's.
    for number in range(5):
        await stranger.call("POST", SESSIONS, 201, json={"title": f"b{number}"})
    await stranger.call("POST", SESSIONS, 409, json={"title": "b6"})


async def test_the_cap_holds_per_account_under_concurrent_creates(
    owner: Caller, stranger: Caller
) -> None:
    """Both accounts at once, 12 creates each: the lock and the count are per
    (account, user), so each ends with exactly 5, neither waits on the other's."""

    async def create(caller: Caller, number: int) -> int:
        response = await caller.http.post(SESSIONS, json={"title": f"race {number}"})
        return response.status_code

    codes = await asyncio.gather(
        *(create(caller, n) for n in range(12) for caller in (owner, stranger))
    )
    assert codes.count(201) == 10 and codes.count(409) == 14
    for caller in (owner, stranger):
        assert len((await caller.call("GET", SESSIONS, 200))["sessions"]) == 5


async def test_inline_sessions_are_per_account(owner: Caller, stranger: Caller) -> None:
    ai_session = await owner.call("POST", "/ai-sessions", 201, json={"title": "ticket"})
    inline = {"origin": "pilot_inline", "ai_session_id": ai_session["id"]}
    created = await owner.call("POST", SESSIONS, 201, json=inline)
    again = await owner.call("POST", SESSIONS, 200, json=inline)
    assert again["id"] == created["id"]
    # The stranger may not use the owner's AI session at all.
    await stranger.refused("POST", SESSIONS, json=inline)
    await stranger.refused("GET", f"{SESSIONS}/{created['id']}")
    # Their own AI session gets their own inline session.
    theirs = await stranger.call("POST", "/ai-sessions", 201, json={"title": "ticket"})
    own = await stranger.call(
        "POST", SESSIONS, 201, json={"origin": "pilot_inline", "ai_session_id": theirs["id"]}
    )
    assert own["id"] != created["id"] and own["account_id"] == "account-b"
    listed = await owner.call("GET", SESSIONS, 200, params={"include_inline": "true"})
    assert [s["id"] for s in listed["sessions"]] == [created["id"]]


async def test_a_page_token_of_one_account_does_not_page_another(
    owner: Caller, stranger: Caller
) -> None:
    for number in range(3):
        await owner.call("POST", SESSIONS, 201, json={"title": f"p{number}"})
    page = await owner.call("GET", SESSIONS, 200, params={"page_size": 1})
    assert page["next_page_token"]
    body = await stranger.call(
        "GET", SESSIONS, 400, params={"page_size": 1, "page_token": page["next_page_token"]}
    )
    assert body["error"]["details"][0]["reason"] == "INVALID_PAGE_TOKEN"
