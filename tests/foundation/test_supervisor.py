"""`flowpilot up`'s supervision (issue 9, point 9): the restart policy as
pure code, then the supervisor on real (tiny) processes."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowpilot.supervisor import GaveUp, ProcessUnit, RestartPolicy, Supervisor, describe_exit

# Real child processes (short Python programs) under the supervisor.
pytestmark = pytest.mark.integration

POLICY = RestartPolicy(first_delay=0.5, max_delay=8, max_crashes=5, window=60)


@pytest.mark.parametrize(
    ("crashes", "now", "expected"),
    [
        ([100.0], 100.0, 0.5),
        ([99.0, 100.0], 100.0, 1.0),
        ([98.0, 99.0, 100.0], 100.0, 2.0),
        ([97.0, 98.0, 99.0, 100.0], 100.0, 4.0),
        ([96.0, 97.0, 98.0, 99.0, 100.0], 100.0, None),  # the 5th within a minute: give up
        ([0.0, 10.0, 20.0, 100.0], 100.0, 0.5),  # old crashes are forgotten
        ([41.0, 100.0], 100.0, 1.0),  # 59 s ago still counts
        ([40.0, 100.0], 100.0, 0.5),  # 60 s ago does not
    ],
)
def test_restart_policy(crashes: list[float], now: float, expected: float | None) -> None:
    assert POLICY.delay(crashes, now) == expected


def test_restart_delay_is_capped() -> None:
    patient = RestartPolicy(first_delay=1, max_delay=3, max_crashes=100, window=60)
    assert [patient.delay([0.0] * n, 0.0) for n in range(1, 6)] == [1, 2, 3, 3, 3]


@pytest.mark.parametrize(
    ("code", "text"),
    [(1, "exited with code 1"), (0, "exited with code 0"), (-9, "was killed by SIGKILL")],
)
def test_describe_exit(code: int, text: str) -> None:
    assert describe_exit(code) == text


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


FAST = RestartPolicy(first_delay=0.05, max_delay=0.2, max_crashes=3, window=60)


@pytest.fixture
def said() -> list[str]:
    return []


@pytest.fixture
def supervised() -> Iterator[list[ProcessUnit]]:
    units: list[ProcessUnit] = []
    yield units
    for unit in units:
        unit.stop(grace=1)


def _until(condition: Callable[[], object], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_killed_child_is_restarted_with_a_log_line(
    said: list[str], supervised: list[ProcessUnit]
) -> None:
    unit = ProcessUnit("sleeper", python("import time; time.sleep(60)"), {})
    supervised.append(unit)
    supervisor = Supervisor([unit], policy=FAST, say=said.append)
    supervisor.start_all()
    first = unit.pid
    assert first is not None
    assert unit.process is not None
    unit.process.send_signal(signal.SIGKILL)

    def restarted() -> bool:
        supervisor.check()
        return unit.pid != first and unit.exit_code() is None

    _until(restarted)
    assert said[0] == "flowpilot up: sleeper was killed by SIGKILL; restarting it in 0.05 s"
    assert said[1] == "flowpilot up: restarting sleeper"


def test_a_crash_loop_is_given_up_loudly(said: list[str], supervised: list[ProcessUnit]) -> None:
    unit = ProcessUnit("crasher", python("raise SystemExit(1)"), {})
    supervised.append(unit)
    supervisor = Supervisor([unit], policy=FAST, say=said.append)
    supervisor.start_all()
    with pytest.raises(GaveUp, match="crasher exited with code 1: 3 crashes within 60 s"):
        _until(lambda: supervisor.check() or False)
    assert said.count("flowpilot up: restarting crasher") == 2  # started 3 times in all


@pytest.mark.parametrize("code", [2, 3])
def test_a_permanent_failure_is_not_retried(
    code: int, said: list[str], supervised: list[ProcessUnit]
) -> None:
    """Invalid settings (2) or a schema that does not fit (3): no restart helps."""
    unit = ProcessUnit("misconfigured", python(f"raise SystemExit({code})"), {})
    supervised.append(unit)
    supervisor = Supervisor([unit], policy=FAST, say=said.append)
    supervisor.start_all()
    with pytest.raises(GaveUp, match="cannot fix"):
        _until(lambda: supervisor.check() or False)
    assert said == []


def test_stop_all_stops_in_order_and_restarts_nothing(
    tmp_path: Path, said: list[str], supervised: list[ProcessUnit]
) -> None:
    """SIGTERM in the order given, each waited for; a pending restart is dropped."""
    record = tmp_path / "order"
    ready = tmp_path / "ready"
    graceful = (
        "import signal, sys, time\n"
        "def bye(*_):\n"
        f"    open({str(record)!r}, 'a').write(sys.argv[1] + '\\n'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        f"open({str(ready)!r}, 'a').write(sys.argv[1] + '\\n')\n"
        "time.sleep(60)\n"
    )
    units = [
        ProcessUnit(name, [sys.executable, "-c", graceful, name], {}) for name in ("a", "b", "c")
    ]
    supervised.extend(units)
    crasher = ProcessUnit("crasher", python("raise SystemExit(1)"), {})
    supervised.append(crasher)
    supervisor = Supervisor([*units, crasher], policy=RestartPolicy(first_delay=30))
    supervisor.start_all()
    _until(lambda: crasher.exit_code() is not None)
    supervisor.check()  # the crasher's restart is now pending, 30 s away
    # Every sleeper has installed its handler (a loaded machine starts Python slowly).
    _until(lambda: ready.exists() and len(ready.read_text().split()) == 3)
    supervisor.stop_all(["c", "a", "b", "crasher"], grace=10)
    assert record.read_text().split() == ["c", "a", "b"]
    assert all(unit.exit_code() == 0 for unit in units)
    supervisor.check()
    assert crasher.exit_code() == 1  # not started again
