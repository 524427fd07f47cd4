"""Fixtures shared by the whole suite: a real PostgreSQL started by the test
run, fresh migrated databases per test, tokens, and the three processes served
in-process on port 0 (gRPC servers on the test's event loop, the gateway by
uvicorn over real HTTP); and the speed tiers.

Every test is in exactly one tier (README, "Tests"): `unit` (pure code),
`integration` (a real database, gRPC servers in-process, or one tool in a
subprocess) or `e2e` (the whole system over HTTP, or separate processes). A
test's tier is what it says (`@pytest.mark.e2e`, or a module's `pytestmark`),
else what its fixtures bring up, else `unit`. Unit tests may not open sockets
or start processes: the guard below fails them if they do, so the pure tier
stays pure and fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import grpc
import pytest

from flowpilot.runtime.auth import mint_token
from flowpilot.runtime.embedded_pg import EmbeddedPostgres, free_port
from flowpilot.runtime.migrations import upgrade
from flowpilot.runtime.server import GrpcServer
from flowpilot.runtime.settings import Settings
from tests.support.gateway import both_services
from tests.support.ports import port_to_dial_early
from tests.support.tokens import TEST_JWT_SECRET

SERVICE_PACKAGES = ("fixes_service", "scriptbuilder_service")

TokenFactory = Callable[..., str]
DatabaseFactory = Callable[[str], str]

TIERS = ("unit", "integration", "e2e")
# Fixtures that bring up real parts; a test using one (directly or through
# another fixture) is in at least that tier.
INTEGRATION_FIXTURES = frozenset(
    {
        "pg",
        "database_factory",
        "fixes_server",
        "scriptbuilder_server",
        "fake_stack",
        "widget_stack",
    }
)
E2E_FIXTURES = frozenset({"gateway_url"})
# Suites that render or lint files with external tools.
INTEGRATION_DIRS = ("tests/deploy/",)
# A module-level tier that is not `unit`: the module holds no unit test.
MODULE_TIER = re.compile(r"^pytestmark = .*\bpytest\.mark\.(integration|e2e)\b", re.MULTILINE)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`-m unit` does not even import what holds no unit test: importing the
    servers, FastAPI and the database drivers would be most of its time."""
    if config.option.markexpr != "unit":
        return None
    relative = collection_path.relative_to(config.rootpath).as_posix()
    if collection_path.is_dir():
        return True if f"{relative}/".startswith(INTEGRATION_DIRS) else None
    if collection_path.name.startswith("test_") and collection_path.suffix == ".py":
        return True if MODULE_TIER.search(collection_path.read_text()) else None
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Gives every test its tier before `-m` selects (tryfirst)."""
    for item in items:
        # The closest tier mark wins: a test's own over its module's.
        stated = next((m.name for m in item.iter_markers() if m.name in TIERS), None)
        module_marks = getattr(getattr(item, "module", None), "pytestmark", [])
        module_marks = module_marks if isinstance(module_marks, list) else [module_marks]
        if stated == "unit" and any(m.name in TIERS[1:] for m in module_marks):
            raise pytest.UsageError(f"{item.nodeid}: a unit test in a module marked slower")
        if stated is None:
            used = set(getattr(item, "fixturenames", ()))
            if used & E2E_FIXTURES:
                stated = "e2e"
            elif used & INTEGRATION_FIXTURES or item.nodeid.startswith(INTEGRATION_DIRS):
                stated = "integration"
            else:
                stated = "unit"
            item.add_marker(stated)
        if item.get_closest_marker("schemathesis") and stated != "e2e":
            raise pytest.UsageError(f"{item.nodeid}: schemathesis tests are e2e")


def _no_io(what: str) -> Callable[..., object]:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError(f"a unit test may not {what}; mark it integration (or e2e) instead")

    return refuse


@pytest.fixture(autouse=True)
def _unit_tests_stay_pure(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("unit") is None:
        return
    monkeypatch.setattr(socket.socket, "connect", _no_io("open a connection"))
    monkeypatch.setattr(socket.socket, "bind", _no_io("listen on a socket"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _no_io("start a process"))


@contextlib.contextmanager
def postgres_dir() -> Iterator[Path]:
    """A directory the `postgres` user can reach (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="flowpilot-test-pg-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    with postgres_dir() as data_dir:
        cluster = EmbeddedPostgres(data_dir, fsync=False)
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop("immediate")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        jwt_secret=TEST_JWT_SECRET,
        data_dir=Path(tmp_path_factory.mktemp("data")),
        fixes_call_timeout_seconds=2.0,
        shutdown_grace_seconds=2.0,
        template_proposal_poll_seconds=0.2,
        log_format="text",
    )


@pytest.fixture(scope="session")
def make_token(settings: Settings) -> TokenFactory:
    def factory(
        user_id: str | None = None,
        account_id: str = "acct-1",
        role: str = "engineer",
        ttl_seconds: int = 3600,
    ) -> str:
        return mint_token(
            settings,
            user_id=user_id or f"user-{uuid.uuid4().hex[:8]}",
            account_id=account_id,
            role=role,
            ttl_seconds=ttl_seconds,
        )

    return factory


@pytest.fixture(scope="session")
def database_factory(pg: EmbeddedPostgres) -> DatabaseFactory:
    """`factory(package)` → URL of a fresh database migrated to head.

    Each package is migrated once into a template database; every test gets a
    clone (CREATE DATABASE ... TEMPLATE), which takes about 0.1 s.
    """
    templates: dict[str, str] = {}

    def factory(package: str) -> str:
        if package not in templates:
            name = f"tmpl_{package}"
            pg.create_database(name)
            upgrade(package, pg.url(name))
            templates[package] = name
        database = f"t_{package}_{uuid.uuid4().hex[:10]}"
        return pg.create_database(database, template=templates[package])

    return factory


@pytest.fixture
def fixes_db_url(database_factory: DatabaseFactory) -> str:
    return database_factory("fixes_service")


@pytest.fixture
def scriptbuilder_db_url(database_factory: DatabaseFactory) -> str:
    return database_factory("scriptbuilder_service")


@pytest.fixture
def scriptbuilder_port() -> int:
    """The port the script-builder of a test serves on, known before it starts:
    the fixes service dials it (templates) and is started first (see
    tests/support/ports.py for why not any free port)."""
    return port_to_dial_early()


@pytest.fixture
async def fixes_server(
    settings: Settings, fixes_db_url: str, scriptbuilder_port: int
) -> AsyncIterator[GrpcServer]:
    from fixes_service.main import create_server

    server = await create_server(
        settings,
        database_url=fixes_db_url,
        scriptbuilder_target=f"127.0.0.1:{scriptbuilder_port}",
        port=0,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)


@pytest.fixture
async def scriptbuilder_server(
    settings: Settings, scriptbuilder_db_url: str, fixes_server: GrpcServer, scriptbuilder_port: int
) -> AsyncIterator[GrpcServer]:
    from scriptbuilder_service.main import create_server

    server = await create_server(
        settings,
        database_url=scriptbuilder_db_url,
        fixes_target=fixes_server.target,
        port=scriptbuilder_port,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)


@pytest.fixture
async def fixes_channel(fixes_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(fixes_server.target) as channel:
        yield channel


@pytest.fixture
async def scriptbuilder_channel(
    scriptbuilder_server: GrpcServer,
) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(scriptbuilder_server.target) as channel:
        yield channel


@contextlib.asynccontextmanager
async def serve_http(app: object) -> AsyncIterator[str]:
    """Serves an ASGI app with uvicorn on a free loopback port; yields its URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def gateway_url(
    settings: Settings, fixes_server: GrpcServer, scriptbuilder_server: GrpcServer
) -> AsyncIterator[str]:
    from gateway.app import create_app

    app = create_app(settings, both_services(fixes_server.target, scriptbuilder_server.target))
    async with serve_http(app) as url:
        yield url
