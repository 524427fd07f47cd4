"""Template schema checks at creation and render-value checks (CONTRACT §3),
the publish rule and filter-bound page tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter, ParameterType
from flowpilot.runtime.errors import InvalidArgument, PermissionDenied
from flowpilot.runtime.paging import PageTokens, filters_key
from scriptbuilder_service.domain.model import Origin, new_session
from scriptbuilder_service.domain.templates import (
    Template,
    TemplateStatus,
    check_may_publish,
    draft_from_fix,
    new_template,
)

S = ParameterType.STRING


def make(body: str = "echo {{x}}", params: tuple[Parameter, ...] = (Parameter("x", S),), **kw):
    args = {"name": "t", "description": "", "language": ScriptLanguage.BASH, "body": body}
    args.update(kw)
    return new_template(parameters=params, **args)


def test_valid_template_passes():
    template = make(
        "Restart-Service {{name}} -Force:{{force}} # {{count}} {{mode}}",
        (
            Parameter("name", S, required=True),
            Parameter("force", ParameterType.BOOLEAN, default=True),
            Parameter("count", ParameterType.INTEGER, default=3.0),
            Parameter("mode", ParameterType.ENUM, choices=("fast", "safe"), default="safe"),
        ),
        language=ScriptLanguage.POWERSHELL,
    )
    assert [p.name for p in template.parameters] == ["name", "force", "count", "mode"]
    # JSON numbers arrive as floats; integral ones are stored as integers.
    assert template.parameters[2].default == 3
    assert isinstance(template.parameters[2].default, int)


@pytest.mark.parametrize(
    ("body", "params", "reason"),
    [
        ("{{1x}}", (Parameter("1x", S),), "INVALID_PARAMETER_NAME"),
        ("{{a-b}}", (Parameter("a-b", S),), "INVALID_PARAMETER_NAME"),
        ("", (Parameter("", S),), "FIELD_EMPTY"),
        ("{{x}}", (Parameter("x", S), Parameter("x", S)), "DUPLICATE_PARAMETER"),
        ("{{x}}", (Parameter("x", ParameterType.ENUM),), "INVALID_ARGUMENT"),
        ("{{x}}", (Parameter("x", S, choices=("a",)),), "INVALID_ARGUMENT"),
        ("{{x}}", (Parameter("x", ParameterType.ENUM, choices=("a", "a")),), "INVALID_ARGUMENT"),
        ("{{x}}", (Parameter("x", ParameterType.INTEGER, default="3"),), "INVALID_DEFAULT"),
        ("{{x}}", (Parameter("x", ParameterType.INTEGER, default=2.5),), "INVALID_DEFAULT"),
        ("{{x}}", (Parameter("x", ParameterType.BOOLEAN, default="true"),), "INVALID_DEFAULT"),
        ("{{x}}", (Parameter("x", S, default=1.0),), "INVALID_DEFAULT"),
        (
            "{{x}}",
            (Parameter("x", ParameterType.ENUM, choices=("a",), default="b"),),
            "INVALID_DEFAULT",
        ),
        ("{{x}}", (Parameter("x", S, required=True, default="d"),), "INVALID_ARGUMENT"),
        ("{{x}} {{y}}", (Parameter("x", S),), "UNDECLARED_PARAMETER"),
        ("{{x}}", (Parameter("x", S), Parameter("y", S)), "UNUSED_PARAMETER"),
        ("   ", (), "FIELD_EMPTY"),
        ("a\x00b", (), "INVALID_CHARACTERS"),
        ("x" * 50_001, (), "FIELD_TOO_LONG"),
    ],
)
def test_bad_schemas_are_refused_at_creation(body, params, reason):
    with pytest.raises(InvalidArgument) as info:
        make(body, params)
    assert info.value.reason == reason


def test_bounded_texts_and_known_language():
    with pytest.raises(InvalidArgument):
        make(name="n" * 201)
    with pytest.raises(InvalidArgument):
        make(name="   ")
    with pytest.raises(InvalidArgument):
        make(description="d" * 2001)
    with pytest.raises(InvalidArgument):
        make(language=None)
    with pytest.raises(InvalidArgument):
        make(params=tuple(Parameter(f"p{i}", S) for i in range(51)))


def test_inline_session_needs_ai_session_id():
    with pytest.raises(InvalidArgument) as info:
        new_session(origin=Origin.PILOT_INLINE, ai_session_id=None, language=None, title="")
    assert info.value.reason == "AI_SESSION_ID_REQUIRED"
    with pytest.raises(InvalidArgument):
        new_session(origin=Origin.PILOT_INLINE, ai_session_id="nope", language=None, title="")
    standalone = new_session(origin=None, ai_session_id=None, language=None, title="  x ")
    assert (standalone.origin, standalone.language, standalone.title) == (
        Origin.STANDALONE,
        ScriptLanguage.POWERSHELL,
        "x",
    )


def test_draft_from_fix_is_total_and_passes_the_schema_checks():
    draft = draft_from_fix(
        fix_id="f",
        title="\x00" + "T" * 300,
        description="d",
        language=None,
        script="Restart-Service {{service}} -Force:{{force}}; Start-Sleep {{ secs }}; {{weird}}",
        drafted_parameters={
            "service": "Spooler",
            "force": True,
            "secs": 5.0,
            "weird": {"type": "enum", "choices": []},
        },
    )
    assert draft.status is TemplateStatus.DRAFT
    assert draft.language is ScriptLanguage.POWERSHELL
    assert len(draft.name) == 200 and "\x00" not in draft.name
    by_name = {p.name: p for p in draft.parameters}
    assert by_name["service"].default == "Spooler"
    assert by_name["force"].type is ParameterType.BOOLEAN
    assert by_name["secs"].type is ParameterType.INTEGER
    # An unusable hint falls back to a required string.
    assert by_name["weird"].type is S and by_name["weird"].required
    # It would pass creation as it stands.
    new_template(
        name=draft.name,
        description=draft.description,
        language=draft.language,
        body=draft.body,
        parameters=draft.parameters,
    )


def _stored(creator: str, status: TemplateStatus = TemplateStatus.DRAFT) -> Template:
    now = datetime.now(UTC)
    return Template(
        id=uuid.uuid4(),
        account_id="acct-1",
        created_by_user_id=creator,
        name="t",
        description="",
        language=ScriptLanguage.BASH,
        body="echo hi",
        parameters=(),
        status=status,
        source_fix_id=None,
        source_session_id=None,
        created_at=now,
        updated_at=now,
    )


@pytest.mark.parametrize("status", list(TemplateStatus))
def test_only_the_creator_or_an_admin_may_publish(status):
    template = _stored("alice", status)
    check_may_publish(template, user_id="alice", is_admin=False)
    check_may_publish(template, user_id="bob", is_admin=True)
    check_may_publish(template, user_id="alice", is_admin=True)
    with pytest.raises(PermissionDenied) as info:
        check_may_publish(template, user_id="bob", is_admin=False)
    assert info.value.reason == "NOT_TEMPLATE_CREATOR"


def test_page_tokens_are_bound_to_their_filters():
    drafts = filters_key(status=TemplateStatus.DRAFT, source_fix_id=None)
    assert filters_key(status=None, source_fix_id=None) == ""
    assert drafts != filters_key(status=TemplateStatus.PUBLISHED, source_fix_id=None)
    pages = PageTokens(b"k" * 32)
    plain = pages.next_offset_token("templates", "acct", 0, 10)
    bound = pages.next_offset_token("templates", "acct", 0, 10, filters=drafts)
    assert pages.offset_window("templates", "acct", 10, plain, default=50, maximum=100) == (
        10,
        10,
    )
    window = pages.offset_window(
        "templates", "acct", 10, bound, default=50, maximum=100, filters=drafts
    )
    assert window == (10, 10)
    for token, query in ((plain, drafts), (bound, ""), (bound, "other")):
        with pytest.raises(InvalidArgument) as info:
            pages.offset_window(
                "templates", "acct", 10, token, default=50, maximum=100, filters=query
            )
        assert info.value.reason == "PAGE_TOKEN_FILTER_MISMATCH"
