"""`python -m bench`: what the gateway adds to a gRPC call, measured in one run.

It starts a private PostgreSQL in a temporary directory, migrates both
services, and runs every server as its own process (as in production, and so
that the load generator — this process — does not share an event loop with
them): the fixes service, the script-builder service, the gateway, and a bare
reference chain. Then it measures `PATCH .../suggested-fixes/{id}/script`:

  (a) through the gateway: HTTP → gateway → gRPC → fixes service → PostgreSQL;
  (b) directly over gRPC: UpdateFixScript on the fixes service;
  (c) the bare chain: a minimal FastAPI app → a minimal grpc.aio servicer →
      asyncpg, running three statements in one transaction (lock the fix,
      update it, bump the session's state_version) on tables of its own.

Each worker owns its own AI session and fix, so that the numbers measure the
request path rather than row-lock queues. Loopback only; every phase is
bounded by `--seconds`.

    python -m bench --seconds 5 --concurrency 32

The benchmark is a tool of the source checkout, not part of the shipped
distribution: it is not installed and not in the image.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

CHECKOUT = Path(__file__).resolve().parents[1]
# Two scripts, alternated by every worker: the same PATCH twice is a no-op
# (nothing written, issue 10), and the benchmark measures writes.
PATCH_BODIES = (
    {"ai_drafted_script": "Restart-Service -Name Spooler -Force"},
    {"ai_drafted_script": "Restart-Service -Name Spooler -Force -PassThru"},
)
BARE_SCHEMA = """
CREATE TABLE IF NOT EXISTS bare_sessions (id uuid PRIMARY KEY, state_version bigint NOT NULL);
CREATE TABLE IF NOT EXISTS bare_fixes (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES bare_sessions (id),
    script text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""
BARE_LOCK = "SELECT id FROM bare_fixes WHERE id = $1 AND session_id = $2 FOR UPDATE"
BARE_UPDATE = (
    "UPDATE bare_fixes SET script = $2, updated_at = now() WHERE id = $1 "
    "RETURNING id, session_id, script, updated_at"
)
BARE_BUMP = "UPDATE bare_sessions SET state_version = state_version + 1 WHERE id = $1"


# --------------------------------------------------------------- the bare chain


async def _serve_bare_grpc(port: int, dsn: str) -> None:
    """A minimal UpdateFixScript: three statements on asyncpg, no auth, no validation."""
    import asyncpg
    import grpc

    from flowpilot.fixes.v1 import fixes_pb2

    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=10)

    async def update_fix_script(
        request: fixes_pb2.UpdateFixScriptRequest, context: grpc.aio.ServicerContext
    ) -> fixes_pb2.SuggestedFix:
        fix_id, session_id = uuid.UUID(request.fix_id), uuid.UUID(request.session_id)
        async with pool.acquire() as connection, connection.transaction():
            await connection.fetchval(BARE_LOCK, fix_id, session_id)
            row = await connection.fetchrow(BARE_UPDATE, fix_id, request.ai_drafted_script)
            await connection.execute(BARE_BUMP, session_id)
        fix = fixes_pb2.SuggestedFix(
            id=str(row["id"]),
            ai_session_id=str(row["session_id"]),
            ai_drafted_script=row["script"],
        )
        fix.updated_at.FromDatetime(row["updated_at"])
        return fix

    handler = grpc.method_handlers_generic_handler(
        "flowpilot.fixes.v1.FixesService",
        {
            "UpdateFixScript": grpc.unary_unary_rpc_method_handler(
                update_fix_script,
                request_deserializer=fixes_pb2.UpdateFixScriptRequest.FromString,
                response_serializer=fixes_pb2.SuggestedFix.SerializeToString,
            )
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(0)
    await pool.close()


def _bare_http_app(grpc_target: str) -> FastAPI:
    """A minimal FastAPI app forwarding the PATCH to the bare servicer."""
    import grpc
    from google.protobuf import json_format

    from flowpilot.fixes.v1 import fixes_pb2

    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        channel = grpc.aio.insecure_channel(grpc_target)
        state["call"] = channel.unary_unary(
            "/flowpilot.fixes.v1.FixesService/UpdateFixScript",
            request_serializer=fixes_pb2.UpdateFixScriptRequest.SerializeToString,
            response_deserializer=fixes_pb2.SuggestedFix.FromString,
        )
        yield
        await channel.close()

    app = FastAPI(lifespan=lifespan)

    @app.patch("/bare/{session_id}/{fix_id}/script")
    async def patch_script(session_id: str, fix_id: str, request: Request) -> Response:
        body = json.loads(await request.body())
        message = fixes_pb2.UpdateFixScriptRequest(
            session_id=session_id, fix_id=fix_id, ai_drafted_script=body["ai_drafted_script"]
        )
        fix = await state["call"](message, timeout=10)
        payload = json_format.MessageToDict(fix, preserving_proto_field_name=True)
        return Response(json.dumps(payload), media_type="application/json")

    return app


# ------------------------------------------------------------------ load driver


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


class HttpConnection:
    """A minimal HTTP/1.1 keep-alive client: cheap enough not to be the bottleneck."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


async def drive(
    name: str,
    workers: list[Callable[[], Awaitable[bool]]],
    seconds: float,
    warmup: float,
) -> Result:
    result = Result(name)
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds

    async def loop(call: Callable[[], Awaitable[bool]]) -> None:
        while (now := time.perf_counter()) < stop_at:
            ok = await call()
            if measuring:
                if ok:
                    result.latencies.append(time.perf_counter() - now)
                else:
                    result.errors += 1

    async def clock() -> None:
        nonlocal measuring
        await asyncio.sleep(warmup)
        measuring = True
        started = time.perf_counter()
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        result.seconds = time.perf_counter() - started

    await asyncio.gather(clock(), *(loop(w) for w in workers))
    return result


# ------------------------------------------------------------------- processes


@contextlib.contextmanager
def _processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _spawn(
    started: list[subprocess.Popen[bytes]], args: list[str], env: dict[str, str], log: Path
) -> None:
    handle = log.open("wb")
    started.append(
        subprocess.Popen([sys.executable, *args], env=env, stdout=handle, stderr=subprocess.STDOUT)
    )


async def _wait_port(
    port: int, started: list[subprocess.Popen[bytes]], limit_seconds: float = 30
) -> None:
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        for process in started:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError(f"nothing listens on port {port} after {limit_seconds}s")


async def _run(args: argparse.Namespace, workdir: Path) -> int:
    import asyncpg
    import grpc

    from flowpilot.fixes.v1 import fixes_pb2
    from flowpilot.runtime.auth import mint_token
    from flowpilot.runtime.db import asyncpg_url
    from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port
    from flowpilot.runtime.migrations import upgrade
    from flowpilot.runtime.settings import Settings

    secret = "bench-" + uuid.uuid4().hex * 2
    settings = Settings(jwt_secret=secret, data_dir=workdir)
    cluster = EmbeddedPostgres(workdir / "pg", fsync=False)
    print(f"starting PostgreSQL in {workdir} ...", flush=True)
    cluster.start()
    try:
        urls = {name: cluster.create_database(name) for name in ("fixes", "scriptbuilder", "bare")}
        await asyncio.to_thread(upgrade, "fixes_service", urls["fixes"])
        await asyncio.to_thread(upgrade, "scriptbuilder_service", urls["scriptbuilder"])
        bare_dsn = asyncpg_url(urls["bare"]).replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(bare_dsn)
        await connection.execute(BARE_SCHEMA)
        await connection.close()

        ports = {name: free_port() for name in ("fixes", "sb", "gateway", "bare_grpc", "bare")}
        env = {
            **os.environ,
            # The bare chain runs `python -m bench` too: find it from any directory.
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(CHECKOUT), os.environ.get("PYTHONPATH", "")) if p
            ),
            "FLOWPILOT_JWT_SECRET": secret,
            "FLOWPILOT_DATA_DIR": str(workdir),
            "FLOWPILOT_LOG_LEVEL": "WARNING",
            "FLOWPILOT_BIND_HOST": "127.0.0.1",
            "FLOWPILOT_FIXES_DATABASE_URL": urls["fixes"],
            "FLOWPILOT_SCRIPTBUILDER_DATABASE_URL": urls["scriptbuilder"],
            "FLOWPILOT_FIXES_GRPC_PORT": str(ports["fixes"]),
            "FLOWPILOT_SCRIPTBUILDER_GRPC_PORT": str(ports["sb"]),
            "FLOWPILOT_FIXES_TARGET": f"127.0.0.1:{ports['fixes']}",
            "FLOWPILOT_SCRIPTBUILDER_TARGET": f"127.0.0.1:{ports['sb']}",
            "FLOWPILOT_HTTP_PORT": str(ports["gateway"]),
        }
        with _processes() as started:
            _spawn(started, ["-m", "fixes_service.main"], env, workdir / "fixes.log")
            _spawn(started, ["-m", "scriptbuilder_service.main"], env, workdir / "sb.log")
            _spawn(started, ["-m", "gateway.app"], env, workdir / "gateway.log")
            _spawn(
                started,
                ["-m", "bench", "--serve-bare-grpc", str(ports["bare_grpc"]), bare_dsn],
                env,
                workdir / "bare-grpc.log",
            )
            _spawn(
                started,
                [
                    "-m",
                    "bench",
                    "--serve-bare-http",
                    str(ports["bare"]),
                    f"127.0.0.1:{ports['bare_grpc']}",
                ],
                env,
                workdir / "bare-http.log",
            )
            for port in ports.values():
                await _wait_port(port, started)
            print("all processes up; creating one AI session and fix per worker ...", flush=True)
            return await _measure(args, settings, ports, bare_dsn, mint_token, fixes_pb2, grpc)
    finally:
        cluster.stop("immediate")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


async def _measure(
    args: argparse.Namespace,
    settings: Any,
    ports: dict[str, int],
    bare_dsn: str,
    mint_token: Any,
    fixes_pb2: Any,
    grpc: Any,
) -> int:
    import asyncpg

    token = mint_token(settings, user_id="bench-user", account_id="bench", role="engineer")
    auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    bodies = [json.dumps(b).encode() for b in PATCH_BODIES]
    concurrency = args.concurrency

    # One AI session and one fix per worker, so workers never queue on a row lock.
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{ports['fixes']}")
    metadata = (("authorization", f"Bearer {token}"),)

    def rpc(name: str, request_cls: Any, response_cls: Any) -> Any:
        return channel.unary_unary(
            f"/flowpilot.fixes.v1.FixesService/{name}",
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )

    create_session = rpc("CreateAiSession", fixes_pb2.CreateAiSessionRequest, fixes_pb2.AiSession)
    create_fix = rpc(
        "CreateSuggestedFix", fixes_pb2.CreateSuggestedFixRequest, fixes_pb2.SuggestedFix
    )
    update = rpc("UpdateFixScript", fixes_pb2.UpdateFixScriptRequest, fixes_pb2.SuggestedFix)
    targets: list[tuple[str, str]] = []
    for index in range(concurrency):
        session = await create_session(
            fixes_pb2.CreateAiSessionRequest(title=f"bench {index}"), metadata=metadata
        )
        fix = await create_fix(
            fixes_pb2.CreateSuggestedFixRequest(
                session_id=session.id, title="bench fix", script_language=1
            ),
            metadata=metadata,
        )
        targets.append((session.id, fix.id))

    bare_targets = [(uuid.uuid4(), uuid.uuid4()) for _ in range(concurrency)]
    connection = await asyncpg.connect(bare_dsn)
    for session_id, fix_id in bare_targets:
        await connection.execute("INSERT INTO bare_sessions VALUES ($1, 0)", session_id)
        await connection.execute(
            "INSERT INTO bare_fixes (id, session_id) VALUES ($1, $2)", fix_id, session_id
        )
    await connection.close()

    def http_worker(port: int, path: str) -> Callable[[], Awaitable[bool]]:
        conn = HttpConnection(port)
        turn = itertools.cycle(bodies)

        async def call() -> bool:
            return await conn.request("PATCH", path, next(turn), auth) == 200

        return call

    def grpc_worker(session_id: str, fix_id: str) -> Callable[[], Awaitable[bool]]:
        requests = itertools.cycle(
            [
                fixes_pb2.UpdateFixScriptRequest(session_id=session_id, fix_id=fix_id, **body)
                for body in PATCH_BODIES
            ]
        )

        async def call() -> bool:
            try:
                await update(next(requests), metadata=metadata, timeout=10)
            except grpc.aio.AioRpcError:
                return False
            return True

        return call

    results: list[Result] = []
    print(
        f"measuring PATCH .../script: {args.seconds:g}s each after {args.warmup:g}s warm-up, "
        f"concurrency {concurrency}",
        flush=True,
    )
    gateway_workers = [
        http_worker(ports["gateway"], f"/api/v1/ai-sessions/{s}/suggested-fixes/{f}/script")
        for s, f in targets
    ]
    results.append(await drive("gateway  HTTP→gRPC→PG", gateway_workers, args.seconds, args.warmup))
    direct_workers = [grpc_worker(s, f) for s, f in targets]
    results.append(await drive("direct gRPC→PG", direct_workers, args.seconds, args.warmup))
    bare_workers = [http_worker(ports["bare"], f"/bare/{s}/{f}/script") for s, f in bare_targets]
    results.append(
        await drive("bare FastAPI→gRPC→asyncpg", bare_workers, args.seconds, args.warmup)
    )
    await channel.close()

    print()
    print(f"{'path':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for result in results:
        print(
            f"{result.name:<28}{result.rps:>10.0f}{result.percentile(50):>10.2f}"
            f"{result.percentile(99):>10.2f}{result.errors:>8}"
        )
    gateway, direct, bare = results
    ratio_bare = gateway.rps / bare.rps if bare.rps else float("nan")
    ratio_direct = gateway.rps / direct.rps if direct.rps else float("nan")
    print()
    print(f"ratio gateway/bare:   {ratio_bare:.2f}")
    print(f"ratio gateway/direct: {ratio_direct:.2f}")
    if args.json:
        summary = {
            r.name: {
                "rps": r.rps,
                "p50_ms": r.percentile(50),
                "p99_ms": r.percentile(99),
                "errors": r.errors,
                "median_ms": statistics.median(r.latencies) * 1000 if r.latencies else None,
            }
            for r in results
        }
        summary["ratio_gateway_bare"] = ratio_bare  # type: ignore[assignment]
        summary["ratio_gateway_direct"] = ratio_direct  # type: ignore[assignment]
        await asyncio.to_thread(Path(args.json).write_text, json.dumps(summary, indent=2))
    return 0 if all(r.latencies and not r.errors for r in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Requests/s of PATCH .../script through the gateway, directly over gRPC, "
        "and through a bare FastAPI→gRPC→asyncpg chain.",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per path")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured time per path")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    parser.add_argument(
        "--serve-bare-grpc", nargs=2, metavar=("PORT", "DSN"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--serve-bare-http", nargs=2, metavar=("PORT", "TARGET"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve_bare_grpc:
        port, dsn = args.serve_bare_grpc
        asyncio.run(_serve_bare_grpc(int(port), dsn))
        return 0
    if args.serve_bare_http:
        import uvicorn

        port, target = args.serve_bare_http
        uvicorn.run(
            _bare_http_app(target),
            host="127.0.0.1",
            port=int(port),
            log_level="warning",
            access_log=False,
        )
        return 0
    if not 1 <= args.concurrency <= 100:
        parser.error("--concurrency must be within 1..100")
    workdir = Path(tempfile.mkdtemp(prefix="flowpilot-bench-"))
    workdir.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root
    return asyncio.run(_run(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
