"""The embedded cluster starts, serves, stops, and leaves no process behind."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowpilot.runtime.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError, find_bindir
from tests.conftest import postgres_dir

pytestmark = pytest.mark.integration  # real PostgreSQL clusters


@pytest.fixture
def pg_home() -> Iterator[Path]:
    with postgres_dir() as path:
        yield path


def test_unreachable_data_dir_is_explained(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    # pytest's tmp dirs are 0700: the postgres user cannot reach inside.
    with pytest.raises(EmbeddedPostgresError, match="not searchable by the postgres user"):
        EmbeddedPostgres(tmp_path / "pg").start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    state = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    )
    return state != "Z"


def test_start_serve_stop(pg_home: Path) -> None:
    cluster = EmbeddedPostgres(pg_home / "pg", fsync=False)
    cluster.start()
    pid = cluster.pid()
    assert pid and _alive(pid)
    url = cluster.create_database("flowpilot_fixes")
    assert url.endswith(f"127.0.0.1:{cluster.port}/flowpilot_fixes")
    assert cluster.psql("SELECT current_database()", "flowpilot_fixes") == "flowpilot_fixes"
    assert cluster.psql("SELECT current_setting('listen_addresses')") == "127.0.0.1"
    # Creating an existing database is a no-op, so `flowpilot up` can restart.
    cluster.create_database("flowpilot_fixes")
    cluster.stop()
    assert not _alive(pid)
    leftover = subprocess.run(
        ["pgrep", "-f", str(cluster.cluster_dir)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout.strip() == ""
    # A second start reuses the same cluster directory.
    cluster.start()
    assert cluster.psql("SELECT count(*) FROM pg_database WHERE datname='flowpilot_fixes'") == "1"
    cluster.stop()


def test_runs_as_unprivileged_user_when_root(pg_home: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only meaningful as root")
    with EmbeddedPostgres(pg_home / "pg", fsync=False) as cluster:
        pid = cluster.pid()
        assert pid is not None
        assert Path(f"/proc/{pid}").stat().st_uid != 0


def test_missing_binaries_name_the_package(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedPostgresError, match="apt-get install postgresql"):
        find_bindir([str(tmp_path)])
