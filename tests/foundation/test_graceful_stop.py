"""SIGTERM: health flips to NOT_SERVING, and an in-flight call still finishes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from flowpilot.runtime.settings import Settings
from tests.conftest import TEST_JWT_SECRET

from .test_auth import claims, hs256

pytestmark = pytest.mark.integration  # a server in a subprocess


async def test_sigterm_drains_in_flight_calls(settings: Settings) -> None:
    env = {
        **os.environ,
        "FLOWPILOT_JWT_SECRET": TEST_JWT_SECRET,
        "FLOWPILOT_SHUTDOWN_GRACE_SECONDS": "5",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.foundation.echo_server",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        port = int((await asyncio.wait_for(process.stdout.readline(), 20)).decode())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            watch = health.Watch(health_pb2.HealthCheckRequest(service="test.Echo"))
            first = await watch.read()
            assert first.status == health_pb2.HealthCheckResponse.SERVING

            metadata = (("authorization", f"Bearer {hs256(claims())}"),)
            slow = asyncio.ensure_future(
                channel.unary_unary("/test.Echo/Slow")(b"1.5", metadata=metadata, timeout=10)
            )
            await asyncio.sleep(0.3)  # the call is in flight
            process.send_signal(signal.SIGTERM)

            update = await asyncio.wait_for(watch.read(), 5)
            assert update.status == health_pb2.HealthCheckResponse.NOT_SERVING
            assert await slow == b"finished"
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
