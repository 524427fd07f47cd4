"""`python -m bench.analytics` runs end to end on a small load: it builds the
fixes use cases the way the service does and calls every analytics query.
Nothing here is timed; the command prints the latencies."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from flowpilot.runtime.codegen import PROJECT_ROOT

pytestmark = pytest.mark.integration  # a process with its own PostgreSQL


def test_a_small_load_prints_every_query_with_the_runs_it_counted() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.analytics", "--runs", "2000", "--calls", "1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout.split("analytics on 2,000 runs", 1)[1]
    rows = re.findall(r"^(acct-\S+ +\d+ d .*?) +([\d,]+) +([\d.]+) +([\d.]+)$", table, re.M)
    # Two accounts, each: totals and six dimensions over 30 and 365 days, two success rates.
    assert len(rows) == 2 * (2 * 7 + 2), table
    counted = {" ".join(name.split()): int(runs.replace(",", "")) for name, runs, _, _ in rows}
    # Half the runs are the big account's, spread over a year.
    assert 0 < counted["acct-big 30 d totals"] < counted["acct-big 365 d totals"] <= 1000
