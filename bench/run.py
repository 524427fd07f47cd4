"""`python -m bench`: the real system against a bare chain, side by side, with wrk.

It starts a private PostgreSQL (fsync on, as in production) in a temporary
directory, migrates both services, and runs every server as its own process:
the fixes service, the script-builder service, the gateway, and the bare
chain (`bench/bare_chain.py`: FastAPI → grpc.aio → asyncpg, the same
three-statement transaction with no auth, validation or audit), each on a
database of its own in that one cluster. It seeds 1,000 AI sessions with one
fix each (and one inline script-builder session each; the chain gets as many
rows of its own), then drives load with wrk (`bench/wrk.lua`: random targets
from the list, a development token on every request) on four paths:

  chain PATCH           PATCH /bare/{s}/{f}/script, the yardstick
  PATCH .../script      PATCH /api/v1/ai-sessions/{s}/suggested-fixes/{f}/script
  inline get-or-create  POST /api/v1/script-builder/sessions of an existing
                        pilot_inline session (gateway → script-builder → fixes)
  GET one fix           GET /api/v1/ai-sessions/{s}/suggested-fixes/{f}

After an unmeasured warm-up, it runs several rounds, alternating which of the
chain and the real system goes first, and prints each path's req/s, p50,
p99, non-2xx count, every process's peak RSS, and the ratios against the
chain (issue 13's goals beside them). Loopback only.

    python -m bench                       # 3 rounds, 10 s per phase, 2 threads, 16 connections
    python -m bench --seconds 1 --rounds 1 --json out.json

The benchmark is a tool of the source checkout, not part of the shipped
distribution: it is not installed and not in the image.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter, MachineShare
from bench.wrk import WrkError, WrkResult, run_wrk, wrk_binary, wrk_command

# The caller's GRPC_EXPERIMENTS, read before anything imports flowpilot (which
# sets its own default, flowpilot.runtime.grpc_transport): the bare chain runs
# with this, so it stays on grpc's defaults unless the caller chose otherwise
# for both (`GRPC_EXPERIMENTS=... python -m bench`).
CALLER_GRPC_EXPERIMENTS = os.environ.get("GRPC_EXPERIMENTS")

CHECKOUT = Path(__file__).resolve().parents[1]
CHAIN = "chain PATCH"
PATCH = "PATCH …/script"
INLINE = "inline get-or-create"
GET = "GET one fix"
# name → (wrk mode, server); the chain's targets are its own rows.
PATHS: dict[str, tuple[str, str]] = {
    CHAIN: ("patch-bare", "bare"),
    PATCH: ("patch-gateway", "gateway"),
    INLINE: ("inline", "gateway"),
    GET: ("get", "gateway"),
}
SYSTEM = (PATCH, INLINE, GET)
# --paths names them shortly; the chain always runs (it is the yardstick).
SHORT_NAMES = {"patch": PATCH, "inline": INLINE, "get": GET}
PROCESSES = ("fixes", "scriptbuilder", "gateway", "bare-grpc", "bare-http")
RSS_GOAL_MB = 150


@dataclass(frozen=True)
class Goal:
    """One of issue 13's goals: `path` against the chain's PATCH."""

    label: str
    path: str
    measure: str  # "rps" or "p99"
    bound: float  # at least (rps) or at most (p99) this ratio

    def ratio(self, path: WrkResult, chain: WrkResult) -> float:
        if self.measure == "rps":
            return path.rps / chain.rps if chain.rps else float("nan")
        return path.p99_us / chain.p99_us if chain.p99_us else float("nan")

    def met(self, ratio: float) -> bool:
        return ratio >= self.bound if self.measure == "rps" else ratio <= self.bound


GOALS = (
    Goal("PATCH …/script req/s vs chain", PATCH, "rps", 1.0),
    Goal("PATCH …/script p99 vs chain p99", PATCH, "p99", 1.5),
    Goal("inline get-or-create req/s vs chain PATCH", INLINE, "rps", 0.6),
    Goal("GET one fix req/s vs chain PATCH", GET, "rps", 1.2),
)


@dataclass
class Report:
    """Every phase's result, by round, and what the processes used."""

    rounds: list[dict[str, WrkResult]] = field(default_factory=list)
    # Per round and path: CPU seconds each process spent during the phase.
    cpu: list[dict[str, dict[str, float]]] = field(default_factory=list)
    # Per round and path: how the machine's CPU time went during the phase.
    machine: list[dict[str, MachineShare]] = field(default_factory=list)
    rss_peak_kb: dict[str, int] = field(default_factory=dict)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def of(self, path: str) -> list[WrkResult]:
        return [results[path] for results in self.rounds if path in results]

    def best(self, path: str, measure: str) -> WrkResult:
        """The best round: highest req/s, or lowest p99."""
        results = self.of(path)
        if measure == "rps":
            return max(results, key=lambda r: r.rps)
        return min(results, key=lambda r: r.p99_us)

    def ratios(self, goal: Goal) -> tuple[float, list[float]]:
        """Best against best, and per round (same conditions)."""
        best = goal.ratio(self.best(goal.path, goal.measure), self.best(CHAIN, goal.measure))
        per_round = [
            goal.ratio(results[goal.path], results[CHAIN])
            for results in self.rounds
            if goal.path in results and CHAIN in results
        ]
        return best, per_round

    def cpu_ms_per_request(self, path: str) -> dict[str, float]:
        """Each process's CPU milliseconds per request of `path`, median over rounds."""
        per_round = [
            {name: seconds * 1000 / results[path].requests for name, seconds in cpu[path].items()}
            for results, cpu in zip(self.rounds, self.cpu, strict=True)
            if path in cpu and results[path].requests
        ]
        if not per_round:
            return {}
        return {name: statistics.median(r[name] for r in per_round) for name in per_round[0]}

    def clean(self) -> bool:
        """Every path answered, only with 2xx, and without socket errors."""
        results = [r for results in self.rounds for r in results.values()]
        return bool(results) and all(
            r.requests > 0 and r.non2xx == 0 and r.socket_errors == 0 for r in results
        )


def _span(values: Sequence[float], digits: int) -> str:
    low, high = min(values), max(values)
    if round(low, digits) == round(high, digits):
        return f"{low:,.{digits}f}"
    return f"{low:,.{digits}f}–{high:,.{digits}f}"


def _grpc_lines(config: dict[str, Any]) -> list[str]:
    experiments = config.get("grpc_experiments")
    if not experiments:
        return []
    return [
        f"GRPC_EXPERIMENTS: {side} {experiments[side] or '(grpc defaults)'}"
        for side in ("chain", "system")
    ]


def render(report: Report, config: dict[str, Any]) -> str:
    """The benchmark's printed summary: a Markdown table, ratios, memory."""
    lines = [
        f"{config['rounds']} round(s), {config['seconds']:g} s per phase, wrk "
        f"{config['threads']} threads / {config['connections']} connections, "
        f"{config['sessions']:,} AI sessions, PostgreSQL fsync on; load average "
        f"{report.load_before[0]:.1f} before, {report.load_after[0]:.1f} after, "
        f"{os.cpu_count()} CPUs",
        *_grpc_lines(config),
        "",
        "| path | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
    ]
    for path in PATHS:
        results = report.of(path)
        if not results:
            continue
        lines.append(
            f"| {path} | {_span([r.rps for r in results], 0)} "
            f"| {_span([r.p50_ms for r in results], 1)} "
            f"| {_span([r.p99_ms for r in results], 1)} "
            f"| {sum(r.non2xx + r.socket_errors for r in results)} |"
        )
    lines += ["", "| ratio (best against best; per round) | measured | goal |", "|---|---|---|"]
    for goal in GOALS:
        if not report.of(goal.path) or not report.of(CHAIN):
            continue
        best, per_round = report.ratios(goal)
        sign = "≥" if goal.measure == "rps" else "≤"
        verdict = "met" if goal.met(best) else "NOT met"
        lines.append(
            f"| {goal.label} | {best:.2f}× ({_span(per_round, 2)}) "
            f"| {sign} {goal.bound:g}× {verdict} |"
        )
    if report.cpu:
        names = [*PROCESSES, "postgres", "wrk"]
        lines += [
            "",
            "CPU ms per request (median over rounds; what each process spent during the phase)",
            "",
            "| path | " + " | ".join(names) + " | all |",
            "|---|" + "---|" * (len(names) + 1),
        ]
        for path in PATHS:
            spent = report.cpu_ms_per_request(path)
            if spent:
                cells = " | ".join(f"{spent.get(name, 0.0):.2f}" for name in names)
                lines.append(f"| {path} | {cells} | {sum(spent.values()):.2f} |")
    if any(report.machine):
        lines += [
            "",
            "The machine during each phase (range over rounds, % of its CPU time): idle is",
            "capacity nobody used; steal is what the hypervisor gave to other guests, and",
            "a round with more of it serves fewer req/s at the same CPU per request",
            "",
            "| path | idle % | steal % |",
            "|---|---|---|",
        ]
        for path in PATHS:
            shares = [machine[path] for machine in report.machine if path in machine]
            if shares:
                lines.append(
                    f"| {path} | {_span([100 * s.idle for s in shares], 0)} "
                    f"| {_span([100 * s.steal for s in shares], 0)} |"
                )
    if report.rss_peak_kb:
        peaks = ", ".join(f"{name} {kb / 1024:.0f}" for name, kb in report.rss_peak_kb.items())
        worst = max(report.rss_peak_kb.values()) / 1024
        verdict = "met" if worst <= RSS_GOAL_MB else "NOT met"
        lines += ["", f"peak RSS (VmHWM), MB: {peaks} (goal ≤ {RSS_GOAL_MB} MB: {verdict})"]
    statuses: dict[int, int] = {}
    for results in report.rounds:
        for result in results.values():
            for code, count in result.statuses.items():
                statuses[code] = statuses.get(code, 0) + count
    if statuses:
        lines.append("non-2xx statuses: " + ", ".join(f"{c}×{n}" for c, n in statuses.items()))
    return "\n".join(lines)


def as_json(report: Report, config: dict[str, Any]) -> dict[str, Any]:
    def result(r: WrkResult) -> dict[str, Any]:
        return {**asdict(r), "rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms}

    ratios = {}
    for goal in GOALS:
        if report.of(goal.path) and report.of(CHAIN):
            best, per_round = report.ratios(goal)
            ratios[goal.label] = {
                "best": best,
                "per_round": per_round,
                "goal": goal.bound,
                "met": goal.met(best),
            }
    return {
        "config": config,
        "load_average_before": report.load_before,
        "load_average_after": report.load_after,
        "rounds": [{path: result(r) for path, r in results.items()} for results in report.rounds],
        "machine": [
            {path: asdict(share) for path, share in machine.items()} for machine in report.machine
        ],
        "ratios": ratios,
        "cpu_ms_per_request": {path: report.cpu_ms_per_request(path) for path in PATHS},
        "rss_peak_mb": {name: kb / 1024 for name, kb in report.rss_peak_kb.items()},
        "clean": report.clean(),
    }


# ------------------------------------------------------------------- processes


def rss_peak_kb(pid: int) -> int:
    """The process's peak resident set (VmHWM), in kB; 0 once it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


@contextlib.contextmanager
def _processes() -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        yield started
    finally:
        for process in reversed(started.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(started.values()):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _chain_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` with GRPC_EXPERIMENTS as the caller set it (or unset)."""
    chain = {name: value for name, value in env.items() if name != "GRPC_EXPERIMENTS"}
    if CALLER_GRPC_EXPERIMENTS is not None:
        chain["GRPC_EXPERIMENTS"] = CALLER_GRPC_EXPERIMENTS
    return chain


def _spawn(
    started: dict[str, subprocess.Popen[bytes]],
    name: str,
    args: list[str],
    env: dict[str, str],
    workdir: Path,
) -> None:
    with (workdir / f"{name}.log").open("wb") as handle:
        started[name] = subprocess.Popen(
            [sys.executable, *args], env=env, stdout=handle, stderr=subprocess.STDOUT
        )


async def _wait_port(
    port: int, started: dict[str, subprocess.Popen[bytes]], limit_seconds: float = 60
) -> None:
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        for name, process in started.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} (see its log)")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError(f"nothing listens on port {port} after {limit_seconds}s")


# ------------------------------------------------------------------------- seed


async def _seed_system(ports: dict[str, int], token: str, count: int) -> list[tuple[str, str]]:
    """`count` AI sessions with one fix and one inline script-builder session each."""
    import grpc

    from flowpilot.api.v1 import types_pb2
    from flowpilot.fixes.v1 import fixes_pb2, fixes_pb2_grpc
    from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2, scriptbuilder_pb2_grpc

    metadata = (("authorization", f"Bearer {token}"),)
    gate = asyncio.Semaphore(16)
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{ports['fixes']}") as fixes_channel,
        grpc.aio.insecure_channel(f"127.0.0.1:{ports['scriptbuilder']}") as sb_channel,
    ):
        fixes = fixes_pb2_grpc.FixesServiceStub(fixes_channel)
        builder = scriptbuilder_pb2_grpc.ScriptBuilderServiceStub(sb_channel)

        async def one(index: int) -> tuple[str, str]:
            async with gate:
                session = await fixes.CreateAiSession(
                    fixes_pb2.CreateAiSessionRequest(title=f"bench {index}"),
                    metadata=metadata,
                    timeout=30,
                )
                fix = await fixes.CreateSuggestedFix(
                    fixes_pb2.CreateSuggestedFixRequest(
                        session_id=session.id,
                        title="Restart the print spooler",
                        script_language=types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
                        ai_drafted_script="Restart-Service -Name Spooler",
                    ),
                    metadata=metadata,
                    timeout=30,
                )
                await builder.CreateSession(
                    scriptbuilder_pb2.CreateSessionRequest(
                        origin=scriptbuilder_pb2.ORIGIN_PILOT_INLINE, ai_session_id=session.id
                    ),
                    metadata=metadata,
                    timeout=30,
                )
                return session.id, fix.id

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def _write_targets(path: Path, targets: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{s} {f}\n" for s, f in targets))
    return path


# ------------------------------------------------------------------------- load


def _path_command(
    args: argparse.Namespace,
    path: str,
    ports: dict[str, int],
    targets: dict[str, Path],
    token: str,
    seconds: float,
) -> list[str]:
    """The wrk command that loads `path` (the chain on its own rows)."""
    mode, server = PATHS[path]
    return wrk_command(
        f"http://127.0.0.1:{ports[server]}",
        mode,
        targets["bare" if server == "bare" else "system"],
        token,
        seconds=seconds,
        threads=args.threads,
        connections=args.connections,
    )


async def _phase(
    command: list[str], log: Path, meter: CpuMeter | None = None
) -> tuple[WrkResult, dict[str, float], MachineShare]:
    """One wrk run of `command`, the CPU `meter` saw spent during it, and how
    the machine's CPU time went."""
    if meter is None:
        return await run_wrk(command, log), {}, MachineShare(0.0, 0.0)
    meter.start()
    result = await run_wrk(command, log)
    return result, meter.stop(), meter.machine()


def _print_result(
    label: str, path: str, result: WrkResult, cpu: dict[str, float], machine: MachineShare
) -> None:
    extra = f", statuses {result.statuses}" if result.statuses else ""
    per_request = sum(cpu.values()) * 1000 / result.requests if result.requests else 0.0
    print(
        f"  {label} {path:<22}{result.rps:>9,.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
        f"p99 {result.p99_ms:6.1f} ms  CPU {per_request:5.2f} ms/req  "
        f"idle {machine.idle:4.0%}  steal {machine.steal:4.0%}  non-2xx {result.non2xx}  "
        f"socket errors {result.socket_errors}{extra}",
        flush=True,
    )


async def _load(
    args: argparse.Namespace,
    ports: dict[str, int],
    targets: dict[str, Path],
    token: str,
    workdir: Path,
    meter: CpuMeter,
) -> Report:
    report = Report(load_before=os.getloadavg())
    log = workdir / "wrk.log"
    if args.warmup > 0:
        print(f"warming up: {args.warmup:g} s per path (not measured) ...", flush=True)
        for path in (CHAIN, *args.system):
            await _phase(_path_command(args, path, ports, targets, token, args.warmup), log)
    for number in range(1, args.rounds + 1):
        # Alternate who goes first, so a drift in the machine's load hits both.
        order = [CHAIN, *args.system] if number % 2 else [*args.system, CHAIN]
        results: dict[str, WrkResult] = {}
        cpu: dict[str, dict[str, float]] = {}
        machine: dict[str, MachineShare] = {}
        for path in order:
            command = _path_command(args, path, ports, targets, token, args.seconds)
            results[path], cpu[path], machine[path] = await _phase(command, log, meter)
            _print_result(f"round {number}", path, results[path], cpu[path], machine[path])
        report.rounds.append({path: results[path] for path in PATHS if path in results})
        report.cpu.append(cpu)
        report.machine.append(machine)
    report.load_after = os.getloadavg()
    return report


async def _hold(
    args: argparse.Namespace,
    ports: dict[str, int],
    targets: dict[str, Path],
    token: str,
    started: dict[str, subprocess.Popen[bytes]],
    postgres_pid: int,
) -> None:
    """`--hold`: print each process's pid and each path's wrk command, then wait
    for Ctrl-C, so a profiler (py-spy) can attach while wrk runs by hand."""
    for name in PROCESSES:
        print(f"  {name:<14} pid {started[name].pid}")
    print(f"  {'postgres':<14} pid {postgres_pid}")
    for path in PATHS:
        command = _path_command(args, path, ports, targets, token, args.seconds)
        print(f"{path}:\n  {' '.join(command)}")
    print("holding; Ctrl-C stops everything", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# -------------------------------------------------------------------------- run


async def _run(args: argparse.Namespace, workdir: Path) -> int:
    from bench.bare_chain import seed_bare
    from flowpilot.runtime.auth import mint_token
    from flowpilot.runtime.db import asyncpg_url
    from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port
    from flowpilot.runtime.migrations import upgrade
    from flowpilot.runtime.settings import Settings

    wrk_binary()  # fail before starting anything when wrk is missing
    secret = os.urandom(32).hex()
    settings = Settings(jwt_secret=secret, data_dir=workdir)
    cluster = EmbeddedPostgres(workdir / "pg", fsync=True)
    print(f"starting PostgreSQL (fsync on) in {workdir} ...", flush=True)
    cluster.start()
    try:
        urls = {name: cluster.create_database(name) for name in ("fixes", "scriptbuilder", "bare")}
        await asyncio.to_thread(upgrade, "fixes_service", urls["fixes"])
        await asyncio.to_thread(upgrade, "scriptbuilder_service", urls["scriptbuilder"])
        bare_dsn = asyncpg_url(urls["bare"]).replace("postgresql+asyncpg://", "postgresql://")

        ports = {name: free_port() for name in ("fixes", "scriptbuilder", "gateway", "bare_grpc")}
        ports["bare"] = free_port()
        env = {
            **os.environ,
            # The bare chain runs `python -m bench` too: find it from any directory.
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(CHECKOUT), os.environ.get("PYTHONPATH", "")) if p
            ),
            "FLOWPILOT_JWT_SECRET": secret,
            "FLOWPILOT_DATA_DIR": str(workdir),
            "FLOWPILOT_BIND_HOST": "127.0.0.1",
            "FLOWPILOT_FIXES_DATABASE_URL": urls["fixes"],
            "FLOWPILOT_SCRIPTBUILDER_DATABASE_URL": urls["scriptbuilder"],
            "FLOWPILOT_FIXES_GRPC_PORT": str(ports["fixes"]),
            "FLOWPILOT_SCRIPTBUILDER_GRPC_PORT": str(ports["scriptbuilder"]),
            "FLOWPILOT_FIXES_TARGET": f"127.0.0.1:{ports['fixes']}",
            "FLOWPILOT_SCRIPTBUILDER_TARGET": f"127.0.0.1:{ports['scriptbuilder']}",
            "FLOWPILOT_HTTP_PORT": str(ports["gateway"]),
        }
        chain_env = _chain_environment(env)
        bare_grpc = ["-m", "bench", "--serve-bare-grpc", str(ports["bare_grpc"]), bare_dsn]
        bare_http = ["-m", "bench", "--serve-bare-http", str(ports["bare"])]
        bare_http.append(f"127.0.0.1:{ports['bare_grpc']}")
        with _processes() as started:
            _spawn(started, "fixes", ["-m", "fixes_service.main"], env, workdir)
            _spawn(started, "scriptbuilder", ["-m", "scriptbuilder_service.main"], env, workdir)
            _spawn(started, "gateway", ["-m", "gateway.app"], env, workdir)
            _spawn(started, "bare-grpc", bare_grpc, chain_env, workdir)
            _spawn(started, "bare-http", bare_http, chain_env, workdir)
            for port in ports.values():
                await _wait_port(port, started)
            token = mint_token(settings, user_id="bench-user", account_id="bench", role="engineer")
            print(f"all processes up; seeding {args.sessions:,} AI sessions ...", flush=True)
            targets = {
                "system": _write_targets(
                    workdir / "system-targets.txt",
                    await _seed_system(ports, token, args.sessions),
                ),
                "bare": _write_targets(
                    workdir / "bare-targets.txt", await seed_bare(bare_dsn, args.sessions)
                ),
            }
            if args.hold:
                await _hold(args, ports, targets, token, started, cluster.pid())
                return 0
            meter = CpuMeter({name: started[name].pid for name in PROCESSES}, cluster.pid())
            report = await _load(args, ports, targets, token, workdir, meter)
            report.rss_peak_kb = {name: rss_peak_kb(started[name].pid) for name in PROCESSES}
            for name, process in started.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} under load")
    finally:
        cluster.stop("immediate")
        if args.keep:
            print(f"kept {workdir} (server logs, wrk.log)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    config = {
        "rounds": args.rounds,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "threads": args.threads,
        "connections": args.connections,
        "sessions": args.sessions,
        "paths": [CHAIN, *args.system],
        "cpus": os.cpu_count(),
        "fsync": True,
        # What each side's gRPC core was told (empty: grpc's defaults).
        "grpc_experiments": {
            "chain": CALLER_GRPC_EXPERIMENTS or "",
            "system": os.environ.get("GRPC_EXPERIMENTS", ""),
        },
    }
    print()
    print(render(report, config))
    if args.json:
        text = json.dumps(as_json(report, config), indent=2) + "\n"
        await asyncio.to_thread(Path(args.json).write_text, text)
    return 0 if report.clean() else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="PATCH .../script, inline get-or-create and GET of one fix through the "
        "gateway against a bare FastAPI→gRPC→asyncpg chain, driven by wrk.",
    )
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every path")
    parser.add_argument(
        "--warmup", type=int, default=2, help="unmeasured seconds per path before round 1"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--sessions", type=int, default=1000, help="AI sessions to pick from")
    parser.add_argument(
        "--paths",
        default=",".join(SHORT_NAMES),
        help="the real system's paths to measure, of " + ",".join(SHORT_NAMES) + " (all)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    parser.add_argument(
        "--hold",
        action="store_true",
        help="start and seed everything, print pids and wrk commands, and wait for Ctrl-C "
        "(to profile by hand)",
    )
    parser.add_argument(
        "--serve-bare-grpc", nargs=2, metavar=("PORT", "DSN"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--serve-bare-http", nargs=2, metavar=("PORT", "TARGET"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve_bare_grpc:
        from bench.bare_chain import serve_bare_grpc

        serve_bare_grpc(int(args.serve_bare_grpc[0]), args.serve_bare_grpc[1])
        return 0
    if args.serve_bare_http:
        from bench.bare_chain import serve_bare_http

        serve_bare_http(int(args.serve_bare_http[0]), args.serve_bare_http[1])
        return 0
    chosen = [name.strip() for name in args.paths.split(",") if name.strip()]
    if not chosen or not set(chosen) <= set(SHORT_NAMES):
        parser.error(f"--paths takes some of {','.join(SHORT_NAMES)}")
    args.system = [path for name, path in SHORT_NAMES.items() if name in chosen]
    if args.seconds < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--seconds and --rounds must be at least 1, --warmup at least 0")
    if not 1 <= args.threads <= args.connections <= 1000:
        parser.error("need 1 <= --threads <= --connections <= 1000")
    if not args.threads <= args.sessions <= 100_000:
        parser.error("--sessions must be within --threads..100000")
    try:
        wrk_binary()
    except WrkError as exc:
        print(f"python -m bench: {exc}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="flowpilot-bench-"))
    workdir.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root
    return asyncio.run(_run(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
