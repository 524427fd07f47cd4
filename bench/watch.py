"""`python -m bench.watch`: how fast a change reaches a watcher on another replica.

It starts a private PostgreSQL, migrates the fixes database, and runs two
fixes-service processes (replicas A and B) on it, as two pods of one
Deployment would. A watcher opens `WatchAiSession` on B; changes are made
through A (`PATCH .../script`, one at a time, `--changes` of them, with
`--pause` between them so each is measured alone), and for each the time from
A's answer to the change's message on B's stream is recorded: the commit's
NOTIFY, B's one listening connection, the in-process fan-out, B's read of the
audit trail and the stream. Optionally more idle watchers on B (`--watchers`)
share the fan-out. It prints the figures; it asserts nothing.

    python -m bench.watch --changes 200 --watchers 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.run import CHECKOUT, _processes, _spawn, _wait_port


async def _run(args: argparse.Namespace, workdir: Path) -> int:
    import grpc

    from flowpilot.fixes.v1 import fixes_pb2 as pb
    from flowpilot.fixes.v1.fixes_pb2_grpc import FixesServiceStub
    from flowpilot.runtime.auth import mint_token
    from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port
    from flowpilot.runtime.migrations import upgrade
    from flowpilot.runtime.settings import Settings

    secret = "bench-" + uuid.uuid4().hex * 2
    settings = Settings(jwt_secret=secret, data_dir=workdir)
    cluster = EmbeddedPostgres(workdir / "pg", fsync=False)
    print(f"starting PostgreSQL in {workdir} ...", flush=True)
    cluster.start()
    try:
        url = cluster.create_database("fixes")
        await asyncio.to_thread(upgrade, "fixes_service", url)
        ports = {"a": free_port(), "b": free_port()}
        with _processes() as started:
            for name, port in ports.items():
                env = {
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join(
                        p for p in (str(CHECKOUT), os.environ.get("PYTHONPATH", "")) if p
                    ),
                    "FLOWPILOT_JWT_SECRET": secret,
                    "FLOWPILOT_DATA_DIR": str(workdir),
                    "FLOWPILOT_LOG_LEVEL": "WARNING",
                    "FLOWPILOT_BIND_HOST": "127.0.0.1",
                    "FLOWPILOT_FIXES_DATABASE_URL": url,
                    "FLOWPILOT_FIXES_GRPC_PORT": str(port),
                    "FLOWPILOT_WATCH_MAX_PER_USER": str(args.watchers + 2),
                }
                _spawn(started, ["-m", "fixes_service.main"], env, workdir / f"fixes-{name}.log")
            for port in ports.values():
                await _wait_port(port, started)
            token = mint_token(settings, user_id="bench-user", account_id="bench", role="engineer")
            metadata = (("authorization", f"Bearer {token}"),)
            async with (
                grpc.aio.insecure_channel(f"127.0.0.1:{ports['a']}") as channel_a,
                grpc.aio.insecure_channel(f"127.0.0.1:{ports['b']}") as channel_b,
            ):
                a, b = FixesServiceStub(channel_a), FixesServiceStub(channel_b)
                session = await a.CreateAiSession(
                    pb.CreateAiSessionRequest(title="watch latency"), metadata=metadata
                )
                fix = await a.CreateSuggestedFix(
                    pb.CreateSuggestedFixRequest(
                        session_id=session.id,
                        title="bench fix",
                        script_language=1,
                        ai_drafted_script="echo 0",
                    ),
                    metadata=metadata,
                )
                request = pb.WatchAiSessionRequest(session_id=session.id)
                idle = [b.WatchAiSession(request, metadata=metadata) for _ in range(args.watchers)]
                for call in idle:
                    await call.read()  # each one's snapshot: all of them are listening
                watch = b.WatchAiSession(request, metadata=metadata)
                await watch.read()
                print(
                    f"replicas A :{ports['a']} and B :{ports['b']} up; {args.watchers + 1} "
                    f"watchers on B; {args.changes} changes through A ...",
                    flush=True,
                )
                latencies: list[float] = []
                for n in range(args.changes):
                    await a.UpdateFixScript(
                        pb.UpdateFixScriptRequest(
                            session_id=session.id, fix_id=fix.id, ai_drafted_script=f"echo {n + 1}"
                        ),
                        metadata=metadata,
                    )
                    answered = time.perf_counter()
                    change = await asyncio.wait_for(watch.read(), 10)
                    latencies.append(time.perf_counter() - answered)
                    assert change.fix.ai_drafted_script == f"echo {n + 1}", change
                    await asyncio.sleep(args.pause)
                for call in (watch, *idle):
                    call.cancel()
    finally:
        cluster.stop("immediate")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    ordered = sorted(latencies)

    def at(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    print()
    print("change through A → message on B's watch (ms, from A's answer)")
    print(f"{'n':>6}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}{'mean':>10}")
    print(
        f"{len(ordered):>6}{at(50):>10.2f}{at(90):>10.2f}{at(99):>10.2f}"
        f"{ordered[-1] * 1000:>10.2f}{statistics.fmean(ordered) * 1000:>10.2f}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.watch", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--changes", type=int, default=100, help="changes made through A")
    parser.add_argument("--watchers", type=int, default=0, help="extra idle watchers on B")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between changes")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="flowpilot-bench-watch-"))
    workdir.chmod(0o755)
    return asyncio.run(_run(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
