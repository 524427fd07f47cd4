"""PublishTemplate (who may, idempotence, races) and the ListTemplates filters
through real gRPC and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from flowpilot.api.v1 import types_pb2
from flowpilot.scriptbuilder.v1 import scriptbuilder_pb2 as sb
from tests.scriptbuilder.helpers import decide_draft_template, insert_draft, sb_stub, sql
from tests.support.grpc_client import auth_metadata, refused

pytestmark = pytest.mark.integration

ACCOUNT = "acct-1"


@pytest.fixture
def stub(scriptbuilder_channel):
    return sb_stub(scriptbuilder_channel)


async def publish(stub, token: str, template_id: str) -> sb.ScriptTemplate:
    return await stub.PublishTemplate(
        sb.PublishTemplateRequest(template_id=template_id), metadata=auth_metadata(token)
    )


async def status_of(url: str, template_id: str) -> tuple[str, object]:
    rows = await sql(
        url,
        "SELECT status, updated_at FROM script_templates WHERE id = CAST(:t AS uuid)",
        t=template_id,
    )
    return rows[0]


async def test_creator_publishes_and_a_second_publish_changes_nothing(
    stub, make_token, scriptbuilder_db_url
):
    token = make_token(user_id="creator")
    draft_id = await insert_draft(scriptbuilder_db_url, account_id=ACCOUNT, user_id="creator")
    before = await stub.GetTemplate(
        sb.GetTemplateRequest(template_id=draft_id), metadata=auth_metadata(token)
    )
    assert before.status == sb.TEMPLATE_STATUS_DRAFT

    published = await publish(stub, token, draft_id)
    assert published.status == sb.TEMPLATE_STATUS_PUBLISHED
    assert published.created_at == before.created_at
    assert published.updated_at.ToDatetime() > before.updated_at.ToDatetime()
    assert (published.name, published.body) == (before.name, before.body)
    stored = await status_of(scriptbuilder_db_url, draft_id)
    assert stored[0] == "published"

    again = await publish(stub, token, draft_id)
    assert again == published
    assert await status_of(scriptbuilder_db_url, draft_id) == stored
    got = await stub.GetTemplate(
        sb.GetTemplateRequest(template_id=draft_id), metadata=auth_metadata(token)
    )
    assert got == published


async def test_an_admin_of_the_account_publishes_anyones_draft(
    stub, make_token, scriptbuilder_db_url
):
    draft_id = await insert_draft(scriptbuilder_db_url, account_id=ACCOUNT, user_id="someone")
    published = await publish(stub, make_token(role="admin"), draft_id)
    assert published.status == sb.TEMPLATE_STATUS_PUBLISHED
    assert published.created_by_user_id == "someone"  # publishing does not take it over


async def test_another_engineer_of_the_account_is_refused(stub, make_token, scriptbuilder_db_url):
    draft_id = await insert_draft(scriptbuilder_db_url, account_id=ACCOUNT, user_id="creator")
    colleague = make_token(user_id="colleague")
    error = await refused(publish(stub, colleague, draft_id))
    assert error.code is grpc.StatusCode.PERMISSION_DENIED
    assert error.reason == "NOT_TEMPLATE_CREATOR"
    assert (await status_of(scriptbuilder_db_url, draft_id))[0] == "draft"
    # Still refused once the creator has published it: the answer does not
    # depend on the status, and nothing is written either way.
    await publish(stub, make_token(user_id="creator"), draft_id)
    stored = await status_of(scriptbuilder_db_url, draft_id)
    error = await refused(publish(stub, colleague, draft_id))
    assert error.code is grpc.StatusCode.PERMISSION_DENIED
    assert error.reason == "NOT_TEMPLATE_CREATOR"
    assert await status_of(scriptbuilder_db_url, draft_id) == stored


async def test_a_viewer_is_refused_even_for_their_own_template(
    stub, make_token, scriptbuilder_db_url
):
    draft_id = await insert_draft(scriptbuilder_db_url, account_id=ACCOUNT, user_id="watcher")
    error = await refused(publish(stub, make_token(user_id="watcher", role="viewer"), draft_id))
    assert error.code is grpc.StatusCode.PERMISSION_DENIED
    assert error.reason == "ROLE_CANNOT_WRITE"
    assert (await status_of(scriptbuilder_db_url, draft_id))[0] == "draft"


async def test_other_account_absent_and_malformed_ids(stub, make_token, scriptbuilder_db_url):
    draft_id = await insert_draft(scriptbuilder_db_url, account_id=ACCOUNT, user_id="creator")
    # The same user id in another account, even as its admin, does not see it.
    for token in (
        make_token(user_id="creator", account_id="acct-2"),
        make_token(account_id="acct-2", role="admin"),
    ):
        error = await refused(publish(stub, token, draft_id))
        assert error.code is grpc.StatusCode.NOT_FOUND
        assert error.reason == "SCRIPT_TEMPLATE_NOT_FOUND"
    assert (await status_of(scriptbuilder_db_url, draft_id))[0] == "draft"
    admin = make_token(role="admin")
    error = await refused(publish(stub, admin, str(uuid.uuid4())))
    assert error.code is grpc.StatusCode.NOT_FOUND
    for bad in ("", "nope", "{" + draft_id + "}", draft_id + "0"):
        error = await refused(publish(stub, admin, bad))
        assert error.code is grpc.StatusCode.INVALID_ARGUMENT, bad


async def test_concurrent_publishes_write_once_and_agree(stub, make_token, scriptbuilder_db_url):
    draft_id = await insert_draft(scriptbuilder_db_url, account_id=ACCOUNT, user_id="creator")
    tokens = [make_token(user_id="creator"), make_token(role="admin")] * 10
    results = await asyncio.gather(*(publish(stub, t, draft_id) for t in tokens))
    assert {r.status for r in results} == {sb.TEMPLATE_STATUS_PUBLISHED}
    # One UPDATE won; every other caller read the row it left.
    assert len({r.updated_at.ToNanoseconds() for r in results}) == 1
    stored = await status_of(scriptbuilder_db_url, draft_id)
    assert stored[0] == "published"


async def test_a_relayed_proposal_is_found_by_its_fix_and_published_by_its_engineer(
    stub, scriptbuilder_server, fixes_channel, make_token
):
    engineer = make_token(user_id="engineer-1")
    fix_id = await decide_draft_template(fixes_channel, engineer)
    # The server's background relay may get there first; either way the
    # template exists once a poll has handled the proposal.
    await scriptbuilder_server.relay.run_once()

    listed = await stub.ListTemplates(
        sb.ListTemplatesRequest(source_fix_id=fix_id), metadata=auth_metadata(engineer)
    )
    (draft,) = listed.templates
    assert draft.source_fix_id == fix_id
    assert draft.status == sb.TEMPLATE_STATUS_DRAFT
    assert draft.created_by_user_id == "engineer-1"
    assert not listed.next_page_token

    # Someone else of the account may see the proposal but not publish it.
    error = await refused(publish(stub, make_token(), draft.id))
    assert error.code is grpc.StatusCode.PERMISSION_DENIED

    published = await publish(stub, engineer, draft.id)
    assert published.status == sb.TEMPLATE_STATUS_PUBLISHED
    assert published.source_fix_id == fix_id
    as_draft = await stub.ListTemplates(
        sb.ListTemplatesRequest(source_fix_id=fix_id, status=sb.TEMPLATE_STATUS_DRAFT),
        metadata=auth_metadata(engineer),
    )
    assert list(as_draft.templates) == []
    as_published = await stub.ListTemplates(
        sb.ListTemplatesRequest(source_fix_id=fix_id, status=sb.TEMPLATE_STATUS_PUBLISHED),
        metadata=auth_metadata(engineer),
    )
    assert [t.id for t in as_published.templates] == [draft.id]


async def collect(stub, token: str, page_size: int, **filters) -> list[str]:
    """Every id of a filtered list, page by page; checks each page's size."""
    ids: list[str] = []
    page_token = ""
    while True:
        page = await stub.ListTemplates(
            sb.ListTemplatesRequest(page_size=page_size, page_token=page_token, **filters),
            metadata=auth_metadata(token),
        )
        assert len(page.templates) <= page_size
        ids += [t.id for t in page.templates]
        page_token = page.next_page_token
        if not page_token:
            return ids
        assert len(page.templates) == page_size


async def test_list_filters_by_status_and_fix_with_paging(stub, make_token, scriptbuilder_db_url):
    token = make_token()
    fixes = [str(uuid.uuid4()) for _ in range(3)]
    drafts = [
        await insert_draft(scriptbuilder_db_url, account_id=ACCOUNT, user_id="u", fix_id=f)
        for f in fixes
    ]
    published = []
    for i in range(2):
        template = await stub.CreateTemplate(
            sb.CreateTemplateRequest(
                name=f"p{i}", language=types_pb2.SCRIPT_LANGUAGE_BASH, body="echo hi"
            ),
            metadata=auth_metadata(token),
        )
        published.append(template.id)
    # Another account's draft, with a fix id of its own.
    foreign_fix = str(uuid.uuid4())
    await insert_draft(scriptbuilder_db_url, account_id="acct-2", user_id="u", fix_id=foreign_fix)

    newest_first = list(reversed(drafts + published))
    assert await collect(stub, token, 2) == newest_first
    assert await collect(stub, token, 2, status=sb.TEMPLATE_STATUS_DRAFT) == drafts[::-1]
    assert await collect(stub, token, 1, status=sb.TEMPLATE_STATUS_PUBLISHED) == published[::-1]
    assert await collect(stub, token, 50, status=sb.TEMPLATE_STATUS_DRAFT) == drafts[::-1]
    assert await collect(stub, token, 2, source_fix_id=fixes[1]) == [drafts[1]]
    assert (
        await collect(stub, token, 2, source_fix_id=fixes[1], status=sb.TEMPLATE_STATUS_PUBLISHED)
        == []
    )
    # The account scope holds under every filter.
    assert await collect(stub, token, 2, source_fix_id=foreign_fix) == []
    assert await collect(stub, token, 2, source_fix_id=str(uuid.uuid4())) == []


async def test_list_filter_validation_and_tokens_bound_to_their_filters(
    stub, make_token, scriptbuilder_db_url
):
    token = make_token()
    for _ in range(3):
        await insert_draft(scriptbuilder_db_url, account_id=ACCOUNT, user_id="u")
    for bad in ("", "nope", "1234"):
        error = await refused(
            stub.ListTemplates(
                sb.ListTemplatesRequest(source_fix_id=bad), metadata=auth_metadata(token)
            )
        )
        assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    error = await refused(
        stub.ListTemplates(sb.ListTemplatesRequest(status=9), metadata=auth_metadata(token))
    )
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT

    drafts_page = await stub.ListTemplates(
        sb.ListTemplatesRequest(page_size=1, status=sb.TEMPLATE_STATUS_DRAFT),
        metadata=auth_metadata(token),
    )
    plain_page = await stub.ListTemplates(
        sb.ListTemplatesRequest(page_size=1), metadata=auth_metadata(token)
    )
    assert drafts_page.next_page_token and plain_page.next_page_token
    mismatches = [
        sb.ListTemplatesRequest(
            page_token=drafts_page.next_page_token, status=sb.TEMPLATE_STATUS_PUBLISHED
        ),
        sb.ListTemplatesRequest(page_token=drafts_page.next_page_token),
        sb.ListTemplatesRequest(
            page_token=plain_page.next_page_token, status=sb.TEMPLATE_STATUS_DRAFT
        ),
        sb.ListTemplatesRequest(
            page_token=drafts_page.next_page_token,
            status=sb.TEMPLATE_STATUS_DRAFT,
            source_fix_id=str(uuid.uuid4()),
        ),
    ]
    for request in mismatches:
        error = await refused(stub.ListTemplates(request, metadata=auth_metadata(token)))
        assert error.code is grpc.StatusCode.INVALID_ARGUMENT
        assert error.reason == "PAGE_TOKEN_FILTER_MISMATCH"
    # The same filters continue where the page stopped.
    rest = await stub.ListTemplates(
        sb.ListTemplatesRequest(
            page_size=1, page_token=drafts_page.next_page_token, status=sb.TEMPLATE_STATUS_DRAFT
        ),
        metadata=auth_metadata(token),
    )
    assert len(rest.templates) == 1 and rest.templates[0].id != drafts_page.templates[0].id
