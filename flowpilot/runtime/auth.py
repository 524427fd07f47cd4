"""JWT identity (CONTRACT §2), shared by the gateway and both services.

The accepted algorithms come from configuration, never from the token: HS256
with `FLOWPILOT_JWT_SECRET`, or RS256/ES256 with `FLOWPILOT_JWT_PUBLIC_KEY`.
`exp`, `iat`, `iss`, `aud`, `sub`, `account_id` and `role` are required.
Identity claims are bounded here, once for every process: `sub` and
`account_id` are 1..255 characters without control characters, and the
NumericDate claims (`exp`, `iat`, `nbf`) are JSON numbers (RFC 7519 §2).
"""

from __future__ import annotations

import math
import time
import unicodedata
import uuid
from dataclasses import dataclass
from enum import StrEnum

import jwt

from flowpilot.runtime.errors import PermissionDenied, Unauthenticated
from flowpilot.runtime.settings import Settings

REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "account_id", "role")
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
SYMMETRIC_ALGORITHMS = ("HS256",)
# Leeway for clock skew between processes (README, Identity).
LEEWAY_SECONDS = 30
# Identity claims end up in rows, indexes, logs and metadata: bounded here.
IDENTITY_CLAIMS = ("sub", "account_id")
MAX_IDENTITY_CLAIM_CHARS = 255
NUMERIC_DATE_CLAIMS = ("exp", "iat", "nbf")
# Control characters (C0, DEL, C1), lone surrogates, line/paragraph separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


class Role(StrEnum):
    ENGINEER = "engineer"
    ADMIN = "admin"
    VIEWER = "viewer"
    # Service-to-service identity for internal RPCs only; refused on every
    # user-facing call.
    SERVICE = "service"


USER_ROLES = frozenset({Role.ENGINEER, Role.ADMIN, Role.VIEWER})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the verified token says."""

    user_id: str
    account_id: str
    role: Role
    # The raw bearer token, forwarded on calls to other services.
    token: str
    # The token's `exp` (seconds since the epoch): a long call such as a watch
    # ends when its token does.
    expires_at: float = math.inf

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def can_write(self) -> bool:
        """`require_engineer_or_admin` holds: an engineer or an admin."""
        return self.role in (Role.ENGINEER, Role.ADMIN)

    def require_writer(self) -> None:
        """`require_engineer_or_admin`: viewers may read, never change."""
        if not self.can_write:
            raise PermissionDenied(
                "ROLE_CANNOT_WRITE",
                f"role '{self.role}' may read but not change anything",
                metadata={"role": str(self.role)},
            )


class TokenVerifier:
    """Verifies bearer tokens against the configured key and claims.

    A client sends the same token on every call, and signature verification is
    the costliest step of a small call, so a verified token is remembered until
    its own `exp` (bounded in number). A hit is exactly as valid as verifying
    again: same keys, same claims, the token's own expiry.
    """

    def __init__(self, settings: Settings, *, cache_size: int = 4096) -> None:
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._cache_size = cache_size
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        # The current key first; the previous one only while a rotation is under way.
        self._keys: list[str]
        if settings.jwt_public_key:
            self._keys = [settings.jwt_public_key]
            if settings.jwt_previous_public_key:
                self._keys.append(settings.jwt_previous_public_key)
            self._algorithms = list(ASYMMETRIC_ALGORITHMS)
        else:
            secret = settings.resolved_jwt_secret()
            if not secret:
                raise RuntimeError("no JWT key configured (FLOWPILOT_JWT_SECRET)")
            self._keys = [secret]
            if settings.jwt_previous_secret:
                self._keys.append(settings.jwt_previous_secret)
            self._algorithms = list(SYMMETRIC_ALGORITHMS)

    def _decode(self, token: str) -> dict[str, object]:
        for index, key in enumerate(self._keys):
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=self._algorithms,
                    audience=self._audience,
                    issuer=self._issuer,
                    # The NumericDates and `sub` are checked below, with a
                    # reason naming the claim (PyJWT takes "1700000000" or
                    # `true` for a number).
                    options={
                        "require": list(REQUIRED_CLAIMS),
                        "verify_exp": False,
                        "verify_iat": False,
                        "verify_nbf": False,
                        "verify_sub": False,
                    },
                )
            except jwt.InvalidSignatureError:
                if index == len(self._keys) - 1:
                    raise
        raise AssertionError("unreachable: at least one key is configured")

    def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None:
            if time.time() < cached[1]:
                return cached[0]
            del self._cache[token]
        principal, expires_at = self._verify(token)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()  # crude but bounded; hot tokens come back at once
        self._cache[token] = (principal, expires_at)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        if not token:
            raise Unauthenticated("missing bearer token", reason="TOKEN_MISSING")
        try:
            claims = self._decode(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}", reason="TOKEN_INVALID") from exc
        _check_times(claims, time.time())
        try:
            role = Role(claims["role"])
        except ValueError as exc:
            shown = repr(claims["role"])
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise Unauthenticated(f"unknown role {shown}", reason="TOKEN_INVALID") from exc
        for name in IDENTITY_CLAIMS:
            if (problem := identity_claim_problem(claims[name])) is not None:
                raise Unauthenticated(
                    f"{name} {problem}", reason="TOKEN_CLAIM_INVALID", metadata={"claim": name}
                )
        sub, account = str(claims["sub"]), str(claims["account_id"])
        expires_at = float(claims["exp"])  # type: ignore[arg-type]  # checked above
        principal = Principal(
            user_id=sub, account_id=account, role=role, token=token, expires_at=expires_at
        )
        return principal, expires_at


def _check_times(claims: dict[str, object], now: float) -> None:
    """`exp`, `iat`, `nbf`: JSON numbers (RFC 7519 NumericDate), then the
    clock, with `LEEWAY_SECONDS` of skew either way."""
    times: dict[str, float] = {}
    for name in NUMERIC_DATE_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        # bool is an int in Python, but `true` is not a JSON number.
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise Unauthenticated(
                f"{name} must be a NumericDate: a JSON number of seconds (RFC 7519)",
                reason="TOKEN_CLAIM_INVALID",
                metadata={"claim": name},
            )
        times[name] = float(value)
    if times["exp"] <= now - LEEWAY_SECONDS:
        raise Unauthenticated("token has expired", reason="TOKEN_EXPIRED")
    for name in ("iat", "nbf"):
        if name in times and times[name] > now + LEEWAY_SECONDS:
            raise Unauthenticated(
                f"token is not valid yet ({name} is in the future)", reason="TOKEN_INVALID"
            )


def identity_claim_problem(value: object) -> str | None:
    """Why `value` cannot be a `sub`/`account_id`, or None when it can."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if len(value) > MAX_IDENTITY_CLAIM_CHARS:
        return f"must be at most {MAX_IDENTITY_CLAIM_CHARS} characters"
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value):
        return "must not contain control characters"
    return None


def bearer_token(header_value: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` value ('' if absent)."""
    if not header_value:
        return ""
    scheme, _, token = header_value.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return token.strip()


def mint_token(
    settings: Settings,
    *,
    user_id: str,
    account_id: str,
    role: Role | str,
    ttl_seconds: int = 3600,
) -> str:
    """Signs a token with the configured HS256 secret (development, tests, internal calls)."""
    secret = settings.resolved_jwt_secret()
    if not secret:
        raise RuntimeError("minting needs FLOWPILOT_JWT_SECRET (HS256)")
    now = int(time.time())
    claims = {
        "sub": user_id,
        "account_id": account_id,
        "role": str(role),
        "iat": now,
        "exp": now + ttl_seconds,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def service_token(settings: Settings, service_name: str, ttl_seconds: int = 300) -> str:
    """The token a service presents on internal RPCs."""
    if settings.service_token:
        return settings.service_token
    return mint_token(
        settings,
        user_id=f"service:{service_name}",
        account_id="*",
        role=Role.SERVICE,
        ttl_seconds=ttl_seconds,
    )
