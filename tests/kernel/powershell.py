"""PowerShell in tests without pwsh: the language's single-quoted string
rule as a reference reader, and its grammar (tree-sitter-powershell)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter
import tree_sitter_powershell

from flowpilot.kernel.quoting import POWERSHELL_SINGLE_QUOTES

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
# "$name:" in an expandable string is a parse error in PowerShell ("':' was
# not followed by a valid variable name character"); the grammar accepts it.
_COLON_AFTER_VARIABLE = re.compile(r"\$(?:\w+:)?\w+:(?![\w{])")


def read_powershell_single_quoted(source: str) -> tuple[str, str]:
    """Reads one PowerShell single-quoted string at the start of `source`:
    (its value, the rest). Rules (about_Quoting_Rules, the tokenizer): the
    string opens and closes with any of ' ‘ ’ ‚ ‛; inside, any of them followed
    by another of them stands for one quote; nothing else is special."""
    assert source[0] in POWERSHELL_SINGLE_QUOTES, "does not open a single-quoted string"
    out: list[str] = []
    i = 1
    while i < len(source):
        char = source[i]
        if char in POWERSHELL_SINGLE_QUOTES:
            if i + 1 < len(source) and source[i + 1] in POWERSHELL_SINGLE_QUOTES:
                out.append(char)
                i += 2
                continue
            return "".join(out), source[i + 1 :]
        out.append(char)
        i += 1
    raise AssertionError("unterminated single-quoted string")


def parse(script: str) -> tree_sitter.Tree:
    return _PARSER.parse(script.encode())


def _nodes(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    yield node
    for child in node.children:
        yield from _nodes(child)


def syntax_errors(script: str) -> list[str]:
    """Where the grammar fails (ERROR or MISSING nodes), plus the "$name:"
    mistake inside double-quoted strings that the grammar lets through."""
    tree = parse(script)
    errors = [
        f"line {n.start_point[0] + 1}: {'missing' if n.is_missing else 'cannot parse'} "
        f"{n.text.decode(errors='replace')[:60]!r}"
        for n in _nodes(tree.root_node)
        if n.type == "ERROR" or n.is_missing
    ]
    errors += [
        f"line {n.start_point[0] + 1}: '$name:' in {n.text.decode()[:60]!r}"
        for n in _nodes(tree.root_node)
        if n.type == "expandable_string_literal" and _COLON_AFTER_VARIABLE.search(n.text.decode())
    ]
    return errors


@dataclass(frozen=True)
class ScriptParameter:
    variable: str  # "$ComputerName"
    default: str | None  # the default's source text, "'srv01'"
    default_type: str | None  # its node type, "string_literal"


def script_parameters(script: str) -> list[ScriptParameter]:
    """The parameters of the script's top-level param() block."""
    tree = parse(script)
    blocks = [n for n in tree.root_node.children if n.type == "param_block"]
    if not blocks:
        return []
    out = []
    for node in _nodes(blocks[0]):
        if node.type != "script_parameter":
            continue
        variable = next(c for c in node.children if c.type == "variable").text.decode()
        defaults = [c for c in node.children if c.type == "script_parameter_default"]
        if not defaults:
            out.append(ScriptParameter(variable, None, None))
            continue
        value = defaults[0].text.decode().removeprefix("=").strip()
        literal = next(
            (n for n in _nodes(defaults[0]) if n.type in ("string_literal", "variable")), None
        )
        kind = literal.type if literal is not None and literal.text.decode() == value else None
        out.append(ScriptParameter(variable, value, kind))
    return out


def param_block_span(script: str) -> tuple[int, int] | None:
    """Character offsets of the top-level param() block (with its attributes)."""
    tree = parse(script)
    blocks = [n for n in tree.root_node.children if n.type == "param_block"]
    if not blocks:
        return None
    data = script.encode()
    start, end = blocks[0].start_byte, blocks[0].end_byte
    return len(data[:start].decode()), len(data[:end].decode())
