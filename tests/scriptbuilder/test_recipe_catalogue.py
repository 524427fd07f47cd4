"""The recipe catalogue, file by file: every script parses in its language,
every placeholder is declared and every parameter used, every value the
template renderer writes stays inside its literal, and the scripts follow the
house rules (fail on errors, parameters at the top, a dry run where they
change something). Read-only recipes also run for real here."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from flowpilot.kernel import ScriptLanguage
from flowpilot.kernel.quoting import quote_powershell
from flowpilot.kernel.scripts import ParameterType, literal, placeholders, render
from scriptbuilder_service.domain.recipes import Recipe, RecipeError, parse_recipe
from scriptbuilder_service.recipes import load_recipes, recipe_files
from tests.kernel.powershell import (
    param_block_span,
    read_powershell_single_quoted,
    script_parameters,
    syntax_errors,
)

RECIPES = load_recipes()
BY_ID = {r.id: r for r in RECIPES}
SCRIPTS = [(r, lang) for r in RECIPES for lang in r.languages]
SCRIPT_IDS = [f"{r.id}-{lang.value}" for r, lang in SCRIPTS]
# Markers around the parameter section of bash and Python scripts.
PARAMS_START = "# --- parameters ---"
PARAMS_END = "# --- end of parameters ---"

# A string that tries every way out of a literal in the three languages.
HOSTILE = (
    "x'; Remove-Item C:\\ -Recurse; '\u2018\u2019\u201a\u201b $(id) `id` ${HOME} \"; "
    "rm -rf / #\n\t{{other}} \\ !! %s"
)


def hostile_values(recipe: Recipe) -> dict[str, Any]:
    """A value for every parameter; each string one is hostile and distinct."""
    values: dict[str, Any] = {}
    for p in recipe.template_parameters:
        if p.type is ParameterType.STRING:
            values[p.name] = f"{p.name}:{HOSTILE}"
        elif p.type is ParameterType.INTEGER:
            values[p.name] = 7
        elif p.type is ParameterType.BOOLEAN:
            values[p.name] = True
        else:
            values[p.name] = p.choices[-1]
    return values


def default_values(recipe: Recipe) -> dict[str, Any]:
    """Defaults, plus a plain value for the required parameters."""
    samples = {ParameterType.STRING: "sample", ParameterType.INTEGER: 8080}
    return {p.name: samples[p.type] for p in recipe.template_parameters if p.required}


def test_the_catalogue_is_big_enough_and_covers_the_support_areas():
    assert len(RECIPES) >= 40
    assert len(recipe_files()) == len(RECIPES)
    languages = {lang for r in RECIPES for lang in r.languages}
    assert languages == set(ScriptLanguage)
    # The areas the issue names, each by one of its recipes.
    for area in (
        "restart-windows-service",
        "clear-print-queue",
        "flush-dns-reset-network",
        "free-disk-space-windows",
        "reset-windows-update",
        "reset-outlook-cache",
        "clear-teams-cache",
        "repair-office-install",
        "resync-time-windows",
        "renew-machine-certificates",
        "unlock-ad-account",
        "report-password-expiry",
        "remap-network-drive",
        "clear-browser-cache",
        "restart-systemd-unit",
        "inspect-systemd-unit",
        "force-logrotate",
        "clean-package-cache",
        "find-disk-usage-linux",
    ):
        assert area in BY_ID, area


@pytest.mark.parametrize(("recipe", "language"), SCRIPTS, ids=SCRIPT_IDS)
def test_every_placeholder_is_declared_once_and_every_parameter_used(
    recipe: Recipe, language: ScriptLanguage
):
    body = recipe.scripts[language]
    names = [p.name for p in recipe.template_parameters]
    assert sorted(placeholders(body)) == sorted(names)
    for name in names:
        # One place only: the parameter section; the code uses the variable.
        assert len(re.findall(r"\{\{\s*" + name + r"\s*\}\}", body)) == 1, name


@pytest.mark.parametrize(("recipe", "language"), SCRIPTS, ids=SCRIPT_IDS)
def test_defaults_fit_their_types(recipe: Recipe, language: ScriptLanguage):
    # Checked by the template rules (a default that does not fit is refused).
    template = recipe.template(language)
    for p in template.parameters:
        assert p.description.strip()
        if p.type is ParameterType.ENUM:
            assert p.default is None or p.default in p.choices
        if not p.required:
            assert p.default is not None, f"{p.name}: an optional parameter needs a safe default"


@pytest.mark.parametrize(("recipe", "language"), SCRIPTS, ids=SCRIPT_IDS)
def test_house_rules(recipe: Recipe, language: ScriptLanguage):
    body = recipe.scripts[language]
    changes = "dry_run" in {p.name for p in recipe.parameters}
    if language is ScriptLanguage.POWERSHELL:
        assert "$ErrorActionPreference = 'Stop'" in body
        assert re.search(r"^param\($", body, re.MULTILINE), "parameters in a param() block"
        if changes:
            # -WhatIf works too, and sets the dry run.
            assert "[CmdletBinding(SupportsShouldProcess)]" in body
            assert "$DryRun = $DryRun -or [bool]$WhatIfPreference" in body
        assert re.search(r"exit 1", body), "a failure exits non-zero"
    elif language is ScriptLanguage.BASH:
        assert body.startswith("#!/usr/bin/env bash\n")
        assert "\nset -euo pipefail\n" in body
        assert PARAMS_START in body and PARAMS_END in body
    else:
        assert body.startswith("#!/usr/bin/env python3\n")
        assert 'if __name__ == "__main__":\n    sys.exit(main())' in body
        assert PARAMS_START in body and PARAMS_END in body
    assert recipe.summary and recipe.keywords and recipe.synonyms


def _section(script: str) -> tuple[str, str, str]:
    before, rest = script.split(PARAMS_START + "\n", 1)
    section, after = rest.split(PARAMS_END, 1)
    return before, section, after


BASH = [(r, lang) for r, lang in SCRIPTS if lang is ScriptLanguage.BASH]
PYTHON = [(r, lang) for r, lang in SCRIPTS if lang is ScriptLanguage.PYTHON]
POWERSHELL = [(r, lang) for r, lang in SCRIPTS if lang is ScriptLanguage.POWERSHELL]


@pytest.mark.integration  # bash -n in a subprocess
@pytest.mark.parametrize(("recipe", "language"), BASH, ids=[r.id for r, _ in BASH])
def test_bash_scripts_parse_and_keep_every_value_in_its_literal(
    recipe: Recipe, language: ScriptLanguage, tmp_path: Path
):
    for values in (default_values(recipe), hostile_values(recipe)):
        script = render(language, recipe.scripts[language], recipe.template_parameters, values)
        checked = subprocess.run(["bash", "-n"], input=script.encode(), capture_output=True)
        assert checked.returncode == 0, checked.stderr.decode()
    # The parameter section, run on its own: each variable holds exactly the
    # hostile value (nothing ran, nothing was split or expanded).
    _, section, _ = _section(script)
    assignments = re.findall(
        r"^([a-z_]+)=\{\{(\w+)\}\}$", _section(recipe.scripts[language])[1], re.M
    )
    assert len(assignments) == len(recipe.parameters), "one `name={{name}}` line per parameter"
    dump = "".join(f'printf "%s\\0" "${var}"\n' for var, _ in assignments)
    out = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + section + dump],
        capture_output=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr.decode()
    got = out.stdout.split(b"\0")[:-1]
    # A boolean is the word bash tests with `if $flag` (true/false).
    expected = [
        literal(language, values[name]) if isinstance(values[name], bool) else str(values[name])
        for _, name in assignments
    ]
    assert [g.decode() for g in got] == expected
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration  # shellcheck in a subprocess
def test_bash_scripts_pass_shellcheck():
    """Every bash script, rendered, has no ShellCheck finding at any
    severity (a disabled check says why, next to it)."""
    findings = {}
    for recipe, language in BASH:
        script = render(
            language, recipe.scripts[language], recipe.template_parameters, default_values(recipe)
        )
        out = subprocess.run(
            ["shellcheck", "--shell=bash", "--severity=style", "--format=gcc", "-"],
            input=script.encode(),
            capture_output=True,
        )
        if out.returncode:
            findings[recipe.id] = out.stdout.decode()
    assert findings == {}
    broken = subprocess.run(
        ["shellcheck", "--shell=bash", "-"], input=b"rm -rf $dir/*\n", capture_output=True
    )
    assert broken.returncode != 0  # the check can fail


@pytest.mark.integration  # python in a subprocess
@pytest.mark.parametrize(("recipe", "language"), PYTHON, ids=[r.id for r, _ in PYTHON])
def test_python_scripts_compile_and_keep_every_value_in_its_literal(
    recipe: Recipe, language: ScriptLanguage, tmp_path: Path
):
    for index, values in enumerate((default_values(recipe), hostile_values(recipe))):
        script = render(language, recipe.scripts[language], recipe.template_parameters, values)
        source = tmp_path / f"script{index}.py"
        source.write_text(script)
        compiled = subprocess.run(
            [sys.executable, "-m", "py_compile", str(source)], capture_output=True
        )
        assert compiled.returncode == 0, compiled.stderr.decode()
    _, section, _ = _section(script)
    module = ast.parse(section)
    assigned = {}
    for node in module.body:
        assert isinstance(node, ast.Assign), "only NAME = {{name}} lines in the parameter section"
        assigned[node.targets[0].id] = ast.literal_eval(node.value)  # type: ignore[attr-defined]
    raw = _section(recipe.scripts[language])[1]
    pairs = re.findall(r"^([A-Z_]+) = \{\{(\w+)\}\}$", raw, re.M)
    assert len(pairs) == len(recipe.parameters)
    assert {var: assigned[var] for var, _ in pairs} == {var: values[name] for var, name in pairs}


@pytest.mark.parametrize(("recipe", "language"), POWERSHELL, ids=[r.id for r, _ in POWERSHELL])
def test_powershell_scripts_parse_and_keep_every_value_in_its_literal(
    recipe: Recipe, language: ScriptLanguage
):
    for values in (default_values(recipe), hostile_values(recipe)):
        script = render(language, recipe.scripts[language], recipe.template_parameters, values)
        assert syntax_errors(script) == []
    hostile = {p.name for p in recipe.template_parameters if p.type is ParameterType.STRING}
    # Every placeholder is the default of one script parameter, and after
    # rendering that default is one literal holding exactly the value.
    span = param_block_span(script)
    assert span is not None, "a top-level param() block"
    parameters = {p.variable: p for p in script_parameters(script)}
    body = recipe.scripts[language]
    bound = dict(re.findall(r"(\$\w+) = \{\{(\w+)\}\}", body))
    assert sorted(bound.values()) == sorted(p.name for p in recipe.parameters)
    for variable, name in bound.items():
        parameter = parameters[variable]
        value = values[name]
        assert parameter.default == literal(language, value)
        if isinstance(value, str):
            assert parameter.default_type == "string_literal"
            assert read_powershell_single_quoted(parameter.default) == (value, "")
        if name in hostile:
            # Only there: the hostile value appears nowhere else in the script.
            assert script.count(quote_powershell(value)) == 1
            position = script.index(quote_powershell(value))
            assert span[0] <= position < span[1]


def test_the_powershell_checks_catch_broken_scripts():
    """The checks above can fail: a broken brace, a bad variable in a string,
    a value that escaped its literal."""
    assert syntax_errors("if ($x) { Write-Output 'a'")
    assert syntax_errors('Write-Output "$env:USERNAME: done"')
    assert syntax_errors("param(\n[string]$A = 'x'\n)\n$y = (1 + ") != []
    escaped = "param(\n    [string]$Name = 'x'; Remove-Item C:\\; 'y'\n)\n"
    assert syntax_errors(escaped) or script_parameters(escaped)[0].default != "'x'"


def test_a_recipe_file_must_be_a_valid_recipe():
    good = {
        "id": "demo",
        "title": "Demo",
        "summary": "Does a demo.",
        "platform": "linux",
        "keywords": ["demo"],
        "synonyms": ["a demo"],
        "parameters": [
            {"name": "unit", "type": "string", "default": "x", "description": "A unit."}
        ],
        "scripts": {"bash": "echo {{unit}}"},
    }
    assert parse_recipe(good, source="demo").languages == (ScriptLanguage.BASH,)
    broken = [
        ({"id": "other"}, "file name"),
        ({"platform": "mac"}, "platform"),
        ({"scripts": {"bash": "echo {{unit}} {{host}}"}}, "undeclared"),
        ({"scripts": {"bash": "echo"}}, "not used"),
        ({"scripts": {"cobol": "x"}}, "language"),
        ({"keywords": []}, "keywords"),
        ({"surprise": 1}, "unknown keys"),
        (
            {
                "parameters": [
                    {"name": "unit", "type": "integer", "default": "x", "description": "d"}
                ]
            },
            "default",
        ),
        (
            {"parameters": [{"name": "unit", "type": "string", "default": "x", "description": ""}]},
            "description",
        ),
        (
            {
                "parameters": [
                    {
                        "name": "unit",
                        "type": "string",
                        "default": "x",
                        "description": "d",
                        "fill": "days",
                    }
                ]
            },
            "integer",
        ),
    ]
    for change, reason in broken:
        with pytest.raises(RecipeError, match=reason):
            parse_recipe(good | change, source="demo")


def _run(language: ScriptLanguage, recipe: Recipe, values: dict[str, Any], **kw: Any):
    script = render(language, recipe.scripts[language], recipe.template_parameters, values)
    argv = ["bash", "-s"] if language is ScriptLanguage.BASH else [sys.executable, "-I", "-"]
    return subprocess.run(argv, input=script.encode(), capture_output=True, timeout=60, **kw)


@pytest.mark.integration  # runs the script
@pytest.mark.parametrize("language", [ScriptLanguage.BASH, ScriptLanguage.PYTHON])
def test_port_test_runs_for_real(language: ScriptLanguage):
    recipe = BY_ID["test-port-connectivity"]
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        opened = _run(language, recipe, {"host": "127.0.0.1", "port": port, "timeout_seconds": 3})
    assert opened.returncode == 0, opened.stderr.decode()
    assert b"OPEN: 127.0.0.1:" in opened.stdout
    closed = _run(language, recipe, {"host": "127.0.0.1", "port": port, "timeout_seconds": 3})
    assert closed.returncode == 1
    assert b"CLOSED" in closed.stdout


@pytest.mark.integration  # runs the script
@pytest.mark.parametrize("language", [ScriptLanguage.BASH, ScriptLanguage.PYTHON])
def test_log_cleanup_runs_for_real_dry_run_first(language: ScriptLanguage, tmp_path: Path):
    recipe = BY_ID["cleanup-old-logs"]
    now = time.time()
    for name, age_days in (("new.log", 1), ("old.log", 40), ("older.log", 90), ("keep.txt", 90)):
        path = tmp_path / name
        path.write_text("x" * 100)
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    (tmp_path / "it's; $(touch pwned)").mkdir()
    values = {"path": str(tmp_path), "days": 30}
    dry = _run(language, recipe, values)
    assert dry.returncode == 0, dry.stderr.decode()
    assert b"2 file(s)" in dry.stdout and b"DRY RUN" in dry.stdout
    assert len(list(tmp_path.iterdir())) == 5
    real = _run(language, recipe, values | {"dry_run": False})
    assert real.returncode == 0, real.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "it's; $(touch pwned)",
        "keep.txt",
        "new.log",
    ]


@pytest.mark.integration  # runs the script
@pytest.mark.parametrize("language", [ScriptLanguage.BASH, ScriptLanguage.PYTHON])
def test_read_only_reports_run_for_real(language: ScriptLanguage, tmp_path: Path):
    (tmp_path / "big.bin").write_bytes(b"\0" * 300_000)
    usage = _run(language, BY_ID["find-disk-usage-linux"], {"path": str(tmp_path), "count": 5})
    assert usage.returncode == 0, usage.stderr.decode()
    assert str(tmp_path / "big.bin").encode() in usage.stdout
    top = _run(language, BY_ID["report-top-processes"], {"count": 3})
    assert top.returncode == 0, top.stderr.decode()
    assert len([line for line in top.stdout.splitlines() if line.strip()]) >= 4
