"""`draft_template` decisions become exactly one draft template per fix
(CONTRACT §4), through the fixes service's outbox and this service's relay,
whatever crashes in between."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest

from flowpilot.fixes.v1 import fixes_pb2
from flowpilot.runtime.auth import service_token
from flowpilot.runtime.errors import Unavailable
from flowpilot.runtime.server import GrpcServer
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from scriptbuilder_service.main import create_server
from tests.scriptbuilder.helpers import SCRIPT, decide_draft_template, fixes_stub, sb_stub, sql
from tests.support.grpc_client import auth_metadata

pytestmark = pytest.mark.integration


class Crash(Exception):
    """Stands for the process dying at that point."""


@contextlib.asynccontextmanager
async def instance(
    settings, db_url: str, fixes_target: str, *, relay: bool
) -> AsyncIterator[GrpcServer]:
    server = await create_server(
        settings, database_url=db_url, fixes_target=fixes_target, run_proposal_relay=relay
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)


async def pending(fixes_channel, settings) -> list[fixes_pb2.TemplateProposal]:
    reply = await fixes_stub(fixes_channel).ListPendingTemplateProposals(
        fixes_pb2.ListPendingTemplateProposalsRequest(),
        metadata=auth_metadata(service_token(settings, "test")),
    )
    return list(reply.proposals)


async def templates_of_fix(db_url: str, fix_id: str) -> list[tuple]:
    return await sql(
        db_url,
        "SELECT id, status, name, body, account_id FROM script_templates "
        "WHERE source_fix_id = CAST(:f AS uuid)",
        f=fix_id,
    )


async def test_decision_becomes_one_draft_template(
    settings, scriptbuilder_db_url, fixes_server, fixes_channel, make_token
):
    token = make_token()
    fix_id = await decide_draft_template(fixes_channel, token)
    assert [p.fix_id for p in await pending(fixes_channel, settings)] == [fix_id]
    async with instance(settings, scriptbuilder_db_url, fixes_server.target, relay=False) as server:
        assert await server.relay.run_once() == 1
        assert await server.relay.run_once() == 0
        rows = await templates_of_fix(scriptbuilder_db_url, fix_id)
        assert len(rows) == 1
        _, status, name, body, account = rows[0]
        assert (status, name, body, account) == ("draft", "Restart spooler", SCRIPT, "acct-1")
        assert await pending(fixes_channel, settings) == []
        async with grpc.aio.insecure_channel(server.target) as channel:
            listed = await sb_stub(channel).ListTemplates(
                sb.ListTemplatesRequest(), metadata=auth_metadata(token)
            )
            (template,) = [t for t in listed.templates if t.source_fix_id == fix_id]
            assert template.status == sb.TEMPLATE_STATUS_DRAFT
            assert [p.name for p in template.parameters] == ["service"]
            assert template.parameters[0].default.string_value == "Spooler"
            rendered = await sb_stub(channel).RenderTemplate(
                sb.RenderTemplateRequest(template_id=template.id), metadata=auth_metadata(token)
            )
            assert "Restart-Service -Name 'Spooler' -Force" in rendered.script


async def test_crash_between_template_and_ack_loses_nothing_and_never_duplicates(
    settings, scriptbuilder_db_url, fixes_server, fixes_channel, make_token
):
    fix_id = await decide_draft_template(fixes_channel, make_token())
    async with instance(settings, scriptbuilder_db_url, fixes_server.target, relay=False) as first:

        async def crash(*_args: object) -> None:
            raise Crash

        first.relay.ack = crash  # type: ignore[method-assign]
        with pytest.raises(Crash):
            await first.relay.run_once()
    # The template exists, the proposal is still pending.
    assert len(await templates_of_fix(scriptbuilder_db_url, fix_id)) == 1
    assert [p.fix_id for p in await pending(fixes_channel, settings)] == [fix_id]
    # The restarted process finds the template instead of making another.
    async with instance(settings, scriptbuilder_db_url, fixes_server.target, relay=False) as second:
        assert await second.relay.run_once() == 1
    rows = await templates_of_fix(scriptbuilder_db_url, fix_id)
    assert len(rows) == 1
    assert await pending(fixes_channel, settings) == []


async def test_crash_between_decision_and_relay_loses_nothing(
    settings, scriptbuilder_db_url, fixes_server, fixes_channel, make_token
):
    # No script-builder process runs while the decisions are made.
    fix_ids = [
        await decide_draft_template(fixes_channel, make_token(), f"fix {i}") for i in range(3)
    ]
    # When one starts, its background relay catches up on its own.
    async with instance(settings, scriptbuilder_db_url, fixes_server.target, relay=True):
        for _ in range(100):
            if not await pending(fixes_channel, settings):
                break
            await asyncio.sleep(0.05)
    for fix_id in fix_ids:
        assert len(await templates_of_fix(scriptbuilder_db_url, fix_id)) == 1
    assert await pending(fixes_channel, settings) == []


async def test_two_relays_at_once_make_one_template_per_fix(
    settings, scriptbuilder_db_url, fixes_server, fixes_channel, make_token
):
    fix_ids = [
        await decide_draft_template(fixes_channel, make_token(), f"fix {i}") for i in range(5)
    ]
    async with (
        instance(settings, scriptbuilder_db_url, fixes_server.target, relay=False) as a,
        instance(settings, scriptbuilder_db_url, fixes_server.target, relay=False) as b,
    ):
        await asyncio.gather(a.relay.run_once(), b.relay.run_once(), a.relay.run_once())
    for fix_id in fix_ids:
        assert len(await templates_of_fix(scriptbuilder_db_url, fix_id)) == 1
    assert await pending(fixes_channel, settings) == []
    total = await sql(scriptbuilder_db_url, "SELECT count(*) FROM script_templates")
    assert total[0][0] == 5


async def test_relay_poll_with_the_fixes_service_down_is_unavailable_and_harmless(
    settings, scriptbuilder_db_url, fixes_server, fixes_channel, make_token
):
    fix_id = await decide_draft_template(fixes_channel, make_token())
    async with instance(settings, scriptbuilder_db_url, fixes_server.target, relay=False) as server:
        await fixes_server.stop(0)
        with pytest.raises(Unavailable):
            await server.relay.run_once()
    # Nothing half-done: the proposal stays in the fixes service's outbox.
    assert await templates_of_fix(scriptbuilder_db_url, fix_id) == []
