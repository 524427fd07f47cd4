"""Prints the figures of issue 9 that tests only bound loosely, against real
processes on this machine:

- slow clients (point 6): N connections sending half a request to
  `flowpilot serve gateway`; when each is closed, what it got, and how long
  a normal request takes meanwhile;
- recovery (point 7): a service SIGKILLed, down for a while, restarted on the
  same port; the time from it serving again to the first success of inline
  creates, of the gateway's script-builder calls and of `/readyz`;
- fresh starts (point 8): the stack started as `flowpilot up` starts it; does
  the first inline get-or-create after `/readyz` is 200 succeed.

    python -m tests.measure_recovery [--slow-clients 500] [--rounds 3] [--starts 15]

It starts its own PostgreSQL in a temporary directory. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from flowpilot.runtime.auth import mint_token
from flowpilot.runtime.embedded_pg import EmbeddedPostgres
from flowpilot.runtime.migrations import upgrade
from flowpilot.runtime.settings import Settings
from tests.processes import SERVICES, Stack

SECRET = "measure-" + "s" * 40
SESSIONS = "/api/v1/script-builder/sessions"
Sample = tuple[float, float, int | str]  # started, finished, status


def _token() -> str:
    return mint_token(Settings(jwt_secret=SECRET), user_id="u", account_id="a", role="engineer")


async def _repeat(
    url: str, method: str, path: str, body: Callable[[], object] | None, stop: asyncio.Event
) -> list[Sample]:
    samples: list[Sample] = []
    headers = {"authorization": f"Bearer {_token()}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=15) as client:
        while not stop.is_set():
            started = time.monotonic()
            try:
                response = await client.request(method, path, json=body() if body else None)
                samples.append((started, time.monotonic(), response.status_code))
            except httpx.HTTPError as exc:
                samples.append((started, time.monotonic(), type(exc).__name__))
            await asyncio.sleep(0.02)
    return samples


def _lag(samples: list[Sample], since: float) -> float:
    """Seconds from `since` to the first success of a request sent after it."""
    for started, finished, status in samples:
        if started >= since and status in (200, 201):
            return finished - since
    return math.nan


async def _restart_round(stack: Stack, name: str, ai_session: str, down: float) -> list[float]:
    stop = asyncio.Event()
    inline = {"origin": "pilot_inline", "ai_session_id": ai_session}
    runs = [
        asyncio.create_task(_repeat(stack.url, "POST", SESSIONS, lambda: inline, stop)),
        asyncio.create_task(_repeat(stack.url, "GET", SESSIONS, None, stop)),
        asyncio.create_task(_repeat(stack.url, "GET", "/readyz", None, stop)),
    ]
    await asyncio.sleep(0.5)
    stack.stop(name, signal.SIGKILL)
    await asyncio.sleep(down)
    stack.start(name)
    serving = await stack.wait_serving(name)
    await asyncio.sleep(6)
    stop.set()
    return [_lag(samples, serving) for samples in await asyncio.gather(*runs)]


async def recovery(urls: dict[str, str], rounds: int, down: float) -> None:
    with Stack(urls["fixes_service"], urls["scriptbuilder_service"], SECRET) as stack:
        for name in SERVICES:
            stack.start(name)
        await stack.wait_ready()
        headers = {"authorization": f"Bearer {_token()}"}
        async with httpx.AsyncClient(base_url=stack.url, headers=headers) as client:
            ai_session = (await client.post("/api/v1/ai-sessions", json={"title": "t"})).json()
        for name in ("fixes", "scriptbuilder"):
            figures = [
                await _restart_round(stack, name, ai_session["id"], down) for _ in range(rounds)
            ]
            for label, column in (("inline create", 0), ("GET sessions", 1), ("/readyz", 2)):
                lags = ", ".join(f"{f[column]:.2f}" for f in figures)
                print(f"{name} restarted ({down:g} s down): {label} served {lags} s after it was")


async def fresh_starts(urls: dict[str, str], starts: int) -> None:
    failures = 0
    ready_after: list[float] = []
    for number in range(1, starts + 1):
        with Stack(urls["fixes_service"], urls["scriptbuilder_service"], SECRET) as stack:
            started = time.monotonic()
            for name in SERVICES:
                stack.start(name)
            ready_after.append(await stack.wait_ready() - started)
            headers = {"authorization": f"Bearer {_token()}"}
            async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=15) as c:
                ai_session = (await c.post("/api/v1/ai-sessions", json={"title": "t"})).json()
                inline = {"origin": "pilot_inline", "ai_session_id": ai_session["id"]}
                response = await c.post(SESSIONS, json=inline)
            if response.status_code not in (200, 201):
                failures += 1
                print(f"start {number}: first inline create: {response.status_code}")
            stack.stop_all()
    print(
        f"{starts} fresh starts: the first inline get-or-create after /readyz 200 failed "
        f"{failures} times; ready {min(ready_after):.1f}-{max(ready_after):.1f} s after start"
    )


async def _hold(port: int, payload: bytes, cap: float) -> tuple[float | None, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        started = time.monotonic()
        received = b""
        try:
            async with asyncio.timeout(cap):
                while chunk := await reader.read(65_536):
                    received += chunk
        except TimeoutError:
            return None, received
        except ConnectionError:
            pass
        return time.monotonic() - started, received
    finally:
        writer.close()


async def slow_clients(count: int, cap: float = 25) -> None:
    unused = "postgresql://unused@127.0.0.1:1/unused"  # the gateway has no database
    stack = Stack(unused, unused, SECRET)
    stack.extra_env = {"FLOWPILOT_FIXES_TARGET": "127.0.0.1:1"}
    with stack:
        stack.start("gateway")
        await stack.wait_serving("gateway")
        body = json.dumps({"title": "x" * 1000}).encode()
        head = (
            f"POST /api/v1/ai-sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {_token()}"
            f"\r\nContent-Length: {len(body)}\r\n"
        ).encode()
        kinds = {
            "half a head": head,
            "a head, no body": head + b"\r\n",
            "a head and half a body": head + b"\r\n" + body[: len(body) // 2],
        }
        names = list(kinds)
        held = [
            asyncio.create_task(_hold(stack.ports["gateway"], kinds[names[i % 3]], cap))
            for i in range(count)
        ]
        await asyncio.sleep(1)
        async with httpx.AsyncClient(base_url=stack.url) as client:
            started = time.monotonic()
            status = (await client.get("/healthz")).status_code
            took = (time.monotonic() - started) * 1000
        print(f"a normal request with {count} slow connections open: {status} in {took:.0f} ms")
        results = await asyncio.gather(*held)
        for index, name in enumerate(names):
            mine = results[index::3]
            closed = [seconds for seconds, _ in mine if seconds is not None]
            answers = sorted({answer[:12].decode(errors="replace") for _, answer in mine})
            span = f" after {min(closed):.1f}-{max(closed):.1f} s" if closed else ""
            print(
                f"{name}: {len(mine)} connections, {len(closed)} closed{span}, "
                f"{len(mine) - len(closed)} still open at {cap:g} s; answers {answers}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow-clients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--down", type=float, default=2.0, help="seconds a service stays down")
    parser.add_argument("--starts", type=int, default=15)
    args = parser.parse_args(argv)
    if args.slow_clients:
        asyncio.run(slow_clients(args.slow_clients))
    if not (args.rounds or args.starts):
        return 0
    directory = Path(tempfile.mkdtemp(prefix="flowpilot-measure-"))
    directory.chmod(0o755)
    cluster = EmbeddedPostgres(directory, fsync=False)
    cluster.start()
    try:
        urls = {}
        for package in ("fixes_service", "scriptbuilder_service"):
            urls[package] = cluster.create_database(package)
            upgrade(package, urls[package])
        if args.rounds:
            asyncio.run(recovery(urls, args.rounds, args.down))
        if args.starts:
            asyncio.run(fresh_starts(urls, args.starts))
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            cluster.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
