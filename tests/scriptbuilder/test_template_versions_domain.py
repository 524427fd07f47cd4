"""Template versions as pure rules: new versions, the base-version check,
pinning and the unified diff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import Parameter, ParameterType
from flowpilot.runtime.errors import Aborted, FailedPrecondition, InvalidArgument
from scriptbuilder_service.domain.template_versions import (
    TemplateVersion,
    check_base_version,
    check_pinnable,
    diff_versions,
    new_version,
)
from scriptbuilder_service.domain.templates import Template, TemplateStatus

NOW = datetime(2026, 11, 22, tzinfo=UTC)
SERVICE = Parameter("service", ParameterType.STRING, required=True)


def version(n: int, body: str, *, params=(SERVICE,), language=ScriptLanguage.POWERSHELL, **more):
    return TemplateVersion(
        template_id=uuid.UUID(int=1),
        version=n,
        language=language,
        body=body,
        parameters=tuple(params),
        author_user_id="u",
        created_at=NOW,
        change_note="",
        **more,
    )


def template(current: int) -> Template:
    return Template(
        id=uuid.UUID(int=1),
        account_id="a",
        created_by_user_id="u",
        name="t",
        description="",
        language=ScriptLanguage.BASH,
        body="echo {{service}}",
        parameters=(SERVICE,),
        status=TemplateStatus.PUBLISHED,
        source_fix_id=None,
        source_session_id=None,
        created_at=NOW,
        updated_at=NOW,
        current_version=current,
    )


def test_a_new_version_is_checked_like_a_template() -> None:
    edit = new_version(
        language=ScriptLanguage.BASH,
        body="echo {{service}}",
        parameters=[SERVICE],
        change_note="  why  ",
    )
    assert edit.change_note == "why"
    with pytest.raises(InvalidArgument) as refused:
        new_version(
            language=ScriptLanguage.BASH,
            body="echo {{other}}",
            parameters=[SERVICE],
            change_note="",
        )
    assert refused.value.reason == "UNDECLARED_PARAMETER"


@pytest.mark.parametrize(("base", "refused"), [(0, False), (3, False), (2, True), (4, True)])
def test_the_base_version_must_be_current(base: int, refused: bool) -> None:
    if refused:
        with pytest.raises(Aborted):
            check_base_version(template(3), base)
    else:
        check_base_version(template(3), base)


def test_a_deprecated_version_cannot_be_pinned() -> None:
    check_pinnable(version(1, "x"))
    with pytest.raises(FailedPrecondition) as refused:
        check_pinnable(version(1, "x", deprecated_at=NOW, deprecated_by_user_id="u"))
    assert refused.value.reason == "TEMPLATE_VERSION_DEPRECATED"


def test_diff_of_bodies_parameters_and_language() -> None:
    old = version(1, "a\nb\nc")
    force = Parameter("force", ParameterType.BOOLEAN, default=True)
    new = version(3, "a\nB\nc\nd", params=(SERVICE, force), language=ScriptLanguage.BASH)
    diff = diff_versions(old, new, context=0)
    assert diff.diff.splitlines() == [
        "--- v1/body",
        "+++ v3/body",
        "@@ -2 +2 @@",
        "-b",
        "+B",
        "@@ -3,0 +4 @@",
        "+d",
        "--- v1/parameters",
        "+++ v3/parameters",
        "@@ -1,0 +2 @@",
        '+{"choices": [], "default": true, "description": "", "name": "force", "required": false, '
        '"type": "boolean"}',
        "--- v1/language",
        "+++ v3/language",
        "@@ -1 +1 @@",
        "-powershell",
        "+bash",
    ]
    assert (diff.added_lines, diff.removed_lines) == (2, 1)
    assert diff.parameters_changed and diff.language_changed


def test_identical_versions_diff_to_nothing_and_context_is_bounded() -> None:
    assert diff_versions(version(1, "a"), version(2, "a")).diff == ""
    with pytest.raises(InvalidArgument):
        diff_versions(version(1, "a"), version(2, "b"), context=101)
