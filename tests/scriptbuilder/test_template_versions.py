"""Template versions (issue 16, point 1) through real gRPC and a real
PostgreSQL: edits make immutable versions, the database refuses changing or
deleting one, diffs, deprecation, who may do what, and bad input refused with
nothing written."""

from __future__ import annotations

import asyncio

import asyncpg
import grpc
import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.scriptbuilder.helpers import sb_stub, sql
from tests.support.grpc_client import auth_metadata, refused

pytestmark = pytest.mark.integration

BODY_V1 = "Restart-Service -Name {{service}}\n"
BODY_V2 = "Restart-Service -Name {{service}} -Force\nGet-Service -Name {{service}}\n"


def _param(name: str = "service") -> types_pb2.ScriptParameter:
    return types_pb2.ScriptParameter(name=name, type=types_pb2.PARAMETER_TYPE_STRING, required=True)


@pytest.fixture
def stub(scriptbuilder_channel):
    return sb_stub(scriptbuilder_channel)


@pytest.fixture
def author(make_token) -> str:
    return make_token(user_id="author")


async def _template(stub, token: str) -> sb.ScriptTemplate:
    return await stub.CreateTemplate(
        sb.CreateTemplateRequest(
            name="Restart a service",
            language=types_pb2.SCRIPT_LANGUAGE_POWERSHELL,
            body=BODY_V1,
            parameters=[_param()],
        ),
        metadata=auth_metadata(token),
    )


async def _edit(stub, token: str, template_id: str, body: str = BODY_V2, **more):
    return await stub.CreateTemplateVersion(
        sb.CreateTemplateVersionRequest(
            template_id=template_id, body=body, parameters=[_param()], **more
        ),
        metadata=auth_metadata(token),
    )


async def _versions(url: str, template_id: str) -> list[tuple]:
    return await sql(
        url,
        "SELECT version, body, author_user_id, change_note FROM script_template_versions "
        "WHERE template_id = CAST(:t AS uuid) ORDER BY version",
        t=template_id,
    )


async def test_an_edit_makes_a_new_version_and_the_old_one_stays(
    stub, author, make_token, scriptbuilder_db_url
) -> None:
    template = await _template(stub, author)
    assert template.current_version == 1
    editor = make_token(user_id="editor")
    v2 = await _edit(stub, editor, template.id, change_note="  force the restart  ", base_version=1)
    assert (v2.version, v2.body, v2.author_user_id, v2.change_note) == (
        2,
        BODY_V2,
        "editor",
        "force the restart",
    )
    current = await stub.GetTemplate(
        sb.GetTemplateRequest(template_id=template.id), metadata=auth_metadata(author)
    )
    assert (current.current_version, current.body) == (2, BODY_V2)
    v1 = await stub.GetTemplateVersion(
        sb.GetTemplateVersionRequest(template_id=template.id, version=1),
        metadata=auth_metadata(author),
    )
    assert (v1.body, v1.author_user_id, v1.deprecated) == (BODY_V1, "author", False)
    listed = await stub.ListTemplateVersions(
        sb.ListTemplateVersionsRequest(template_id=template.id, page_size=1),
        metadata=auth_metadata(author),
    )
    assert [v.version for v in listed.versions] == [2]
    rest = await stub.ListTemplateVersions(
        sb.ListTemplateVersionsRequest(
            template_id=template.id, page_size=1, page_token=listed.next_page_token
        ),
        metadata=auth_metadata(author),
    )
    assert [v.version for v in rest.versions] == [1] and not rest.next_page_token
    # Rendering an old version renders it as it was.
    rendered = await stub.RenderTemplate(
        sb.RenderTemplateRequest(template_id=template.id, version=1, parameters={"service": "x"}),
        metadata=auth_metadata(author),
    )
    assert (rendered.script, rendered.version) == ("Restart-Service -Name 'x'\n", 1)


async def test_the_same_content_again_is_no_new_version(stub, author, scriptbuilder_db_url) -> None:
    template = await _template(stub, author)
    await _edit(stub, author, template.id, base_version=1)
    again = await _edit(stub, author, template.id, base_version=1)  # a retry
    assert again.version == 2
    assert [v[0] for v in await _versions(scriptbuilder_db_url, template.id)] == [1, 2]


async def test_an_edit_from_a_stale_version_is_refused(stub, author, scriptbuilder_db_url) -> None:
    template = await _template(stub, author)
    await _edit(stub, author, template.id, base_version=1)
    refusal = await refused(
        _edit(stub, author, template.id, body="Stop-Service {{service}}", base_version=1)
    )
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.ABORTED,
        "TEMPLATE_VERSION_CONFLICT",
    )
    assert refusal.metadata["current_version"] == "2"
    assert len(await _versions(scriptbuilder_db_url, template.id)) == 2


async def test_concurrent_edits_number_their_versions_without_gaps(
    stub, author, scriptbuilder_db_url
) -> None:
    template = await _template(stub, author)
    bodies = [f"Restart-Service -Name {{{{service}}}} # {i}\n" for i in range(8)]
    await asyncio.gather(*(_edit(stub, author, template.id, body=b) for b in bodies))
    versions = await _versions(scriptbuilder_db_url, template.id)
    assert [v[0] for v in versions] == list(range(1, 10))
    assert sorted(v[1] for v in versions[1:]) == sorted(bodies)


async def test_the_database_refuses_changing_or_deleting_a_version(
    stub, author, scriptbuilder_db_url
) -> None:
    template = await _template(stub, author)
    conn = await asyncpg.connect(scriptbuilder_db_url.replace("+asyncpg", ""))
    try:
        for statement in (
            "UPDATE script_template_versions SET body = 'x' WHERE template_id = $1",
            "UPDATE script_template_versions SET change_note = 'x' WHERE template_id = $1",
            "DELETE FROM script_template_versions WHERE template_id = $1",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement, template.id)
        # Deprecation may be set, once.
        await conn.execute(
            "UPDATE script_template_versions SET deprecated_at = now(), "
            "deprecated_by_user_id = 'x' WHERE template_id = $1",
            template.id,
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "UPDATE script_template_versions SET deprecation_reason = 'y' "
                "WHERE template_id = $1",
                template.id,
            )
        # Writing the template's content by hand still makes a version.
        await conn.execute(
            "UPDATE script_templates SET body = 'Get-Service {{service}}' WHERE id = $1",
            template.id,
        )
    finally:
        await conn.close()
    versions = await _versions(scriptbuilder_db_url, template.id)
    assert [(v[0], v[1]) for v in versions] == [(1, BODY_V1), (2, "Get-Service {{service}}")]


async def test_diff_of_two_versions(stub, author) -> None:
    template = await _template(stub, author)
    await _edit(stub, author, template.id)
    diff = await stub.DiffTemplateVersions(
        sb.DiffTemplateVersionsRequest(template_id=template.id, from_version=1),
        metadata=auth_metadata(author),
    )
    assert (diff.from_version, diff.to_version) == (1, 2)
    assert diff.diff == (
        "--- v1/body\n+++ v2/body\n@@ -1 +1,2 @@\n"
        "-Restart-Service -Name {{service}}\n"
        "+Restart-Service -Name {{service}} -Force\n"
        "+Get-Service -Name {{service}}\n"
    )
    assert (diff.added_lines, diff.removed_lines) == (2, 1)
    assert not diff.parameters_changed and not diff.language_changed
    same = await stub.DiffTemplateVersions(
        sb.DiffTemplateVersionsRequest(template_id=template.id, from_version=2, to_version=2),
        metadata=auth_metadata(author),
    )
    assert same.diff == ""


async def test_deprecation_by_creator_or_admin_and_idempotent(stub, author, make_token) -> None:
    template = await _template(stub, author)
    colleague = make_token(user_id="colleague")
    refusal = await refused(
        stub.DeprecateTemplateVersion(
            sb.DeprecateTemplateVersionRequest(template_id=template.id, version=1),
            metadata=auth_metadata(colleague),
        )
    )
    assert refusal.reason == "NOT_TEMPLATE_CREATOR"
    admin = make_token(user_id="boss", role="admin")
    first = await stub.DeprecateTemplateVersion(
        sb.DeprecateTemplateVersionRequest(template_id=template.id, version=1, reason="unsafe"),
        metadata=auth_metadata(admin),
    )
    assert (first.deprecated, first.deprecated_by_user_id, first.deprecation_reason) == (
        True,
        "boss",
        "unsafe",
    )
    again = await stub.DeprecateTemplateVersion(
        sb.DeprecateTemplateVersionRequest(template_id=template.id, version=1, reason="other"),
        metadata=auth_metadata(author),
    )
    assert again == first
    got = await stub.GetTemplate(
        sb.GetTemplateRequest(template_id=template.id), metadata=auth_metadata(author)
    )
    assert got.current_version_deprecated


async def test_viewers_read_versions_and_write_none(
    stub, author, make_token, scriptbuilder_db_url
) -> None:
    template = await _template(stub, author)
    viewer = make_token(user_id="v", role="viewer")
    listed = await stub.ListTemplateVersions(
        sb.ListTemplateVersionsRequest(template_id=template.id), metadata=auth_metadata(viewer)
    )
    assert [v.version for v in listed.versions] == [1]
    for call in (
        _edit(stub, viewer, template.id),
        stub.DeprecateTemplateVersion(
            sb.DeprecateTemplateVersionRequest(template_id=template.id, version=1),
            metadata=auth_metadata(viewer),
        ),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "ROLE_CANNOT_WRITE",
        )
    assert len(await _versions(scriptbuilder_db_url, template.id)) == 1


async def test_another_account_sees_no_version(stub, author, make_token) -> None:
    template = await _template(stub, author)
    stranger = make_token(user_id="author", account_id="acct-2")
    for call in (
        stub.GetTemplateVersion(
            sb.GetTemplateVersionRequest(template_id=template.id, version=1),
            metadata=auth_metadata(stranger),
        ),
        stub.ListTemplateVersions(
            sb.ListTemplateVersionsRequest(template_id=template.id),
            metadata=auth_metadata(stranger),
        ),
        stub.DiffTemplateVersions(
            sb.DiffTemplateVersionsRequest(template_id=template.id, from_version=1),
            metadata=auth_metadata(stranger),
        ),
        _edit(stub, stranger, template.id),
    ):
        refusal = await refused(call)
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.NOT_FOUND,
            "SCRIPT_TEMPLATE_NOT_FOUND",
        )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"body": ""}, "FIELD_EMPTY"),
        ({"body": "Restart-Service {{other}}"}, "UNDECLARED_PARAMETER"),
        ({"change_note": "x" * 2001}, "FIELD_TOO_LONG"),
        ({"change_note": "a\x00b"}, "INVALID_CHARACTERS"),
        ({"base_version": -1}, "INVALID_VERSION"),
        ({"language": 99}, "INVALID_ENUM"),
    ],
)
async def test_bad_edits_are_400_and_write_nothing(
    stub, author, scriptbuilder_db_url, fields, reason
) -> None:
    template = await _template(stub, author)
    request = {"body": BODY_V2, **fields}
    refusal = await refused(
        stub.CreateTemplateVersion(
            sb.CreateTemplateVersionRequest(
                template_id=template.id, parameters=[_param()], **request
            ),
            metadata=auth_metadata(author),
        )
    )
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert len(await _versions(scriptbuilder_db_url, template.id)) == 1


async def test_unknown_versions_and_bad_numbers(stub, author) -> None:
    template = await _template(stub, author)
    missing = await refused(
        stub.GetTemplateVersion(
            sb.GetTemplateVersionRequest(template_id=template.id, version=7),
            metadata=auth_metadata(author),
        )
    )
    assert (missing.code, missing.reason) == (
        grpc.StatusCode.NOT_FOUND,
        "TEMPLATE_VERSION_NOT_FOUND",
    )
    zero = await refused(
        stub.DiffTemplateVersions(
            sb.DiffTemplateVersionsRequest(template_id=template.id, from_version=0),
            metadata=auth_metadata(author),
        )
    )
    assert (zero.code, zero.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_VERSION")
    context = await refused(
        stub.DiffTemplateVersions(
            sb.DiffTemplateVersionsRequest(
                template_id=template.id, from_version=1, context_lines=101
            ),
            metadata=auth_metadata(author),
        )
    )
    assert context.code is grpc.StatusCode.INVALID_ARGUMENT
