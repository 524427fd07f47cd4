"""The gateway's generic HTTP rules over real HTTP, on the test-only Widget
API and on the script-builder's PATCH: the update mask a PATCH body implies,
If-Match → `etag`, `etag` → ETag (and 304), ETAG_MISMATCH → 412."""

from __future__ import annotations

import uuid

import pytest

from flowpilot.runtime.errors import Aborted
from tests.gateway.widgets import message

pytestmark = pytest.mark.integration


def _widget(etag: str = '"3"', **fields: object) -> object:
    async def answer(request, context):
        return message("Widget", id="w1", name="spanner", etag=etag, **fields)

    return answer


# ----------------------------------------------------------------- update masks


async def test_a_patch_without_a_mask_names_the_bodys_keys(widget_stack, engineer_token) -> None:
    async with widget_stack.client(engineer_token) as client:
        response = await client.patch(
            "/test/v1/widgets/w1", json={"color": None, "name": "spanner", "size": {"width": 2}}
        )
    assert response.status_code == 200, response.text
    request = widget_stack.service.last("UpdateWidget").request
    # In the order sent; null is in the mask with the field unset (cleared).
    assert list(request.update_mask.paths) == ["color", "name", "size"]
    assert request.color == "" and request.name == "spanner" and request.size.width == 2
    assert request.widget_id == "w1"


async def test_the_clients_own_mask_is_kept(widget_stack, engineer_token) -> None:
    async with widget_stack.client(engineer_token) as client:
        response = await client.patch(
            "/test/v1/widgets/w1", json={"name": "spanner", "color": "red", "update_mask": "name"}
        )
    assert response.status_code == 200, response.text
    assert list(widget_stack.service.last("UpdateWidget").request.update_mask.paths) == ["name"]


@pytest.mark.parametrize("body", [b"", b"{}", b"  "])
async def test_an_empty_patch_sends_a_mask_naming_nothing(
    widget_stack, engineer_token, body: bytes
) -> None:
    async with widget_stack.client(engineer_token) as client:
        response = await client.patch("/test/v1/widgets/w1", content=body)
    assert response.status_code == 200, response.text
    request = widget_stack.service.last("UpdateWidget").request
    # Set, with no paths: "no field", never "every field".
    assert request.HasField("update_mask") and not request.update_mask.paths


async def test_a_body_field_patch_masks_the_resources_keys(widget_stack, engineer_token) -> None:
    async with widget_stack.client(engineer_token) as client:
        response = await client.patch(
            "/test/v1/widgets/w7:patch", json={"tags": ["a"], "size": {"height": 3}}
        )
    assert response.status_code == 200, response.text
    request = widget_stack.service.last("PatchWidget").request
    assert list(request.update_mask.paths) == ["tags", "size"]
    assert request.widget.id == "w7"
    async with widget_stack.client(engineer_token) as client:
        response = await client.patch(
            "/test/v1/widgets/w7:patch?update_mask=tags", json={"tags": ["b"], "name": "x"}
        )
    assert response.status_code == 200, response.text
    assert list(widget_stack.service.last("PatchWidget").request.update_mask.paths) == ["tags"]


@pytest.mark.parametrize("mask", ["editorBuffer", "mode, editor_buffer", 5])
async def test_a_mask_in_another_spelling_is_400(widget_stack, engineer_token, mask) -> None:
    async with widget_stack.client(engineer_token) as client:
        response = await client.patch(
            "/test/v1/widgets/w1", json={"name": "x", "update_mask": mask}
        )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["reason"] == "INVALID_FIELD_VALUE"
    assert not widget_stack.service.calls


async def test_the_script_builders_draft_patch_gets_its_mask(fake_stack, engineer_token) -> None:
    """The issue's case at the edge: `{"mode": "ai"}` names only the mode."""
    session_id = str(uuid.uuid4())
    async with fake_stack.client(engineer_token) as client:
        response = await client.patch(
            f"/api/v1/script-builder/sessions/{session_id}/draft", json={"mode": "ai"}
        )
    assert response.status_code == 200, response.text
    request = fake_stack.scriptbuilder.last("UpdateDraft").request
    assert list(request.update_mask.paths) == ["mode"]
    assert request.session_id == session_id


async def test_only_patch_gets_a_mask(fake_stack, engineer_token) -> None:
    # Same body shape on a POST: no mask rule (the request has no mask anyway),
    # and a PATCH whose request has no FieldMask is left alone.
    async with fake_stack.client(engineer_token) as client:
        session = str(uuid.uuid4())
        response = await client.patch(
            f"/api/v1/ai-sessions/{session}/suggested-fixes/{uuid.uuid4()}/outcome",
            json={"outcome": "applied_success"},
        )
    assert response.status_code == 200, response.text


# ------------------------------------------------------------------- entity tags


async def test_a_response_etag_is_the_etag_header(widget_stack, engineer_token) -> None:
    widget_stack.service.behaviors["GetWidget"] = _widget('"3"')
    async with widget_stack.client(engineer_token) as client:
        response = await client.get("/test/v1/widgets/w1")
    assert response.status_code == 200
    assert response.headers["etag"] == '"3"'
    assert response.json()["etag"] == '"3"'


async def test_if_none_match_answers_304_without_a_body(widget_stack, engineer_token) -> None:
    widget_stack.service.behaviors["GetWidget"] = _widget('"3"')
    async with widget_stack.client(engineer_token, **{"if-none-match": '"3"'}) as client:
        response = await client.get("/test/v1/widgets/w1")
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == '"3"'
    async with widget_stack.client(engineer_token, **{"if-none-match": '"2"'}) as client:
        response = await client.get("/test/v1/widgets/w1")
    assert response.status_code == 200


async def test_a_response_etag_that_is_no_entity_tag_is_not_a_header(
    widget_stack, engineer_token
) -> None:
    widget_stack.service.behaviors["GetWidget"] = _widget("7")
    widget_stack.service.behaviors["TouchWidget"] = _widget("")
    async with widget_stack.client(engineer_token) as client:
        unquoted = await client.get("/test/v1/widgets/w1")
        empty = await client.post("/test/v1/widgets/w1:touch", json={})
    assert unquoted.status_code == 200 and "etag" not in unquoted.headers
    assert empty.status_code == 200 and "etag" not in empty.headers


@pytest.mark.parametrize("tag", ['"3"', "*", 'W/"3"'])
async def test_if_match_fills_the_requests_etag(widget_stack, engineer_token, tag: str) -> None:
    async with widget_stack.client(engineer_token, **{"if-match": tag}) as client:
        patched = await client.patch("/test/v1/widgets/w1", json={"name": "x"})
        deleted = await client.delete("/test/v1/widgets/w1")
    assert patched.status_code == 200 and deleted.status_code == 200
    assert widget_stack.service.last("UpdateWidget").request.etag == tag
    assert widget_stack.service.last("DeleteWidget").request.etag == tag


async def test_if_match_and_the_same_body_etag_agree(widget_stack, engineer_token) -> None:
    async with widget_stack.client(engineer_token, **{"if-match": '"3"'}) as client:
        same = await client.patch("/test/v1/widgets/w1", json={"name": "x", "etag": '"3"'})
        other = await client.patch("/test/v1/widgets/w1", json={"name": "x", "etag": '"4"'})
    assert same.status_code == 200
    assert other.status_code == 400
    assert other.json()["error"]["details"][0]["reason"] == "INVALID_ETAG"
    assert len(widget_stack.service.calls) == 1


@pytest.mark.parametrize("header", ["3", '"3", "4"', 'w/"3"', '"3'])
async def test_a_malformed_if_match_is_400_and_calls_nothing(
    widget_stack, engineer_token, header: str
) -> None:
    async with widget_stack.client(engineer_token, **{"if-match": header}) as client:
        response = await client.patch("/test/v1/widgets/w1", json={"name": "x"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"][0]["reason"] == "INVALID_ETAG"
    assert {"field": "If-Match", "description": error["message"]} in error["details"][1][
        "field_violations"
    ]
    assert not widget_stack.service.calls


async def test_if_match_on_an_operation_without_etag_is_400(widget_stack, engineer_token) -> None:
    async with widget_stack.client(engineer_token, **{"if-match": '"3"'}) as client:
        response = await client.post("/test/v1/widgets/w1:touch", json={})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["reason"] == "PRECONDITION_NOT_SUPPORTED"
    assert not widget_stack.service.calls


async def test_etag_mismatch_is_412_and_other_aborts_stay_409(widget_stack, engineer_token) -> None:
    async def stale(request, context):
        raise Aborted("ETAG_MISMATCH", "the widget changed", metadata={"etag": '"4"'})

    async def raced(request, context):
        raise Aborted("CONCURRENT_UPDATE", "try again")

    widget_stack.service.behaviors["UpdateWidget"] = stale
    widget_stack.service.behaviors["DeleteWidget"] = raced
    async with widget_stack.client(engineer_token, **{"if-match": '"3"'}) as client:
        mismatch = await client.patch("/test/v1/widgets/w1", json={"name": "x"})
        conflict = await client.delete("/test/v1/widgets/w1")
    assert mismatch.status_code == 412
    error = mismatch.json()["error"]
    assert error["code"] == 412 and error["status"] == "ABORTED"
    assert error["details"][0]["reason"] == "ETAG_MISMATCH"
    assert error["details"][0]["metadata"] == {"etag": '"4"'}
    assert conflict.status_code == 409
