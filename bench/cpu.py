"""CPU time the benchmark's processes spend, per phase: on a shared 2-core
machine req/s moves with whatever else runs, while CPU milliseconds per
request of each process stay put, so they say where a path's cost goes.
And how the machine's CPU time went meanwhile (`MachineShare`): what nobody
used, and what the hypervisor gave to other guests."""

from __future__ import annotations

import contextlib
import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
# /proc/stat's first line: user nice system idle iowait irq softirq steal (guest
# time is inside user already).
_IDLE, _IOWAIT, _STEAL = 3, 4, 7


def machine_ticks() -> tuple[int, ...]:
    """The whole machine's CPU ticks so far, by kind, or () where there is no
    /proc/stat."""
    with contextlib.suppress(OSError), open("/proc/stat") as stat:
        return tuple(int(value) for value in stat.readline().split()[1:9])
    return ()


@dataclass(frozen=True)
class MachineShare:
    """How the machine's CPU time went between two `machine_ticks()`, as
    fractions of it. `idle` (idle, or waiting on I/O) is capacity nobody
    used; `steal` is what the hypervisor gave to other guests: a round with
    more steal serves fewer req/s at the same CPU per request."""

    idle: float
    steal: float

    @classmethod
    def between(cls, before: tuple[int, ...], after: tuple[int, ...]) -> MachineShare:
        if not before or len(before) != len(after):
            return cls(0.0, 0.0)
        spent = [end - start for start, end in zip(before, after, strict=True)]
        total = sum(spent)
        if total <= 0:
            return cls(0.0, 0.0)
        return cls((spent[_IDLE] + spent[_IOWAIT]) / total, spent[_STEAL] / total)


def _stat_fields(pid: int) -> list[str] | None:
    with contextlib.suppress(OSError):
        text = Path(f"/proc/{pid}/stat").read_text()
        # The command name is in parentheses and may hold spaces.
        return text[text.rindex(")") + 2 :].split()
    return None


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 once it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the name: state(3) ppid(4) ... utime(14) stime(15), 1-based in proc(5).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def reaped_children_cpu_seconds(pid: int) -> float:
    """CPU of the children `pid` has waited for (PostgreSQL's ended backends)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / _TICKS  # cutime(16), cstime(17)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class CpuMeter:
    """CPU seconds of named processes, of PostgreSQL's backends (children of
    the postmaster, summed) and of this process's reaped children (wrk)."""

    processes: dict[str, int]
    postmaster: int | None
    _start: dict[str, float] = field(default_factory=dict)
    _backends: dict[int, float] = field(default_factory=dict)
    _ticks: tuple[int, ...] = ()

    def _postgres(self) -> dict[int, float]:
        """CPU by backend; key 0 holds the postmaster's own and its ended
        backends' (a backend that ends during a phase counts whole: pool churn
        shows)."""
        if self.postmaster is None:
            return {}
        spent = {pid: process_cpu_seconds(pid) for pid in children_of(self.postmaster)}
        spent[0] = process_cpu_seconds(self.postmaster) + reaped_children_cpu_seconds(
            self.postmaster
        )
        return spent

    @staticmethod
    def _reaped() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def start(self) -> None:
        self._start = {name: process_cpu_seconds(pid) for name, pid in self.processes.items()}
        self._start["wrk"] = self._reaped()
        self._backends = self._postgres()
        self._ticks = machine_ticks()

    def stop(self) -> dict[str, float]:
        """CPU seconds per process since start(): named ones, postgres, wrk."""
        spent = {
            name: max(0.0, process_cpu_seconds(pid) - self._start[name])
            for name, pid in self.processes.items()
        }
        now = self._postgres()
        # A backend born during the phase counts from zero.
        spent["postgres"] = sum(
            max(0.0, cpu - self._backends.get(pid, 0.0)) for pid, cpu in now.items()
        )
        spent["wrk"] = max(0.0, self._reaped() - self._start["wrk"])
        return spent

    def machine(self) -> MachineShare:
        """How the machine's CPU time went since start()."""
        return MachineShare.between(self._ticks, machine_ticks())
