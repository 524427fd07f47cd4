"""Fixtures shared by the whole suite: a real PostgreSQL started by the test
run, fresh migrated databases per test, tokens, and the three processes served
in-process on port 0 (gRPC servers on the test's event loop, the gateway by
uvicorn over real HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
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

TEST_JWT_SECRET = "test-secret-" + "x" * 40
SERVICE_PACKAGES = ("fixes_service", "scriptbuilder_service")

TokenFactory = Callable[..., str]
DatabaseFactory = Callable[[str], str]


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
async def fixes_server(settings: Settings, fixes_db_url: str) -> AsyncIterator[GrpcServer]:
    from fixes_service.main import create_server

    server = await create_server(settings, database_url=fixes_db_url, port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)


@pytest.fixture
async def scriptbuilder_server(
    settings: Settings, scriptbuilder_db_url: str, fixes_server: GrpcServer
) -> AsyncIterator[GrpcServer]:
    from scriptbuilder_service.main import create_server

    server = await create_server(
        settings, database_url=scriptbuilder_db_url, fixes_target=fixes_server.target, port=0
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

    app = create_app(
        settings, fixes_target=fixes_server.target, scriptbuilder_target=scriptbuilder_server.target
    )
    async with serve_http(app) as url:
        yield url
