"""Identity claims are bounded at verification (issue 9, point 3): a validly
signed token whose `sub`/`account_id` is too long, empty or holds control
characters, or whose NumericDate is a string, is 401 with a reason naming the
claim, through the gateway and directly over gRPC, and writes nothing."""

from __future__ import annotations

import time
from typing import Any

import grpc
import httpx
import jwt
import pytest

from flowpilot.runtime.grpc_errors import error_info, status_from_metadata
from flowpilot.runtime.server import GrpcServer
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.scriptbuilder.helpers import sb_stub, sql
from tests.support.grpc_client import auth_metadata
from tests.support.tokens import TEST_JWT_SECRET

SESSIONS = "/api/v1/script-builder/sessions"


def signed(**overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": "user-claims",
        "account_id": "acct-claims",
        "role": "engineer",
        "iat": now,
        "exp": now + 600,
        "iss": "flowpilot",
        "aud": "flowpilot-api",
        **overrides,
    }
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")


BAD: dict[str, tuple[str, dict[str, Any]]] = {
    "long sub": ("sub", {"sub": "u" * 256}),
    "long account_id": ("account_id", {"account_id": "a" * 4096}),
    "empty sub": ("sub", {"sub": ""}),
    "control character": ("account_id", {"account_id": "acct\r\nx-admin: 1"}),
    "lone surrogate": ("sub", {"sub": "\ud800"}),
    "exp as a string": ("exp", {"exp": str(int(time.time()) + 600)}),
    "iat as a string": ("iat", {"iat": str(int(time.time()))}),
}


async def _session_rows(url: str) -> int:
    return (await sql(url, "SELECT count(*) FROM script_builder_sessions"))[0][0]


@pytest.mark.parametrize("case", sorted(BAD))
async def test_gateway_refuses_out_of_bounds_claims(
    gateway_url: str, scriptbuilder_db_url: str, case: str
) -> None:
    claim, overrides = BAD[case]
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        response = await client.post(
            SESSIONS,
            json={"title": "x"},
            headers={"authorization": f"Bearer {signed(**overrides)}"},
        )
    assert response.status_code == 401, response.text
    info = response.json()["error"]["details"][0]
    assert info["reason"] == "TOKEN_CLAIM_INVALID"
    assert info["metadata"] == {"claim": claim}
    assert await _session_rows(scriptbuilder_db_url) == 0


@pytest.mark.parametrize("case", sorted(BAD))
async def test_service_refuses_out_of_bounds_claims(
    scriptbuilder_server: GrpcServer, scriptbuilder_db_url: str, case: str
) -> None:
    """The services verify every call themselves: no gateway in front."""
    claim, overrides = BAD[case]
    async with grpc.aio.insecure_channel(scriptbuilder_server.target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await sb_stub(channel).CreateSession(
                sb.CreateSessionRequest(title="x"),
                metadata=auth_metadata(signed(**overrides)),
                timeout=10,
            )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    info = error_info(status_from_metadata(err.value.trailing_metadata()))
    assert info is not None
    assert (info.reason, dict(info.metadata)) == ("TOKEN_CLAIM_INVALID", {"claim": claim})
    assert await _session_rows(scriptbuilder_db_url) == 0


async def test_claims_at_the_bound_are_served(gateway_url: str, scriptbuilder_db_url: str) -> None:
    """255 characters (the columns' width) work end to end: the bound is not
    off by one, and what it admits the databases store."""
    token = signed(sub="s" * 255, account_id="a" * 255)
    async with httpx.AsyncClient(
        base_url=gateway_url, timeout=30, headers={"authorization": f"Bearer {token}"}
    ) as client:
        ai_session = await client.post("/api/v1/ai-sessions", json={"title": "VPN"})
        assert ai_session.status_code == 201, ai_session.text
        inline = await client.post(
            SESSIONS, json={"origin": "pilot_inline", "ai_session_id": ai_session.json()["id"]}
        )
        assert inline.status_code == 201, inline.text
        standalone = await client.post(SESSIONS, json={"title": "x"})
        assert standalone.status_code == 201, standalone.text
    assert await _session_rows(scriptbuilder_db_url) == 2
