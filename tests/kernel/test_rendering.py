"""Rendering with typed parameters (the shared kernel, CONTRACT §3): values
are checked against the schema, defaults filled, and parameters inferred for
scripts drafted without a schema. Quoting itself: test_quoting.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.scripts import (
    Parameter,
    ParameterType,
    check_parameters,
    check_placeholders,
    inferred_parameter,
    inferred_parameters,
    render,
)
from flowpilot.runtime.errors import InvalidArgument

S = ParameterType.STRING


PARAMS = (
    Parameter("name", S, required=True),
    Parameter("count", ParameterType.INTEGER, default=1),
    Parameter("force", ParameterType.BOOLEAN),
    Parameter("mode", ParameterType.ENUM, choices=("fast", "safe")),
)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({}, "MISSING_PARAMETER"),
        ({"name": None}, "MISSING_PARAMETER"),
        ({"name": "a", "extra": 1}, "UNKNOWN_PARAMETER"),
        ({"name": 5}, "INVALID_PARAMETER_VALUE"),
        ({"name": "a", "count": "5"}, "INVALID_PARAMETER_VALUE"),
        ({"name": "a", "count": 1.5}, "INVALID_PARAMETER_VALUE"),
        ({"name": "a", "count": True}, "INVALID_PARAMETER_VALUE"),
        ({"name": "a", "count": float("inf")}, "INVALID_PARAMETER_VALUE"),
        ({"name": "a", "count": 2.0**60}, "INVALID_PARAMETER_VALUE"),
        ({"name": "a", "force": "yes"}, "INVALID_PARAMETER_VALUE"),
        ({"name": "a", "mode": "slow"}, "INVALID_PARAMETER_VALUE"),
        ({"name": ["a"]}, "INVALID_PARAMETER_VALUE"),
        ({"name": "x" * 10_001}, "INVALID_PARAMETER_VALUE"),
    ],
)
def test_render_values_are_checked(values, reason):
    with pytest.raises(InvalidArgument) as info:
        render(ScriptLanguage.BASH, "{{name}} {{count}} {{force}} {{mode}}", PARAMS, values)
    assert info.value.reason == reason


def test_render_fills_defaults():
    out = render(
        ScriptLanguage.POWERSHELL, "{{name}} {{count}} {{force}} {{mode}}", PARAMS, {"name": "svc"}
    )
    assert out == "'svc' 1 $null $null"


def test_a_value_holding_a_placeholder_stays_text():
    params = (Parameter("a", S), Parameter("b", S))
    out = render(ScriptLanguage.BASH, "{{a}} {{b}}", params, {"a": "{{b}}", "b": "x"})
    assert out == "'{{b}}' 'x'"


@pytest.mark.parametrize(
    ("body", "params", "reason"),
    [
        ("echo {{a}} {{b}}", (Parameter("a", S),), "UNDECLARED_PARAMETER"),
        ("echo {{a}}", (Parameter("a", S), Parameter("b", S)), "UNUSED_PARAMETER"),
    ],
)
def test_placeholders_and_parameters_agree(body, params, reason):
    with pytest.raises(InvalidArgument) as info:
        check_placeholders(body, params, body_field="script", parameters_field="params")
    assert info.value.reason == reason
    assert info.value.metadata["field"] in ("script", "params")


def test_parameter_lists_are_bounded_and_unique():
    with pytest.raises(InvalidArgument) as info:
        check_parameters((Parameter("a", S), Parameter("a", S)), "script_parameters")
    assert info.value.reason == "DUPLICATE_PARAMETER"
    assert info.value.metadata["field"] == "script_parameters"
    with pytest.raises(InvalidArgument) as info:
        check_parameters((Parameter("1a", S),), "script_parameters")
    assert info.value.metadata["field"] == "script_parameters[0].name"
    with pytest.raises(InvalidArgument):
        check_parameters(tuple(Parameter(f"p{i}", S) for i in range(51)))


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (None, Parameter("x", S, required=True)),
        ("Spooler", Parameter("x", S, default="Spooler")),
        (True, Parameter("x", ParameterType.BOOLEAN, default=True)),
        (3, Parameter("x", ParameterType.INTEGER, default=3)),
        (3.0, Parameter("x", ParameterType.INTEGER, default=3)),
        (2.0**60, Parameter("x", S, required=True)),
        (float("nan"), Parameter("x", S, required=True)),
        ({"a": 1}, Parameter("x", S, required=True)),
        (
            {"type": "enum", "choices": ["a", "b"], "default": "b"},
            Parameter("x", ParameterType.ENUM, default="b", choices=("a", "b")),
        ),
        ({"type": "enum"}, Parameter("x", S, required=True)),
        ("x" * 10_001, Parameter("x", S, required=True)),
    ],
)
def test_inferred_parameters_take_usable_hints(hint, expected):
    assert inferred_parameter("x", hint) == expected


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=20)
        | st.dictionaries(st.text(), st.text()),
    )
)
def test_inferred_parameters_always_pass_the_schema_checks(hints):
    body = " ".join(f"{{{{{name}}}}}" for name in hints)
    params = inferred_parameters(body, hints)
    assert check_parameters(params) == params
    check_placeholders(body, params)
