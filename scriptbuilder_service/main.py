"""Builds and runs the script-builder gRPC server; builds the template import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import grpc

from flowpilot.runtime.logging import configure_logging
from flowpilot.runtime.paging import PageTokens
from flowpilot.runtime.server import GrpcServer, ServiceSpec, run_server, serve_until_signalled
from flowpilot.runtime.settings import Settings, get_settings
from flowpilot.runtime.turns import KeyedTurns
from flowpilot.runtime.uow import UnitOfWork
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2_grpc
from scriptbuilder_service.adapters.drafting import provider_from_settings
from scriptbuilder_service.adapters.fixes_client import FIXES_SERVICE, FixesClient
from scriptbuilder_service.adapters.repository import ScriptBuilderRepository
from scriptbuilder_service.grpc_api import SERVICE_NAME, ScriptBuilderServicer
from scriptbuilder_service.relay import ProposalRelay
from scriptbuilder_service.service import ScriptBuilderService, TemplateImportService

if TYPE_CHECKING:
    from scriptbuilder_service.adapters.drafting import DraftingProvider

ERROR_DOMAIN = "scriptbuilder.flowpilot.dev"


class ScriptBuilderServer(GrpcServer):
    """The runtime's server, plus the proposal relay started with it and the
    use cases (`service`) for tools and tests that skip gRPC."""

    def __init__(
        self,
        spec: ServiceSpec,
        settings: Settings,
        *,
        service: ScriptBuilderService,
        relay: ProposalRelay,
        run_relay: bool,
        host: str | None,
        port: int,
    ) -> None:
        super().__init__(spec, settings, host=host, port=port)
        self.service = service
        self.relay = relay
        self._run_relay = run_relay

    async def start(self) -> int:
        port = await super().start()
        if self._run_relay:
            self.relay.start()
        return port


async def create_server(
    settings: Settings,
    *,
    database_url: str,
    fixes_target: str,
    host: str | None = None,
    port: int = 0,
    drafter: DraftingProvider | None = None,
    run_proposal_relay: bool = True,
) -> GrpcServer:
    """Built, not started. Stopping it stops the relay, closes the fixes
    channel and the drafter, and closes the connection pool."""
    # The provider first: a misconfigured drafter fails before anything is opened.
    provider = drafter or provider_from_settings(settings)
    uow = UnitOfWork.from_settings(
        database_url, ScriptBuilderRepository, settings, on_driver=ScriptBuilderRepository.on_driver
    )
    fixes = FixesClient(fixes_target, timeout_seconds=settings.fixes_call_timeout_seconds)
    service = ScriptBuilderService(
        uow,
        fixes,
        provider,
        pages=PageTokens.from_settings(settings),
        turns=KeyedTurns(settings.db_lock_timeout_seconds),
    )
    servicer = ScriptBuilderServicer(service)
    relay = ProposalRelay(uow, fixes, settings)

    def register(server: grpc.aio.Server) -> None:
        scriptbuilder_pb2_grpc.add_ScriptBuilderServiceServicer_to_server(servicer, server)

    spec = ServiceSpec(
        name="scriptbuilder",
        error_domain=ERROR_DOMAIN,
        service_names=[SERVICE_NAME],
        register=register,
        on_stop=[relay.stop, fixes.close, provider.aclose, uow.dispose],
        # Health `dependency:flowpilot.fixes.v1.FixesService`: inline creates
        # need it, nothing else does, so it is reported beside this service's
        # own SERVING instead of in it (docs/scriptbuilder-service.md).
        dependencies={FIXES_SERVICE: fixes.channel},
        database=uow.probe,
    )
    server = ScriptBuilderServer(
        spec,
        settings,
        service=service,
        relay=relay,
        run_relay=run_proposal_relay,
        host=host,
        port=port,
    )
    return server


@asynccontextmanager
async def template_import(
    settings: Settings, *, database_url: str, pool_size: int = 1
) -> AsyncIterator[TemplateImportService]:
    """`flowpilot templates import`'s use case on its own small pool (one
    connection by default), closed when the block ends."""
    uow = UnitOfWork(
        database_url,
        ScriptBuilderRepository,
        pool_size=pool_size,
        max_overflow=0,
        statement_cache_size=settings.db_statement_cache_size,
    )
    try:
        yield TemplateImportService(uow)
    finally:
        await uow.dispose()


def main() -> None:
    settings = get_settings()
    configure_logging("scriptbuilder", settings.log_level, settings.log_format)
    if not settings.scriptbuilder_database_url:
        raise SystemExit("FLOWPILOT_SCRIPTBUILDER_DATABASE_URL is required")

    async def run() -> None:
        server = await create_server(
            settings,
            database_url=settings.scriptbuilder_database_url or "",
            fixes_target=settings.fixes_target,
            port=settings.scriptbuilder_grpc_port,
        )
        await serve_until_signalled(server)

    run_server(run())


if __name__ == "__main__":
    main()
