"""Provenance and the size of an edit (issue 16, point 2): pure code."""

from __future__ import annotations

import difflib
import uuid

from hypothesis import given
from hypothesis import strategies as st

from flowpilot.kernel.provenance import (
    HAND_WRITTEN_BELOW,
    DraftBasis,
    EditSize,
    Provenance,
    ScriptOrigin,
    _common_ends,
    drafted_provenance,
    edit_size,
    line_opcodes,
    template_provenance,
)

AI = "$ErrorActionPreference = 'Stop'\nRestart-Service -Name {{service}}\nGet-Service {{service}}"


def test_the_same_text_is_no_edit_whatever_its_line_endings() -> None:
    size = edit_size(AI, AI.replace("\n", "\r\n") + "\n\n")
    assert (size.changed_chars, size.changed_lines, size.similarity) == (0, 0, 1.0)


def test_a_one_character_fix_counts_one_line_pair_and_two_characters() -> None:
    size = edit_size(AI, AI.replace("Get-Service", "get-Service"))
    assert (size.changed_lines, size.changed_chars) == (2, 2)
    assert size.ai_chars == size.final_chars == len(AI)


def test_an_added_line_counts_its_characters_and_newline() -> None:
    size = edit_size(AI, AI + "\nWrite-Host done")
    assert (size.changed_lines, size.changed_chars) == (1, len("Write-Host done") + 1)


def test_a_removed_line() -> None:
    size = edit_size(AI, AI.rsplit("\n", 1)[0])
    assert (size.changed_lines, size.changed_chars) == (1, len("Get-Service {{service}}") + 1)


def test_everything_replaced() -> None:
    size = edit_size("abc", "xyz")
    assert (size.changed_chars, size.similarity) == (6, 0.0)


@given(st.text(max_size=200), st.text(max_size=200))
def test_edit_size_is_bounded_and_symmetric_in_size(a: str, b: str) -> None:
    forward, backward = edit_size(a, b), edit_size(b, a)
    assert 0.0 <= forward.similarity <= 1.0
    assert forward.changed_chars <= forward.ai_chars + forward.final_chars
    assert forward.changed_chars == backward.changed_chars
    assert (forward.changed_chars == 0) == (forward.similarity == 1.0)


def test_origins_of_a_drafted_script() -> None:
    session, message = uuid.uuid4(), uuid.uuid4()
    basis = DraftBasis(
        ai_script=AI,
        recipe_id="restart-windows-service",
        script_builder_session_id=session,
        ai_message_id=message,
    )
    as_is = drafted_provenance(basis, AI + "\n")
    assert as_is.origin is ScriptOrigin.AI_DRAFT
    assert (as_is.recipe_id, as_is.ai_message_id) == ("restart-windows-service", message)
    edited = drafted_provenance(basis, AI + "\nWrite-Host done")
    assert edited.origin is ScriptOrigin.AI_DRAFT_EDITED
    assert edited.edit == edit_size(AI, AI + "\nWrite-Host done")
    rewritten = drafted_provenance(basis, "x" * 500)
    assert rewritten.origin is ScriptOrigin.HAND_WRITTEN
    assert rewritten.edit is not None and rewritten.edit.similarity < HAND_WRITTEN_BELOW
    by_hand = drafted_provenance(DraftBasis(script_builder_session_id=session), "ls")
    assert by_hand == Provenance(ScriptOrigin.HAND_WRITTEN, script_builder_session_id=session)


def test_provenance_round_trips_through_json() -> None:
    values = [
        template_provenance(uuid.uuid4(), 3, "clear-print-queue"),
        drafted_provenance(DraftBasis(ai_script=AI, ai_message_id=uuid.uuid4()), AI + "x"),
        Provenance(ScriptOrigin.HAND_WRITTEN),
        Provenance(ScriptOrigin.AI_DRAFT, edit=EditSize(1, 1, 0, 0, 1.0)),
    ]
    for value in values:
        assert Provenance.from_json(value.to_json()) == value


def _whole_diff_changed_chars(a: str, b: str) -> tuple[int, int]:
    """The measure without setting shared ends aside: difflib over the whole texts."""
    old, new = a.split("\n"), b.split("\n")
    lines, chars = 0, 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, False).get_opcodes():
        if tag == "equal":
            continue
        lines += (i2 - i1) + (j2 - j1)
        x, y = "\n".join(old[i1:i2]), "\n".join(new[j1:j2])
        if tag == "replace":
            ops = difflib.SequenceMatcher(None, x, y, False).get_opcodes()
            chars += sum((b2 - b1) + (d2 - d1) for op, b1, b2, d1, d2 in ops if op != "equal")
        else:
            chars += len(x) + len(y) + 1
    return lines, chars


@given(st.integers(0, 59), st.sampled_from(["replace", "insert", "delete", "retype"]))
def test_a_local_edit_in_a_long_script_measures_as_a_whole_diff_would(line: int, edit: str) -> None:
    """Setting the shared start and end aside (for speed) changes nothing for
    the edits engineers make: one line changed, added or removed."""
    script = [f'Write-Output "step {n}: checking the spooler"' for n in range(60)]
    edited = list(script)
    if edit == "replace":
        edited[line] = edited[line].replace("checking", "restarting")
    elif edit == "insert":
        edited.insert(line, "Start-Sleep -Seconds 2")
    elif edit == "delete":
        del edited[line]
    else:
        edited[line] = "Get-Service Spooler | Restart-Service -PassThru"
    a, b = "\n".join(script), "\n".join(edited)
    size = edit_size(a, b)
    assert (size.changed_lines, size.changed_chars) == _whole_diff_changed_chars(a, b)


# Few distinct lines, so that lists share some and not others.
_LINES = st.lists(st.sampled_from(["a", "b", "c", "", "Get-Service x"]), max_size=8)


@given(_LINES, _LINES)
def test_line_opcodes_are_difflibs(old: list[str], new: list[str]) -> None:
    """The shortcut for blocks without a shared line answers what difflib does."""
    expected = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    assert line_opcodes(old, new) == expected


@given(st.text(alphabet="ab\n", max_size=40), st.text(alphabet="ab\n", max_size=40))
def test_the_shared_start_and_end_are_found_as_an_item_by_item_scan_would(a: str, b: str) -> None:
    head, tail = _common_ends(a, b)
    limit = min(len(a), len(b))
    scanned_head = next((i for i in range(limit) if a[i] != b[i]), limit)
    scanned_tail = next(
        (i for i in range(limit - scanned_head) if a[-1 - i] != b[-1 - i]), limit - scanned_head
    )
    assert (head, tail) == (scanned_head, scanned_tail)
