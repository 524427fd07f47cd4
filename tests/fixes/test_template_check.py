"""`script_template_id` is checked when a fix is proposed (issue 10, point 5):
the template exists, is visible to the caller's account (asked of the
script-builder with the caller's own token) and is in the fix's language.
A refusal writes nothing; a script-builder that cannot answer is 503."""

from __future__ import annotations

import uuid

import grpc
import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.runtime.server import GrpcServer
from tests.fixes.helpers import Client, create_template
from tests.support.grpc_client import refused

pytestmark = pytest.mark.integration


@pytest.fixture
def client(fixes_channel, make_token) -> Client:
    return Client(fixes_channel, make_token(user_id="engineer-1"))


async def _nothing_written(client: Client, db, session_id: str) -> None:
    assert await client.version(session_id) == 0
    assert await db.fetchval("SELECT count(*) FROM suggested_fixes") == 0


async def test_a_template_of_the_account_in_the_fix_language_is_accepted(
    client: Client, template_id: str
) -> None:
    session = await client.new_session()
    fix = await client.new_fix(session.id, script=None, template_id=template_id)
    assert fix.script_template_id == template_id


async def test_an_absent_template_is_404(client: Client, db, scriptbuilder_server) -> None:
    session = await client.new_session()
    refusal = await refused(client.new_fix(session.id, script=None, template_id=str(uuid.uuid4())))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.NOT_FOUND,
        "SCRIPT_TEMPLATE_NOT_FOUND",
    )
    assert refusal.metadata["script_template_id"]
    await _nothing_written(client, db, session.id)


async def test_another_accounts_template_is_404(
    client: Client, db, scriptbuilder_channel, make_token
) -> None:
    foreign = await create_template(
        scriptbuilder_channel, make_token(user_id="someone", account_id="acct-2")
    )
    session = await client.new_session()
    refusal = await refused(client.new_fix(session.id, script=None, template_id=foreign))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.NOT_FOUND,
        "SCRIPT_TEMPLATE_NOT_FOUND",
    )
    await _nothing_written(client, db, session.id)


async def test_a_template_in_another_language_is_400(
    client: Client, db, scriptbuilder_channel, make_token
) -> None:
    bash = await create_template(
        scriptbuilder_channel,
        make_token(user_id="engineer-1"),
        language=types_pb2.SCRIPT_LANGUAGE_BASH,
        body="systemctl restart {{service}} # force={{force}}",
    )
    session = await client.new_session()
    refusal = await refused(client.new_fix(session.id, script=None, template_id=bash))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "TEMPLATE_LANGUAGE_MISMATCH",
    )
    assert refusal.metadata == {
        "field": "script_template_id",
        "template_language": "bash",
        "script_language": "powershell",
    }
    await _nothing_written(client, db, session.id)


async def test_a_script_builder_that_cannot_answer_is_503_and_nothing_is_written(
    client: Client, db, scriptbuilder_server: GrpcServer, template_id: str
) -> None:
    session = await client.new_session()
    await scriptbuilder_server.stop(0)
    refusal = await refused(client.new_fix(session.id, script=None, template_id=template_id))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.UNAVAILABLE,
        "SCRIPT_BUILDER_UNAVAILABLE",
    )
    await _nothing_written(client, db, session.id)
    # A fix without a template needs no script-builder.
    await client.new_fix(session.id)


async def test_a_viewer_is_refused_before_any_call(fixes_channel, make_token) -> None:
    """The role check comes before the script-builder is asked anything."""
    owner = Client(fixes_channel, make_token(user_id="engineer-1"))
    session = await owner.new_session()
    viewer = Client(fixes_channel, make_token(user_id="v", role="viewer"))
    refusal = await refused(viewer.new_fix(session.id, script=None, template_id=str(uuid.uuid4())))
    assert refusal.code is grpc.StatusCode.PERMISSION_DENIED
