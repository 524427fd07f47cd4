"""Literals per script language (CONTRACT §3): no value can leave its literal.

Shared by template rendering (script-builder) and fix rendering (fixes
service), so both quote alike.

NUL cannot travel through any of these (bash strings and argv end at NUL;
PostgreSQL cannot store it), so values with NUL are refused before they get
here; `quote_*` raise `ValueError` on them as a second line of defence.
"""

from __future__ import annotations

from flowpilot.kernel import ScriptLanguage

# PowerShell treats the ASCII apostrophe and these four as single quotes, and
# inside a single-quoted string any of them doubled stands for itself.
POWERSHELL_SINGLE_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValueError("NUL cannot be quoted")


def quote_powershell(value: str) -> str:
    _no_nul(value)
    out = value
    for quote in POWERSHELL_SINGLE_QUOTES:
        out = out.replace(quote, quote * 2)
    return f"'{out}'"


def quote_bash(value: str) -> str:
    """POSIX single quotes; a `'` closes, adds an escaped quote and reopens.

    Always quoted (unlike `shlex.quote`), so `{{name}}` renders the same shape
    whatever the value.
    """
    _no_nul(value)
    return "'" + value.replace("'", "'\\''") + "'"


def quote_python(value: str) -> str:
    """`repr` of a `str` is a Python literal that evaluates to the same string."""
    _no_nul(value)
    return repr(value)


def quote_string(language: ScriptLanguage, value: str) -> str:
    if language is ScriptLanguage.POWERSHELL:
        return quote_powershell(value)
    if language is ScriptLanguage.BASH:
        return quote_bash(value)
    return quote_python(value)


def render_bool(language: ScriptLanguage, value: bool) -> str:
    if language is ScriptLanguage.POWERSHELL:
        return "$true" if value else "$false"
    if language is ScriptLanguage.PYTHON:
        return "True" if value else "False"
    # bash has no booleans; the words are what `if $flag; then` expects.
    return "true" if value else "false"


def render_null(language: ScriptLanguage) -> str:
    """An optional parameter left without value and without default."""
    if language is ScriptLanguage.POWERSHELL:
        return "$null"
    if language is ScriptLanguage.PYTHON:
        return "None"
    return "''"
