"""Process entry point: `flowpilot serve fixes`, the test fixtures and Kubernetes."""

from __future__ import annotations

import grpc

from fixes_service.adapters.change_feed import PostgresChangeFeed, listener_url
from fixes_service.adapters.repository import FixesRepository
from fixes_service.adapters.snapshots import SnapshotCache
from fixes_service.adapters.templates_client import SCRIPTBUILDER_SERVICE, TemplatesClient
from fixes_service.domain.analytics import analytics_busy
from fixes_service.grpc_api import INTERNAL_METHODS, SERVICE_NAME, FixesServicer
from fixes_service.service import ChangeFeed, FixesService, TemplateCatalog
from flowpilot.fixes.v1 import fixes_pb2_grpc
from flowpilot.runtime.db import connector
from flowpilot.runtime.logging import configure_logging
from flowpilot.runtime.paging import PageTokens
from flowpilot.runtime.server import GrpcServer, ServiceSpec, run_server, serve_until_signalled
from flowpilot.runtime.settings import Settings, get_settings
from flowpilot.runtime.turns import KeyedTurns, Slots
from flowpilot.runtime.uow import UnitOfWork

ERROR_DOMAIN = "fixes.flowpilot.dev"


def build_service(
    settings: Settings,
    uow: UnitOfWork[FixesRepository],
    *,
    templates: TemplateCatalog,
    feed: ChangeFeed,
) -> FixesService:
    """The use cases as the service runs them, their bounds from `settings`
    (the server's, and tools such as `python -m bench.analytics`)."""
    return FixesService(
        uow,
        templates=templates,
        feed=feed,
        pages=PageTokens.from_settings(settings),
        # A session's writer waits for its turn as long as for its row's lock.
        turns=KeyedTurns(settings.db_lock_timeout_seconds),
        slow_reads=Slots(
            settings.analytics_concurrency, settings.db_pool_timeout_seconds, busy=analytics_busy
        ),
        snapshots=SnapshotCache(settings.fixes_snapshot_cache_size),
    )


async def create_server(
    settings: Settings,
    *,
    database_url: str,
    scriptbuilder_target: str | None = None,
    listen_database_url: str | None = None,
    host: str | None = None,
    port: int = 0,
) -> GrpcServer:
    """The fixes gRPC server, built but not started. Stopping it ends the
    watches first, then drains the calls, closes the script-builder channel
    and disposes the pool."""
    uow = UnitOfWork.from_settings(
        database_url, FixesRepository, settings, on_driver=FixesRepository.on_driver
    )
    templates = TemplatesClient(
        scriptbuilder_target or settings.scriptbuilder_target,
        timeout_seconds=settings.scriptbuilder_call_timeout_seconds,
    )
    feed = PostgresChangeFeed(
        connector(
            listener_url(listen_database_url or settings.fixes_listen_database_url or database_url)
        ),
        max_per_user=settings.watch_max_per_user,
    )
    servicer = FixesServicer(build_service(settings, uow, templates=templates, feed=feed))

    def register(server: grpc.aio.Server) -> None:
        fixes_pb2_grpc.add_FixesServiceServicer_to_server(servicer, server)

    spec = ServiceSpec(
        name="fixes",
        error_domain=ERROR_DOMAIN,
        service_names=[SERVICE_NAME],
        register=register,
        internal_methods=INTERNAL_METHODS,
        # Watches never finish by themselves: end them (clients resume on
        # another replica) before in-flight calls get their grace period.
        on_drain=[feed.close],
        on_stop=[templates.close, uow.dispose],
        # Health `dependency:flowpilot.scriptbuilder.v1.ScriptBuilderService`:
        # only fixes naming a template need it (docs/fixes-service.md).
        dependencies={SCRIPTBUILDER_SERVICE: templates.channel},
        database=uow.probe,
    )
    return GrpcServer(spec, settings, host=host, port=port)


async def _serve(settings: Settings) -> None:
    if not settings.fixes_database_url:
        raise SystemExit("FLOWPILOT_FIXES_DATABASE_URL is not set")
    server = await create_server(
        settings, database_url=settings.fixes_database_url, port=settings.fixes_grpc_port
    )
    await serve_until_signalled(server)


def main() -> None:
    settings = get_settings()
    configure_logging("fixes", settings.log_level, settings.log_format)
    run_server(_serve(settings))


if __name__ == "__main__":
    main()
