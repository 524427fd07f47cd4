"""The process entry point and the server's life cycle."""

from __future__ import annotations

import pytest

from flowpilot.runtime.settings import Drafter, get_settings
from scriptbuilder_service import main as sb_main


def test_main_refuses_to_start_without_a_database_url(monkeypatch):
    monkeypatch.delenv("FLOWPILOT_SCRIPTBUILDER_DATABASE_URL", raising=False)
    monkeypatch.setenv("FLOWPILOT_LOG_FORMAT", "text")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit, match="FLOWPILOT_SCRIPTBUILDER_DATABASE_URL"):
            sb_main.main()
    finally:
        get_settings.cache_clear()


async def test_openai_drafter_needs_its_endpoint(settings, scriptbuilder_db_url):
    incomplete = settings.model_copy(update={"drafter": Drafter.OPENAI, "openai_base_url": None})
    with pytest.raises(RuntimeError, match="FLOWPILOT_OPENAI_BASE_URL"):
        await sb_main.create_server(
            incomplete, database_url=scriptbuilder_db_url, fixes_target="127.0.0.1:9"
        )


async def test_server_starts_relay_and_stops_cleanly(settings, scriptbuilder_db_url):
    server = await sb_main.create_server(
        settings, database_url=scriptbuilder_db_url, fixes_target="127.0.0.1:9"
    )
    assert server.spec.error_domain == "scriptbuilder.flowpilot.dev"
    assert server.spec.service_names == ["flowpilot.scriptbuilder.v1.ScriptBuilderService"]
    await server.start()
    assert server.relay._task is not None and not server.relay._task.done()
    await server.stop(0)
    assert server.relay._task is None
    await server.stop(0)  # idempotent
