"""A real PgBouncer for the tests, configured from the shipped
`deploy/components/pgbouncer/pgbouncer.ini` with only what differs on a test
machine replaced: the listen address, the database route (every database of
the test cluster), trust authentication and plaintext to PostgreSQL."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port

SHIPPED_INI = Path(__file__).resolve().parents[1] / "deploy/components/pgbouncer/pgbouncer.ini"
# Keys of the [pgbouncer] section the test replaces; everything else (pool
# mode, pool sizes, timeouts) is exactly what the component deploys.
TEST_ONLY = {
    "listen_addr": "127.0.0.1",
    "auth_type": "trust",
    "server_tls_sslmode": "disable",
    # Every test clones its own databases: let idle pools go quickly.
    "server_idle_timeout": "10",
    "admin_users": "postgres",
    # Hand out server connections in turn instead of the most recently used
    # one first. A lightly loaded PgBouncer would otherwise give a client the
    # same server connection again and again, and a prepared statement that
    # outlives its transaction would go unnoticed; in turn, the very next
    # transaction of a client lands on another server connection, as it does
    # in production under load.
    "server_round_robin": "1",
}
# The test machine's PgBouncer (Debian's 1.18) predates track_extra_parameters
# (1.20): without it the services fall back to their client-side bound, which
# tests/gateway/test_e2e_pgbouncer.py checks.
DROPPED = ("server_tls_ca_file", "track_extra_parameters")


def find_pgbouncer() -> str:
    path = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )
    if path is None:
        raise RuntimeError(
            "pgbouncer is not installed: `bash .ci/install` installs Debian's pgbouncer"
        )
    return path


def test_config(directory: Path, pg: EmbeddedPostgres, port: int) -> str:
    """The shipped ini, pointed at the test cluster."""
    lines: list[str] = []
    section = ""
    for raw in SHIPPED_INI.read_text().splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        if line.startswith("%include"):
            lines.append(f"* = host=127.0.0.1 port={pg.port}")
            continue
        key = line.split("=", 1)[0].strip()
        if section == "[pgbouncer]" and "=" in line and not line.startswith(";"):
            if key in DROPPED:
                continue
            if key in TEST_ONLY:
                lines.append(f"{key} = {TEST_ONLY.pop(key)}")
                continue
            if key == "listen_port":
                lines.append(f"listen_port = {port}")
                continue
            if key == "auth_file":
                lines.append(f"auth_file = {directory / 'userlist.txt'}")
                continue
        lines.append(raw)
    lines += [f"{key} = {value}" for key, value in TEST_ONLY.items()]
    return "\n".join(lines) + "\n"


class PgBouncer:
    def __init__(self, directory: Path, pg: EmbeddedPostgres) -> None:
        self.directory = directory
        self.port = free_port()
        self.pg = pg
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        ini = self.directory / "pgbouncer.ini"
        ini.write_text(test_config(self.directory, self.pg, self.port))
        (self.directory / "userlist.txt").write_text('"postgres" ""\n')
        command = [find_pgbouncer(), str(ini)]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            user = pwd.getpwnam("postgres")
            for path in (self.directory, ini, self.directory / "userlist.txt"):
                os.chown(path, user.pw_uid, user.pw_gid)
            command = ["runuser", "-u", "postgres", "--", *command]
        log = (self.directory / "pgbouncer.log").open("wb")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not listen on {self.port}: {self.log()}")

    def log(self) -> str:
        return (self.directory / "pgbouncer.log").read_text(errors="replace")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def route(self, cluster_url: str) -> str:
        """The same database, reached through PgBouncer."""
        return self.url(cluster_url.rsplit("/", 1)[1])

    def admin(self, command: str) -> str:
        """A command on PgBouncer's admin console (simple query protocol)."""
        psql = str(self.pg._bindir / "psql")  # the cluster's own client
        where = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "pgbouncer"]
        result = subprocess.run(
            [psql, *where, "-tA", "-c", command],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return result.stdout

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
