"""JWT matrix (CONTRACT §2), checked through a real gRPC server on port 0."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from flowpilot.runtime.auth import Principal, Role, TokenVerifier
from flowpilot.runtime.errors import Unauthenticated
from flowpilot.runtime.grpc_errors import error_info, status_from_metadata
from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings
from tests.support.tokens import claims, hs256

from .echo_server import echo_spec


def alg_none(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, None, algorithm="none")


def hs256_by_hand(payload: dict[str, Any], secret: bytes) -> str:
    """HS256 without PyJWT's guard, to forge a key-confusion token."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


REJECTED = {
    "expired": lambda: hs256(claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
    "wrong signature": lambda: hs256(claims(), secret="another-secret-" + "y" * 40),
    "alg none": lambda: alg_none(claims()),
    "wrong iss": lambda: hs256(claims(iss="someone-else")),
    "wrong aud": lambda: hs256(claims(aud="another-api")),
    "missing role": lambda: hs256(claims(role=None)),
    "missing account_id": lambda: hs256(claims(account_id=None)),
    "missing exp": lambda: hs256(claims(exp=None)),
    "missing sub": lambda: hs256(claims(sub=None)),
    "empty account_id": lambda: hs256(claims(account_id="")),
    "unknown role": lambda: hs256(claims(role="superuser")),
    "malformed": lambda: "not-a-jwt",
    "empty": lambda: "",
}
# Signed with the right key, but a claim is out of bounds (issue 9, point 3).
NOW = int(time.time())
BAD_CLAIMS: dict[str, tuple[str, dict[str, Any]]] = {
    "sub of 256 characters": ("sub", {"sub": "u" * 256}),
    "account_id of 256 characters": ("account_id", {"account_id": "a" * 256}),
    "empty sub": ("sub", {"sub": ""}),
    "sub with a newline": ("sub", {"sub": "user-1\nadmin"}),
    "sub with a NUL": ("sub", {"sub": "user\x00"}),
    "sub with DEL": ("sub", {"sub": "user\x7f"}),
    "account_id with a C1 control": ("account_id", {"account_id": "acct\x85"}),
    "sub with a line separator": ("sub", {"sub": "user\u2028"}),
    "sub with a lone surrogate": ("sub", {"sub": "user\ud800"}),
    "numeric sub": ("sub", {"sub": 12345}),
    "exp as a numeric string": ("exp", {"exp": str(NOW + 600)}),
    "iat as a numeric string": ("iat", {"iat": str(NOW)}),
    "nbf as a numeric string": ("nbf", {"nbf": str(NOW - 10)}),
    "exp as true": ("exp", {"exp": True}),
}
for _case, (_claim, _overrides) in BAD_CLAIMS.items():
    REJECTED[_case] = lambda overrides=_overrides: hs256(claims(**overrides))


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_verifier_rejects(settings: Settings, case: str) -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(settings).verify(REJECTED[case]())


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": "u" * 255, "account_id": "a" * 255},
        {"sub": "José Müller 🛠", "account_id": "エンジニア"},
        {"exp": NOW + 600.5, "iat": NOW - 0.25, "nbf": NOW - 1},
    ],
    ids=["255 characters", "non-ASCII", "fractional NumericDates"],
)
def test_verifier_accepts_claims_within_bounds(
    settings: Settings, overrides: dict[str, Any]
) -> None:
    principal = TokenVerifier(settings).verify(hs256(claims(**overrides)))
    assert principal.user_id == claims(**overrides)["sub"]


def test_verifier_leeway_is_30_seconds(settings: Settings) -> None:
    """The documented clock-skew leeway (README, Identity), both ways."""
    verifier = TokenVerifier(settings)
    now = int(time.time())
    verifier.verify(hs256(claims(exp=now - 20)))
    verifier.verify(hs256(claims(iat=now + 20)))
    with pytest.raises(Unauthenticated):
        verifier.verify(hs256(claims(exp=now - 40)))
    with pytest.raises(Unauthenticated):
        verifier.verify(hs256(claims(iat=now + 40)))


@pytest.mark.parametrize("role", ["engineer", "admin", "viewer"])
def test_verifier_accepts_valid(settings: Settings, role: str) -> None:
    principal = TokenVerifier(settings).verify(hs256(claims(role=role)))
    assert principal.user_id == "user-1"
    assert principal.account_id == "acct-1"
    assert principal.role is Role(role)


def test_hs256_token_refused_when_public_key_configured(settings: Settings) -> None:
    """The algorithm list is pinned by configuration, never read from the token."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    asymmetric = settings.model_copy(update={"jwt_public_key": public_pem.decode()})
    verifier = TokenVerifier(asymmetric)
    assert verifier.verify(jwt.encode(claims(), key, algorithm="RS256")).user_id == "user-1"
    # An HS256 token signed with the public key as secret (key confusion) is refused.
    with pytest.raises(Unauthenticated):
        verifier.verify(hs256_by_hand(claims(), public_pem))


def test_previous_secret_verifies_during_rotation(settings: Settings) -> None:
    old_secret = "old-secret-" + "z" * 40
    rotating = settings.model_copy(update={"jwt_previous_secret": old_secret})
    assert TokenVerifier(rotating).verify(hs256(claims(), secret=old_secret)).user_id == "user-1"
    assert TokenVerifier(rotating).verify(hs256(claims())).user_id == "user-1"
    # Once the rotation is over, the old secret is refused again.
    with pytest.raises(Unauthenticated):
        TokenVerifier(settings).verify(hs256(claims(), secret=old_secret))


def test_es256_accepted_with_public_key(settings: Settings) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = TokenVerifier(settings.model_copy(update={"jwt_public_key": public_pem.decode()}))
    assert verifier.verify(jwt.encode(claims(), key, algorithm="ES256")).role is Role.ENGINEER


def test_viewer_cannot_write() -> None:
    viewer = Principal("u", "a", Role.VIEWER, "t")
    with pytest.raises(Exception, match="may read but not change"):
        viewer.require_writer()
    Principal("u", "a", Role.ENGINEER, "t").require_writer()
    Principal("u", "a", Role.ADMIN, "t").require_writer()


@pytest.fixture
async def echo(settings: Settings) -> AsyncIterator[grpc.aio.Channel]:
    server = GrpcServer(echo_spec(), settings, port=0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            yield channel
    finally:
        await server.stop(0)


async def call(channel: grpc.aio.Channel, method: str, token: str | None) -> bytes:
    metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
    return await channel.unary_unary(f"/test.Echo/{method}")(b"", metadata=metadata, timeout=5)


@pytest.mark.parametrize("case", sorted(REJECTED))
@pytest.mark.integration  # a real gRPC server
async def test_interceptor_rejects_every_bad_token(echo: grpc.aio.Channel, case: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(echo, "Whoami", REJECTED[case]())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    info = error_info(status_from_metadata(err.value.trailing_metadata()))
    assert info is not None and info.reason.startswith("TOKEN_")


@pytest.mark.integration  # a real gRPC server
@pytest.mark.parametrize("case", sorted(BAD_CLAIMS))
async def test_interceptor_names_the_bad_claim(echo: grpc.aio.Channel, case: str) -> None:
    claim, overrides = BAD_CLAIMS[case]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(echo, "Whoami", hs256(claims(**overrides)))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    info = error_info(status_from_metadata(err.value.trailing_metadata()))
    assert info is not None
    assert (info.reason, dict(info.metadata)) == ("TOKEN_CLAIM_INVALID", {"claim": claim})
    assert claim in (err.value.details() or "")


@pytest.mark.integration  # a real gRPC server
async def test_interceptor_rejects_missing_header(echo: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(echo, "Whoami", None)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.integration  # a real gRPC server
async def test_interceptor_binds_the_caller(echo: grpc.aio.Channel) -> None:
    answer = json.loads(await call(echo, "Whoami", hs256(claims(sub="u-9", role="admin"))))
    assert answer == {"user": "u-9", "account": "acct-1", "role": "admin"}


@pytest.mark.integration  # a real gRPC server
async def test_service_identity_refused_on_user_methods(echo: grpc.aio.Channel) -> None:
    token = hs256(claims(sub="service:x", role="service", account_id="*"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(echo, "Whoami", token)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.integration  # a real gRPC server
async def test_domain_error_carries_error_info(echo: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(echo, "Fail", hs256(claims()))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    status = status_from_metadata(err.value.trailing_metadata())
    info = error_info(status)
    assert status is not None and status.message == "the fix is done"
    assert info is not None
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "FIX_TERMINAL",
        "echo.test",
        {"fix_id": "f-1"},
    )


def test_verified_tokens_are_remembered_only_until_exp(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowpilot.runtime import auth

    verifier = TokenVerifier(settings)
    calls: list[str] = []
    real_verify = verifier._verify

    def counting_verify(token: str) -> tuple[Principal, float]:
        calls.append(token)
        return real_verify(token)

    monkeypatch.setattr(verifier, "_verify", counting_verify)
    token = hs256(claims(exp=int(time.time()) + 60))
    assert verifier.verify(token).user_id == "user-1"
    assert verifier.verify(token).user_id == "user-1"
    assert len(calls) == 1  # the second use was remembered
    now = time.time()
    monkeypatch.setattr(auth.time, "time", lambda: now + 3600)
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)  # past the remembered exp: verified again, and refused
    assert len(calls) == 2
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verifier.verify(token[:-2] + "xx")  # a bad token is never remembered
    assert len(calls) == 4


@pytest.mark.parametrize(
    ("option", "value"), [("--user", "u" * 256), ("--account", "a\nb"), ("--user", "")]
)
def test_cli_refuses_to_mint_an_unusable_token(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from flowpilot.cli import EXIT_CONFIG, main

    args = {"--user": "u", "--account": "a", option: value}
    argv = ["token", "--role", "engineer", *(x for kv in args.items() for x in kv)]
    assert main(argv) == EXIT_CONFIG
    assert option in capsys.readouterr().err


# --- server-streaming calls go through the same interceptor ---------------------------


async def stream(channel: grpc.aio.Channel, request: str, token: str | None) -> list[bytes]:
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    call = channel.unary_stream("/test.Echo/Stream")(request.encode(), metadata=metadata, timeout=5)
    return [message async for message in call]


async def test_streams_refuse_bad_tokens_before_the_first_message(echo: grpc.aio.Channel) -> None:
    for token in (None, "garbage", hs256(claims(exp=1))):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stream(echo, "3", token)
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert error_info(status_from_metadata(info.value.trailing_metadata())) is not None


async def test_streams_bind_the_caller_for_every_message(echo: grpc.aio.Channel) -> None:
    answers = await stream(echo, "3", hs256(claims(sub="u-7", role="viewer")))
    assert [json.loads(a)["user"] for a in answers] == ["u-7"] * 3


async def test_stream_domain_errors_carry_error_info_also_after_messages(
    echo: grpc.aio.Channel,
) -> None:
    metadata = (("authorization", f"Bearer {hs256(claims())}"),)
    for request, before in (("0!", 0), ("2!", 2)):
        call = echo.unary_stream("/test.Echo/Stream")(
            request.encode(), metadata=metadata, timeout=5
        )
        received = []
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for message in call:
                received.append(message)
        assert len(received) == before
        assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        detail = error_info(status_from_metadata(info.value.trailing_metadata()))
        assert detail is not None and detail.reason == "FIX_TERMINAL"
        assert detail.domain == "echo.test"
