"""`replacer`: `dataclasses.replace` compiled for one class (issue 13): pure code."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixes_service.domain.model import Fix, replace_fix
from flowpilot.kernel.records import replacer
from tests.fixes.test_domain import make_fix

FIX = make_fix()
FIELDS = [f.name for f in dataclasses.fields(Fix)]


@given(st.sets(st.sampled_from(FIELDS)), st.integers())
def test_it_answers_what_dataclasses_replace_does(names: set[str], marker: int) -> None:
    changes: dict[str, Any] = {name: (name, marker) for name in names}
    replaced = replace_fix(FIX, **changes)
    assert replaced == dataclasses.replace(FIX, **changes)
    assert type(replaced) is Fix
    assert all(getattr(replaced, n) == getattr(FIX, n) for n in FIELDS if n not in names)


def test_it_leaves_the_original_alone() -> None:
    title = FIX.title
    replace_fix(FIX, title="Another title")
    assert FIX.title == title


def test_an_unknown_field_is_refused_as_replace_refuses_it() -> None:
    with pytest.raises(TypeError, match="tittle"):
        replace_fix(FIX, tittle="typo")


def test_the_class_init_still_runs() -> None:
    @dataclasses.dataclass(frozen=True)
    class Checked:
        size: int

        def __post_init__(self) -> None:
            if self.size < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError, match="negative"):
        replacer(Checked)(Checked(1), size=-1)


def test_a_class_with_fields_outside_the_positional_init_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class KeywordOnly:
        a: int
        b: int = dataclasses.field(default=0, kw_only=True)

    with pytest.raises(TypeError, match=r"\['b'\]"):
        replacer(KeywordOnly)
