"""The three servers as real processes (`flowpilot serve ...`), for the tests
that kill, restart and race them, and for the recovery measurements.

`Stack` starts and stops each process on fixed ports (a restart reuses its
port, as a Kubernetes pod's replacement keeps its Service), and says when a
process serves: a fresh connection's `grpc.health.v1` check, so that the
prober's own channel backoff never delays the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from flowpilot.runtime.embedded_pg import free_port

SERVICES = ("fixes", "scriptbuilder", "gateway")
HEALTH_NAMES = {
    "fixes": "flowpilot.fixes.v1.FixesService",
    "scriptbuilder": "flowpilot.scriptbuilder.v1.ScriptBuilderService",
}


@dataclass
class Stack:
    fixes_database_url: str
    scriptbuilder_database_url: str
    jwt_secret: str
    extra_env: Mapping[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="flowpilot-stack-")))

    def __post_init__(self) -> None:
        for name in SERVICES:
            self.ports.setdefault(name, free_port())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def target(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWPILOT_")}
        env.update(
            {
                "FLOWPILOT_JWT_SECRET": self.jwt_secret,
                "FLOWPILOT_FIXES_DATABASE_URL": self.fixes_database_url,
                "FLOWPILOT_SCRIPTBUILDER_DATABASE_URL": self.scriptbuilder_database_url,
                "FLOWPILOT_FIXES_GRPC_PORT": str(self.ports["fixes"]),
                "FLOWPILOT_SCRIPTBUILDER_GRPC_PORT": str(self.ports["scriptbuilder"]),
                "FLOWPILOT_HTTP_PORT": str(self.ports["gateway"]),
                "FLOWPILOT_FIXES_TARGET": self.target("fixes"),
                "FLOWPILOT_SCRIPTBUILDER_TARGET": self.target("scriptbuilder"),
                "FLOWPILOT_SHUTDOWN_GRACE_SECONDS": "1",
                "FLOWPILOT_DB_POOL_SIZE": "2",
                "FLOWPILOT_LOG_FORMAT": "text",
                "FLOWPILOT_LOG_LEVEL": "WARNING",
                # No metrics endpoint unless a test asks for one (extra_env):
                # the default ports are fixed, and stacks run side by side.
                "FLOWPILOT_FIXES_METRICS_PORT": "0",
                "FLOWPILOT_SCRIPTBUILDER_METRICS_PORT": "0",
                "FLOWPILOT_GATEWAY_METRICS_PORT": "0",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, name: str) -> subprocess.Popen[bytes]:
        assert name not in self.processes or self.processes[name].poll() is not None
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "flowpilot", "serve", name],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes[name] = process
        return process

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in reversed(SERVICES):
            self.stop(name)

    def logs(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def serving(self, name: str) -> bool:
        """One probe: does `name` answer right now, on a fresh connection?"""
        if name == "gateway":
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    return (await client.get(f"{self.url}/healthz")).status_code == 200
            except httpx.HTTPError:
                return False
        async with grpc.aio.insecure_channel(self.target(name)) as channel:
            try:
                answer = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=HEALTH_NAMES[name]), timeout=1
                )
            except grpc.aio.AioRpcError:
                return False
        return answer.status == health_pb2.HealthCheckResponse.SERVING

    async def wait_serving(self, name: str, within: float = 60) -> float:
        """Polls until `name` serves; returns the monotonic time it first did."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{self.logs(name)}")
            if await self.serving(name):
                return time.monotonic()
            await asyncio.sleep(0.01)
        raise TimeoutError(f"{name} did not serve within {within} s:\n{self.logs(name)}")

    async def wait_ready(self, within: float = 60) -> float:
        """Polls the gateway's aggregate `/readyz` until 200 (what `flowpilot up` waits for)."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return time.monotonic()
                await asyncio.sleep(0.01)
        raise TimeoutError(f"/readyz was not 200 within {within} s")

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in reversed(SERVICES):
            with contextlib.suppress(Exception):
                self.stop(name, signal.SIGKILL)
        # The logs were read into any failure's message while the processes
        # ran; FLOWPILOT_KEEP_TEST_LOGS=1 keeps the directory to read later.
        if not os.environ.get("FLOWPILOT_KEEP_TEST_LOGS"):
            shutil.rmtree(self.log_dir, ignore_errors=True)
