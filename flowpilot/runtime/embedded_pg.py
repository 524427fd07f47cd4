"""A private PostgreSQL cluster from the machine's own binaries.

Used by `flowpilot up` (the embedded default) and by the test suite. The cluster
lives in a data directory of its own, listens on a free loopback port with its
socket in the data directory, and runs as the `postgres` user when started by
root (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

SUPERUSER = "postgres"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them, e.g. "
    "`apt-get install postgresql` on Debian/Ubuntu, or set FLOWPILOT_PG_BINDIR, "
    "or point FLOWPILOT_*_DATABASE_URL at an external PostgreSQL."
)


class EmbeddedPostgresError(RuntimeError):
    pass


def candidate_bindirs() -> list[str]:
    """Where PostgreSQL server binaries may be, newest version first."""
    candidates: list[str] = []
    if env := os.environ.get("FLOWPILOT_PG_BINDIR"):
        candidates.append(env)
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += sorted(glob.glob("/usr/pgsql-*/bin"), reverse=True)
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            candidates.append(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
    if initdb := shutil.which("initdb"):
        candidates.append(str(Path(initdb).parent))
    return candidates


def find_bindir(candidates: Sequence[str] | None = None) -> Path:
    """The first directory holding both `initdb` and `pg_ctl`."""
    for candidate in candidate_bindirs() if candidates is None else candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise EmbeddedPostgresError(INSTALL_HINT)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, port: int | None = None, fsync: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or 0
        self._fsync = fsync
        self._bindir = find_bindir()
        self._run_as = self._unprivileged_user()

    @staticmethod
    def _unprivileged_user() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError as exc:
            raise EmbeddedPostgresError(
                "running as root needs a 'postgres' system user to run PostgreSQL as "
                "(it refuses to run as root); `apt-get install postgresql` creates one"
            ) from exc

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "pgsocket"

    def _cmd(self, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._bindir / args[0]), *args[1:]]
        if self._run_as is not None:
            command = ["runuser", "-u", self._run_as.pw_name, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            output = result.stderr.strip() or result.stdout.strip()
            raise EmbeddedPostgresError(f"{args[0]} failed ({result.returncode}): {output}")
        return result

    def _prepare_dirs(self) -> None:
        for path in (self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
        if self._run_as is not None:
            for path in (self.data_dir, self.socket_dir):
                os.chown(path, self._run_as.pw_uid, self._run_as.pw_gid)
            # The postgres user must be able to reach the data dir.
            for parent in self.data_dir.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    raise EmbeddedPostgresError(
                        f"{parent} is not searchable by the postgres user; "
                        "choose a data dir elsewhere (FLOWPILOT_DATA_DIR)"
                    )

    def initdb(self) -> None:
        if (self.cluster_dir / "PG_VERSION").exists():
            return
        self._prepare_dirs()
        self._cmd(
            [
                "initdb",
                "-D",
                str(self.cluster_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )

    def is_running(self) -> bool:
        if not (self.cluster_dir / "postmaster.pid").exists():
            return False
        return (
            self._cmd(["pg_ctl", "status", "-D", str(self.cluster_dir)], check=False).returncode
            == 0
        )

    def start(self, timeout: float = 30.0) -> None:
        self.initdb()
        self._prepare_dirs()
        if self.is_running():
            self.port = self._running_port()
            return
        if not self.port:
            self.port = free_port()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.socket_dir} -c max_connections=300"
        )
        if not self._fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._cmd(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.cluster_dir),
                "-w",
                "-t",
                str(int(timeout)),
                "-l",
                str(self.cluster_dir / "server.log"),
                "-o",
                options,
            ]
        )
        self._wait_accepting(timeout)

    def _running_port(self) -> int:
        lines = (self.cluster_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[3])

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5),
            ):
                return
            time.sleep(0.05)
        raise EmbeddedPostgresError(f"PostgreSQL did not accept connections on port {self.port}")

    def stop(self, mode: str = "fast") -> None:
        if not (self.cluster_dir / "postmaster.pid").exists():
            return
        self._cmd(["pg_ctl", "stop", "-D", str(self.cluster_dir), "-m", mode, "-w"], check=False)

    def pid(self) -> int | None:
        pidfile = self.cluster_dir / "postmaster.pid"
        if not pidfile.exists():
            return None
        return int(pidfile.read_text().splitlines()[0])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(self._bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Creates `name` unless it exists; returns its URL."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if not exists:
            clause = f' TEMPLATE "{template}"' if template else ""
            self.psql(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
