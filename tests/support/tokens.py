"""Token claims and signing for tests that forge or break tokens on purpose."""

from __future__ import annotations

import time
from typing import Any

import jwt

TEST_JWT_SECRET = "test-secret-" + "x" * 40


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for the test settings; an override of None drops that claim."""
    now = int(time.time())
    base = {
        "sub": "user-1",
        "account_id": "acct-1",
        "role": "engineer",
        "iat": now,
        "exp": now + 600,
        "iss": "flowpilot",
        "aud": "flowpilot-api",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(payload: dict[str, Any], secret: str = TEST_JWT_SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")
