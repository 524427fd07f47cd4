"""Running wrk with `bench/wrk.lua`, and reading what it prints.

The Lua script's done() hook prints one line, `flowpilot-wrk key=value ...`,
with the exact counts and percentiles; `parse_wrk_output` reads that line from
wrk's whole output (wrk's own report, with `--latency`, stays above it for a
person reading the log).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("wrk.lua")
MODES = ("patch-gateway", "patch-bare", "inline", "get")
_PREFIX = "flowpilot-wrk "
_INTEGER_FIELDS = (
    "requests",
    "duration_us",
    "p50_us",
    "p90_us",
    "p99_us",
    "max_us",
    "non2xx",
    "connect_errors",
    "read_errors",
    "write_errors",
    "timeouts",
)


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed nothing the benchmark can read."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_us: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    non2xx: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts

    @property
    def p50_ms(self) -> float:
        return self.p50_us / 1000

    @property
    def p99_ms(self) -> float:
        return self.p99_us / 1000


def parse_wrk_output(text: str) -> WrkResult:
    """The result line of `bench/wrk.lua` in wrk's output; WrkError without one."""
    lines = [line for line in text.splitlines() if line.startswith(_PREFIX)]
    if len(lines) != 1:
        raise WrkError(f"expected one '{_PREFIX.strip()}' line in wrk's output, got {len(lines)}")
    fields: dict[str, str] = {}
    for pair in lines[0][len(_PREFIX) :].split():
        key, sep, value = pair.partition("=")
        if not sep:
            raise WrkError(f"not key=value in wrk's result line: {pair!r}")
        fields[key] = value
    missing = [name for name in (*_INTEGER_FIELDS, "statuses") if name not in fields]
    if missing:
        raise WrkError(f"wrk's result line lacks {', '.join(missing)}")
    try:
        numbers = {name: int(float(fields[name])) for name in _INTEGER_FIELDS}
        statuses: Counter[int] = Counter()
        if fields["statuses"] != "-":
            for item in fields["statuses"].split(","):
                code, _, count = item.partition(":")
                statuses[int(code)] += int(count)
    except ValueError as exc:
        raise WrkError(f"unreadable number in wrk's result line: {exc}") from None
    return WrkResult(**numbers, statuses=dict(sorted(statuses.items())))


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError(
            "wrk is not installed: `bash .ci/install` installs it (Debian package 'wrk'), "
            "or `apt-get install wrk`"
        )
    return found


def wrk_command(
    url: str,
    mode: str,
    targets: Path,
    token: str,
    *,
    seconds: float,
    threads: int,
    connections: int,
) -> list[str]:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    return [
        wrk_binary(),
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        "--latency",
        f"--script={LUA_SCRIPT}",
        url,
        "--",
        mode,
        str(targets),
        token,
        str(threads),
        # Tags this run's scripts (see wrk.lua): nanoseconds, unique per run.
        str(time.time_ns()),
    ]


def _append(path: Path, text: str) -> None:
    with path.open("a") as handle:
        handle.write(text)


async def run_wrk(command: list[str], log: Path) -> WrkResult:
    """Runs one wrk phase, appends its output to `log`, and reads its result line."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    shown = [*command[:-3], "<token>", *command[-2:]]
    await asyncio.to_thread(_append, log, f"$ {' '.join(shown)}\n{text}\n")
    if process.returncode != 0:
        raise WrkError(f"wrk exited with {process.returncode}: {text.strip()[-500:]}")
    return parse_wrk_output(text)
