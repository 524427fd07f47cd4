"""Child processes of `flowpilot up`, kept running.

A child (a server process, or the embedded PostgreSQL) that exits on its own
is restarted after an exponential backoff, with a line on stderr saying so.
A child that keeps crashing (`RestartPolicy.max_crashes` within `window`
seconds), or that exits with a code no restart can fix (invalid settings, a
schema that does not fit), makes the supervisor give up loudly (`GaveUp`), and
`flowpilot up` stops everything.

`RestartPolicy` is the pure decision, tested without processes; `Supervisor`
applies it to real ones, each in its own process group (so a terminal's
Ctrl-C reaches `flowpilot up` alone, which stops the children in order) and
asked to receive SIGTERM if `flowpilot up` itself dies.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Exit codes of `flowpilot serve` that a restart cannot fix (see flowpilot.cli).
PERMANENT_EXIT_CODES = frozenset({2, 3})
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 0.5
    max_delay: float = 8.0
    # Giving up: this many crashes of one child within `window` seconds.
    max_crashes: int = 5
    window: float = 60.0

    def delay(self, crashes: Sequence[float], now: float) -> float | None:
        """Seconds to wait before restarting a child that crashed at the
        monotonic times `crashes` (the latest included); None: give up.
        Crashes older than the window are forgotten, so a child that ran
        steadily for a while starts again from `first_delay`."""
        recent = sum(1 for at in crashes if now - at < self.window)
        if recent >= self.max_crashes:
            return None
        return min(self.max_delay, self.first_delay * 2 ** max(0, recent - 1))


class GaveUp(RuntimeError):
    """A child crashes in a loop, or cannot start at all."""


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux), so
    that a `flowpilot up` killed with SIGKILL leaves no servers behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Unit(Protocol):
    """Something `Supervisor` keeps running."""

    name: str

    def start(self) -> None: ...

    def exit_code(self) -> int | None:
        """None while it runs; else how it ended."""
        ...

    def stop(self, grace: float) -> None: ...


class ProcessUnit:
    """A server process (`flowpilot serve NAME`)."""

    def __init__(self, name: str, command: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self._command = list(command)
        self._env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self._command,
            env=self._env,
            # Its own process group: a terminal's Ctrl-C reaches `flowpilot
            # up` alone, which stops the children in order.
            process_group=0,
            # (preexec_fn is safe here: the parent runs no other thread.)
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, grace: float) -> None:
        """SIGTERM, up to `grace` seconds for a graceful stop, then SIGKILL."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class _Watched:
    unit: Unit
    crashes: list[float] = field(default_factory=list)
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        units: Sequence[Unit],
        *,
        policy: RestartPolicy | None = None,
        say: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._watched = {unit.name: _Watched(unit) for unit in units}
        self._policy = policy or RestartPolicy()
        self._say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self._clock = clock

    def start_all(self) -> None:
        for watched in self._watched.values():
            watched.unit.start()

    def check(self) -> None:
        """Notices units that ended and restarts those whose backoff is over.
        Raises `GaveUp` for a crash loop or a permanent failure."""
        now = self._clock()
        for watched in self._watched.values():
            unit = watched.unit
            if watched.restart_at is not None:
                if now >= watched.restart_at:
                    watched.restart_at = None
                    self._say(f"flowpilot up: restarting {unit.name}")
                    unit.start()
                continue
            code = unit.exit_code()
            if code is None:
                continue
            what = f"{unit.name} {describe_exit(code)}"
            if code in PERMANENT_EXIT_CODES:
                raise GaveUp(f"{what}, which a restart cannot fix; giving up")
            watched.crashes.append(now)
            delay = self._policy.delay(watched.crashes, now)
            if delay is None:
                raise GaveUp(
                    f"{what}: {self._policy.max_crashes} crashes within "
                    f"{self._policy.window:g} s; giving up"
                )
            watched.restart_at = now + delay
            self._say(f"flowpilot up: {what}; restarting it in {delay:g} s")

    def stop_all(self, order: Sequence[str], grace: float) -> None:
        """Stops the units in `order` (each gets `grace` seconds), restarting none."""
        for name in order:
            watched = self._watched[name]
            watched.restart_at = None
            watched.unit.stop(grace)
