"""Rendering quotes every value so that it cannot leave its literal (CONTRACT §3).

bash and Python literals are checked by real interpreters: the rendered
script prints the value back and we compare bytes. PowerShell is not installed
here, so its literal is checked against the language's quoting rules by a small
reference reader of single-quoted strings.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.quoting import (
    POWERSHELL_SINGLE_QUOTES,
    quote_bash,
    quote_powershell,
    quote_python,
)
from flowpilot.kernel.scripts import Parameter, ParameterType, render
from flowpilot.runtime.errors import InvalidArgument
from tests.kernel.powershell import read_powershell_single_quoted

NASTY = [
    "",
    "'",
    "''",
    '"',
    "it's",
    "$(rm -rf /tmp/x)",
    "`id`",
    "a; echo pwned",
    "line1\nline2\n",
    "\r\n\t",
    "\\",
    "'\\''",
    "${HOME}",
    "!!",
    "\u2018smart\u2019 \u201alow\u201b",
    "\"; import os; os.system('id'); x = \"",
    "{{value}}",
    "\x7f\x1b[31m",
    "\u2028\u2029",
    "😀 naïve",
]

# Every character but NUL (refused, see test_nul_is_refused) and surrogates
# (a `str` from protobuf is always valid Unicode).
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

STRING_PARAM = (Parameter("value", ParameterType.STRING, required=True),)


def _run(argv: list[str], script: str) -> bytes:
    result = subprocess.run(argv, input=script.encode(), capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


@pytest.mark.integration  # runs bash
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@PROPERTY_SETTINGS
@given(TEXT)
@example("'; touch /tmp/flowpilot-pwned; echo '")
def test_bash_literal_round_trips_through_real_bash(value: str):
    script = render(ScriptLanguage.BASH, "printf '%s' {{value}}\n", STRING_PARAM, {"value": value})
    # A script read from stdin: argv cannot carry every character.
    out = _run(["bash", "-s"], script)
    assert out == value.encode()


@pytest.mark.integration  # runs python
@PROPERTY_SETTINGS
@given(TEXT)
def test_python_literal_round_trips_through_real_python(value: str):
    body = "import sys\nsys.stdout.buffer.write({{value}}.encode('utf-8'))\n"
    script = render(ScriptLanguage.PYTHON, body, STRING_PARAM, {"value": value})
    out = _run([sys.executable, "-I", "-"], script)
    assert out == value.encode()


@pytest.mark.integration  # runs bash and python
@pytest.mark.parametrize("value", NASTY)
def test_fixed_nasty_values_round_trip(value: str):
    bash_script = render(
        ScriptLanguage.BASH, "printf '%s' {{value}}", STRING_PARAM, {"value": value}
    )
    assert _run(["bash", "-s"], bash_script) == value.encode()
    py_script = render(
        ScriptLanguage.PYTHON,
        "import sys\nsys.stdout.buffer.write({{value}}.encode())",
        STRING_PARAM,
        {"value": value},
    )
    assert _run([sys.executable, "-I", "-"], py_script) == value.encode()
    assert read_powershell_single_quoted(quote_powershell(value)) == (value, "")


@given(TEXT)
def test_powershell_literal_is_one_string_with_the_value(value: str):
    quoted = quote_powershell(value)
    # Followed by code, the literal still ends exactly where we put its end.
    parsed, rest = read_powershell_single_quoted(quoted + "; Remove-Item C:\\")
    assert rest == "; Remove-Item C:\\"
    # Every quote character of the value came through, as itself.
    assert parsed == value


@pytest.mark.parametrize("quote", POWERSHELL_SINGLE_QUOTES)
def test_every_powershell_single_quote_is_doubled(quote: str):
    assert quote_powershell(f"a{quote}b") == f"'a{quote}{quote}b'"
    # Undoubled, the smart quote would have closed the string early.
    parsed, rest = read_powershell_single_quoted(f"'a{quote}b'")
    assert (parsed, rest) == ("a", "b'")


def test_powershell_leaves_dollar_and_backtick_alone():
    # Single-quoted strings do not expand: no escaping of $ or ` is needed.
    assert quote_powershell("$env:PATH `n $(Get-Date)") == "'$env:PATH `n $(Get-Date)'"


def test_typed_values_render_per_language():
    params = (
        Parameter("n", ParameterType.INTEGER, required=True),
        Parameter("flag", ParameterType.BOOLEAN, default=False),
        Parameter("color", ParameterType.ENUM, choices=("red", "it's blue")),
    )
    body = "{{n}} {{flag}} {{color}}"
    values = {"n": 42.0, "color": "it's blue"}
    assert render(ScriptLanguage.POWERSHELL, body, params, values) == "42 $false 'it''s blue'"
    assert render(ScriptLanguage.BASH, body, params, values) == "42 false 'it'\\''s blue'"
    assert render(ScriptLanguage.PYTHON, body, params, values) == '42 False "it\'s blue"'
    # An optional parameter with neither value nor default is the language's null.
    assert render(ScriptLanguage.POWERSHELL, body, params, {"n": 1}) == "1 $false $null"
    assert render(ScriptLanguage.PYTHON, body, params, {"n": 1}) == "1 False None"
    assert render(ScriptLanguage.BASH, body, params, {"n": 1}) == "1 false ''"


def test_values_are_not_re_expanded():
    params = (
        Parameter("a", ParameterType.STRING, required=True),
        Parameter("b", ParameterType.STRING, required=True),
    )
    out = render(ScriptLanguage.BASH, "{{a}} {{b}}", params, {"a": "{{b}}", "b": "x"})
    assert out == "'{{b}}' 'x'"


def test_nul_is_refused():
    """NUL cannot pass through bash, argv or PostgreSQL: refused with 400."""
    with pytest.raises(InvalidArgument) as info:
        render(ScriptLanguage.BASH, "{{value}}", STRING_PARAM, {"value": "a\x00b"})
    assert info.value.reason == "INVALID_PARAMETER_VALUE"
    for quote in (quote_bash, quote_python, quote_powershell):
        with pytest.raises(ValueError):
            quote("\x00")
