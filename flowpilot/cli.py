"""The `flowpilot` command, and the composition root of the system.

This is the only module that knows the services: `PROCESSES` names every
deployable process, its package and its database, and `serve` imports the
chosen one's entry point. Nothing else in the shared `flowpilot` package
imports a service or the gateway, the services never import each other, and
the gateway never imports a service (`tests/foundation/test_import_rules.py`
checks it); they meet only here and over gRPC.

`flowpilot up` runs the whole system on one machine: embedded PostgreSQL
(unless database URLs are given), migrations, the two gRPC services and the
gateway as child processes started with the very `flowpilot serve ...` and
`flowpilot migrate ...` commands the Kubernetes manifests use.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from flowpilot.runtime.embedded_pg import EmbeddedPostgres
from flowpilot.runtime.settings import Environment, MigrationSettings, Settings, get_settings
from flowpilot.supervisor import ProcessUnit, Supervisor, Unit

# Exit codes a supervisor (Kubernetes, systemd) can tell apart.
EXIT_CONFIG = 2  # the settings are invalid
EXIT_SCHEMA = 3  # the database schema does not fit this code


@dataclass(frozen=True)
class ServiceProcess:
    """A deployable process: what `serve NAME` runs and what it migrates."""

    name: str
    # The Python package holding its migrations; None for the gateway.
    package: str | None = None
    # Its database in the embedded cluster, and the Settings field with its URL.
    database: str | None = None
    url_setting: str | None = None

    def database_url(self, settings: Settings) -> str | None:
        return getattr(settings, self.url_setting) if self.url_setting else None

    @property
    def url_env(self) -> str:
        return f"FLOWPILOT_{(self.url_setting or '').upper()}"


PROCESSES: dict[str, ServiceProcess] = {
    "fixes": ServiceProcess("fixes", "fixes_service", "flowpilot_fixes", "fixes_database_url"),
    "scriptbuilder": ServiceProcess(
        "scriptbuilder",
        "scriptbuilder_service",
        "flowpilot_scriptbuilder",
        "scriptbuilder_database_url",
    ),
    "gateway": ServiceProcess("gateway"),
}
MIGRATED = [p for p in PROCESSES.values() if p.package]


def _check_schema(name: str, settings: Settings) -> int | None:
    """Before serving: the database must be at this code's revision or ahead
    of it within the expand/contract window. A database that is behind is
    waited for (the release's migration Job may still be running); serving
    never migrates."""
    import asyncio

    from flowpilot.runtime.migrations import wait_for_schema

    process = PROCESSES[name]
    url = process.database_url(settings)
    if not process.package or not url:
        return None  # the gateway; or no URL, which the service itself reports
    try:
        status = asyncio.run(
            wait_for_schema(
                process.package,
                url,
                timeout=settings.schema_wait_seconds,
                statement_cache_size=settings.db_statement_cache_size,
            )
        )
    except ConnectionError as exc:
        print(f"flowpilot serve {name}: {exc}", file=sys.stderr)
        return EXIT_SCHEMA
    if not status.serviceable:
        print(f"flowpilot serve {name}: refusing to start: {status.describe()}", file=sys.stderr)
        return EXIT_SCHEMA
    return None


def _serve(name: str, settings: Settings | None = None) -> int:
    if settings is not None and PROCESSES[name].package:
        try:
            settings.page_token_key()  # the services sign page tokens
        except ValueError as exc:
            print(f"flowpilot serve {name}: invalid configuration: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    if settings is not None and (refused := _check_schema(name, settings)) is not None:
        return refused
    main: Callable[[], None]
    if name == "fixes":
        from fixes_service.main import main
    elif name == "scriptbuilder":
        from scriptbuilder_service.main import main
    else:
        from gateway.app import main
    main()
    return 0


def _migrate_one(name: str, url: str, settings: Settings) -> int:
    """Upgrades one database to this code's head; a database already ahead
    and compatible is left alone (a rollback re-running an older Job)."""
    import asyncio

    from flowpilot.runtime.migrations import (
        MigrationLockTimeout,
        SchemaState,
        schema_status,
        upgrade,
    )

    package = PROCESSES[name].package or ""
    try:
        status = asyncio.run(
            schema_status(package, url, statement_cache_size=settings.db_statement_cache_size)
        )
        if status.state is SchemaState.AHEAD_COMPATIBLE:
            print(f"{name}: nothing to do: {status.describe()}")
            return 0
        if status.state is SchemaState.AHEAD_INCOMPATIBLE:
            print(f"flowpilot migrate {name}: {status.describe()}", file=sys.stderr)
            return EXIT_SCHEMA
        upgrade(
            package,
            url,
            lock_timeout_seconds=settings.migration_lock_timeout_seconds,
            lock_wait_seconds=settings.migration_lock_wait_seconds,
            statement_cache_size=settings.db_statement_cache_size,
        )
    except MigrationLockTimeout as exc:
        print(f"flowpilot migrate {name}: {exc}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as exc:
        from flowpilot.runtime.db import parse_database_url

        where = parse_database_url(url).display
        print(
            f"flowpilot migrate {name}: cannot use the database {where}: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
    print(f"migrated {name}")
    return 0


def _migrate(names: Sequence[str], settings: Settings) -> int:
    missing = [n for n in names if not PROCESSES[n].database_url(settings)]
    if missing and settings.env is Environment.PRODUCTION:
        urls = ", ".join(PROCESSES[n].url_env for n in missing)
        print(f"flowpilot migrate: {urls} must be set in production", file=sys.stderr)
        return 2
    if missing:
        # Development convenience: migrate the embedded cluster of the data dir.
        with _embedded_databases(settings) as urls:
            for name in names:
                if code := _migrate_one(name, urls[name], settings):
                    return code
        return 0
    for name in names:
        if code := _migrate_one(name, PROCESSES[name].database_url(settings) or "", settings):
            return code
    return 0


@contextlib.contextmanager
def _embedded_databases(settings: Settings):  # noqa: ANN202 - generator context manager
    """Starts (or reuses) the data dir's cluster; yields a URL per service."""
    cluster = EmbeddedPostgres(settings.data_dir / "postgres")
    was_running = cluster.is_running()
    cluster.start()
    try:
        yield {p.name: cluster.create_database(p.database or "") for p in MIGRATED}
    finally:
        if not was_running:
            cluster.stop()


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from flowpilot.runtime.auth import identity_claim_problem, mint_token

    for option, value in (("--user", args.user), ("--account", args.account)):
        # A token every process would refuse is not worth printing.
        if (problem := identity_claim_problem(value)) is not None:
            print(f"flowpilot token: {option} {problem}", file=sys.stderr)
            return EXIT_CONFIG
    print(
        mint_token(
            settings,
            user_id=args.user,
            account_id=args.account,
            role=args.role,
            ttl_seconds=args.ttl,
        )
    )
    return 0


def source_checkout() -> Path | None:
    """The source checkout this package runs from (an editable install), if any."""
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / "bench" / "__main__.py").is_file():
        return root
    return None


def _bench(extra: Sequence[str], checkout: Path | None) -> int:
    """`flowpilot bench ...` is `python -m bench ...` in the source checkout."""
    if checkout is None:
        print(
            "flowpilot bench: the benchmark is part of the source checkout (bench/), not of "
            "this installation; run `python -m bench` from a checkout of the repository.",
            file=sys.stderr,
        )
        return 2
    return subprocess.call([sys.executable, "-m", "bench", *extra], cwd=checkout)


def _templates_import(args: argparse.Namespace, settings: Settings) -> int:
    """The recipe catalogue as published templates of an account."""
    import asyncio

    from flowpilot.runtime.errors import DomainError
    from scriptbuilder_service.domain.recipe_import import Outcome
    from scriptbuilder_service.main import template_import
    from scriptbuilder_service.recipes import load_recipes

    process = PROCESSES["scriptbuilder"]

    async def run(url: str) -> int:
        try:
            async with template_import(settings, database_url=url) as importer:
                results = await importer.import_recipes(
                    load_recipes(),
                    account_id=args.account,
                    user_id=args.user,
                    dry_run=args.dry_run,
                )
        except DomainError as exc:
            print(f"flowpilot templates import: {exc.message}", file=sys.stderr)
            return 2
        for item in results:
            print(f"{item.outcome:<9}  {item.recipe_id} ({item.language})  {item.template_id}")
        counts = {o: sum(r.outcome is o for r in results) for o in Outcome}
        imported = len(results) - counts[Outcome.STALE]
        print(
            f"{'dry run, nothing written: ' if args.dry_run else ''}"
            f"{imported} templates for account {args.account.strip()}: "
            + ", ".join(f"{counts[o]} {o}" for o in Outcome)
        )
        return 0

    url = process.database_url(settings)
    if url:
        return asyncio.run(run(url))
    if settings.env is Environment.PRODUCTION:
        print(f"flowpilot templates import: {process.url_env} must be set", file=sys.stderr)
        return 2
    with _embedded_databases(settings) as urls:
        from flowpilot.runtime.migrations import upgrade

        upgrade(process.package or "", urls[process.name])
        return asyncio.run(run(urls[process.name]))


# The servers, started in this order and stopped in the reverse one: the
# gateway first, so no new calls reach the services while they drain.
SERVERS = ("fixes", "scriptbuilder", "gateway")
READY_WITHIN_SECONDS = 60


class _PostgresUnit:
    """The embedded PostgreSQL as a supervised unit (its postmaster is a
    daemon, not our child: watched by its pid file)."""

    name = "postgresql"

    def __init__(self, cluster: EmbeddedPostgres) -> None:
        self._cluster = cluster

    def start(self) -> None:
        self._cluster.start()

    def exit_code(self) -> int | None:
        pid = self._cluster.pid()
        if pid is not None:
            try:
                os.kill(pid, 0)
                return None
            except ProcessLookupError:
                pass
            except PermissionError:
                return None  # alive, as another user
        return -signal.SIGKILL if pid is not None else 1

    def stop(self, grace: float) -> None:
        self._cluster.stop()


def _wait_ready(url: str, supervisor: Supervisor, stopping: Callable[[], bool]) -> bool:
    """Waits for the aggregate /readyz (every service serving, and the
    script-builder reaching the fixes service), restarting what crashes
    meanwhile. False when a stop was requested first."""
    import httpx

    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if stopping():
            return False
        supervisor.check()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return True
        time.sleep(0.1)
    raise RuntimeError(f"the system was not ready within {READY_WITHIN_SECONDS}s ({url}/readyz)")


def _up(settings: Settings) -> int:
    from flowpilot.runtime.auth import mint_token

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["FLOWPILOT_DATA_DIR"] = str(settings.data_dir.resolve())
    secret = settings.resolved_jwt_secret()
    if secret:
        env["FLOWPILOT_JWT_SECRET"] = secret
    env["FLOWPILOT_FIXES_TARGET"] = f"127.0.0.1:{settings.fixes_grpc_port}"
    env["FLOWPILOT_SCRIPTBUILDER_TARGET"] = f"127.0.0.1:{settings.scriptbuilder_grpc_port}"

    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    cluster: EmbeddedPostgres | None = None
    if not all(p.database_url(settings) for p in MIGRATED):
        cluster = EmbeddedPostgres(settings.data_dir / "postgres")
        cluster.start()
        for process in MIGRATED:
            env[process.url_env] = cluster.create_database(process.database or "")
        print(
            f"embedded PostgreSQL on 127.0.0.1:{cluster.port} ({cluster.cluster_dir})", flush=True
        )

    command = [sys.executable, "-m", "flowpilot.cli"]
    servers = [ProcessUnit(name, [*command, "serve", name], env) for name in SERVERS]
    units: list[Unit] = [*servers]
    if cluster is not None:
        units.insert(0, _PostgresUnit(cluster))
    supervisor = Supervisor(units)
    try:
        for process in MIGRATED:
            subprocess.run([*command, "migrate", process.name], env=env, check=True)
        for server in servers:
            server.start()
        url = f"http://127.0.0.1:{settings.http_port}"
        if not _wait_ready(url, supervisor, lambda: stop_requested):
            return 0
        token_settings = settings.model_copy(update={"jwt_secret": secret})
        token = mint_token(
            token_settings,
            user_id="dev-engineer",
            account_id="dev-account",
            role="engineer",
            ttl_seconds=86_400,
        )
        # The token rides in the URL fragment, which browsers never send to a
        # server; the console moves it to sessionStorage and out of the address bar.
        print(
            f"\nFlowPilot is up: {url}  (API docs: {url}/docs)\n"
            f"Web console, development sign-in link (engineer, 24 h; keep it private):\n"
            f"  {url}/#token={token}\n"
            f"Development token (engineer, 24 h):\n  export TOKEN={token}\n"
            f'  curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/ai-sessions\n'
            "Ctrl-C stops everything; a process that crashes is restarted.",
            flush=True,
        )
        while not stop_requested:
            supervisor.check()
            time.sleep(0.1)
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        # GaveUp is a RuntimeError: a crash loop, or a child that cannot start.
        print(f"flowpilot up failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        # Ignore a second Ctrl-C while stopping: the stop itself is bounded.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop_all(
            [*reversed(SERVERS), *([_PostgresUnit.name] if cluster is not None else [])],
            grace=settings.shutdown_grace_seconds + 5,
        )
        print("stopped", flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowpilot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser(
        "up", help="run the whole system on this machine (embedded PostgreSQL by default)"
    )

    serve = commands.add_parser(
        "serve", help="run one process (what each Kubernetes Deployment runs)"
    )
    serve.add_argument("process", choices=sorted(PROCESSES))

    migrate = commands.add_parser(
        "migrate", help="apply database migrations (alembic upgrade head)"
    )
    migrate.add_argument(
        "service", nargs="?", default="all", choices=[*sorted(p.name for p in MIGRATED), "all"]
    )

    token = commands.add_parser("token", help="print a JWT signed with the configured secret")
    token.add_argument("--user", required=True)
    token.add_argument("--account", required=True)
    token.add_argument("--role", required=True, choices=["engineer", "admin", "viewer"])
    token.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")

    commands.add_parser("codegen", help="regenerate the Python stubs from protos/")

    templates = commands.add_parser("templates", help="the script template library")
    template_commands = templates.add_subparsers(dest="templates_command", required=True)
    importer = template_commands.add_parser(
        "import",
        help="load the recipe catalogue as published templates of an account (idempotent)",
    )
    importer.add_argument("--account", required=True, help="the account that gets the templates")
    importer.add_argument(
        "--user",
        default="flowpilot-catalogue",
        help="recorded as the templates' creator (default flowpilot-catalogue)",
    )
    importer.add_argument(
        "--dry-run", action="store_true", help="report what would change; write nothing"
    )

    # Its options (--split, --verbose, --json, --min-hit-rate) belong to the evaluation.
    commands.add_parser(
        "drafter-eval",
        help="hit rate of the recipe drafter on the evaluation requests",
        add_help=False,
    )

    # Its options (--seconds, --concurrency, ...) belong to `python -m bench`.
    commands.add_parser(
        "bench",
        help="python -m bench, in a source checkout: PATCH .../script through the gateway, "
        "over gRPC and through a bare chain",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":
        return _bench(extra, source_checkout())
    if args.command == "drafter-eval":
        from scriptbuilder_service.recipes.evaluate import main as evaluate_main

        return evaluate_main(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "codegen":
        from flowpilot.runtime.codegen import main as codegen_main

        return codegen_main()
    try:
        # A migration needs only its database URL (the Job gets no JWT key).
        settings = MigrationSettings() if args.command == "migrate" else get_settings()
    except ValueError as exc:  # pydantic's ValidationError is one; values are never echoed
        print(f"flowpilot {args.command}: invalid configuration: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "serve":
        return _serve(args.process, settings)
    if args.command == "migrate":
        names = [p.name for p in MIGRATED] if args.service == "all" else [args.service]
        return _migrate(names, settings)
    if args.command == "token":
        return _token(args, settings)
    if args.command == "templates":
        return _templates_import(args, settings)
    return _up(settings)


if __name__ == "__main__":
    sys.exit(main())
