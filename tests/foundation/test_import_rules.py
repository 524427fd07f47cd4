"""The import rules of docs/architecture.md, read from the source with `ast`.

* The services never import each other, the gateway or the benchmark.
* The gateway never imports a service (it knows them by their protos).
* The shared `flowpilot` package never imports a service or the gateway,
  except its composition root, `flowpilot/cli.py`.
* A service's `domain/` is pure: nothing of its service outside `domain/`, no
  transport, database or HTTP library, no generated stubs.

Every import counts, also those inside functions (the CLI's lazy ones).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from flowpilot.runtime.codegen import PROJECT_ROOT

SERVICES = ("fixes_service", "scriptbuilder_service")
COMPOSITION_ROOT = "flowpilot/cli.py"
# What a domain module may not import, whatever else it does.
IMPURE = (
    "grpc",
    "google.protobuf",
    "sqlalchemy",
    "asyncpg",
    "alembic",
    "httpx",
    "fastapi",
    "starlette",
    "flowpilot.api",
    "flowpilot.fixes",
    "flowpilot.scriptbuilder",
    "flowpilot.runtime.server",
    "flowpilot.runtime.grpc_errors",
    "flowpilot.runtime.db",
    "flowpilot.runtime.uow",
)


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project root
    line: int
    module: str


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path, relative: Path) -> list[Import]:
    tree = ast.parse((root / relative).read_text(), filename=str(relative))
    package = _module_name(relative).split(".")
    if relative.name != "__init__.py":
        package.pop()
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(str(relative), node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append(Import(str(relative), node.lineno, base))
    return found


def _within(module: str, packages: tuple[str, ...] | str) -> bool:
    packages = (packages,) if isinstance(packages, str) else packages
    return any(module == p or module.startswith(p + ".") for p in packages)


def violations(root: Path) -> list[str]:
    """Every import under `root` that breaks a rule, as `path:line: why`."""
    found: list[str] = []
    for top in (*SERVICES, "gateway", "flowpilot"):
        for path in sorted((root / top).rglob("*.py")):
            relative = path.relative_to(root)
            for imp in imports_of(root, relative):
                why = _broken_rule(imp)
                if why:
                    found.append(f"{imp.path}:{imp.line}: imports {imp.module}: {why}")
    return found


def _broken_rule(imp: Import) -> str | None:
    top = imp.path.split("/")[0]
    if top in SERVICES:
        others = tuple(s for s in SERVICES if s != top)
        if _within(imp.module, (*others, "gateway", "bench")):
            return "a service imports no other service, no gateway, no benchmark"
        if imp.path.startswith(f"{top}/domain/"):
            if _within(imp.module, top) and not _within(imp.module, f"{top}.domain"):
                return "the domain imports nothing of its service outside domain/"
            if _within(imp.module, IMPURE):
                return "the domain is pure: no transport, database, HTTP or stubs"
    elif top == "gateway" and _within(imp.module, (*SERVICES, "bench")):
        return "the gateway knows the services by their protos only"
    elif (
        top == "flowpilot"
        and imp.path != COMPOSITION_ROOT
        and _within(imp.module, (*SERVICES, "gateway", "bench"))
    ):
        return f"only the composition root ({COMPOSITION_ROOT}) knows the services"
    return None


def test_the_code_keeps_the_import_rules() -> None:
    assert violations(PROJECT_ROOT) == []


def test_the_composition_root_is_where_the_services_meet() -> None:
    """Not vacuous: the CLI does import every service and the gateway."""
    imported = {imp.module for imp in imports_of(PROJECT_ROOT, Path(COMPOSITION_ROOT))}
    for package in (*SERVICES, "gateway"):
        assert any(_within(m, package) for m in imported), package


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("fixes_service/service.py", "from scriptbuilder_service.domain import model\n"),
        ("scriptbuilder_service/adapters/x.py", "import fixes_service.main\n"),
        ("gateway/app.py", "def f():\n    from fixes_service import grpc_api\n"),
        ("flowpilot/runtime/server.py", "import gateway.app\n"),
        ("fixes_service/domain/model.py", "from ..adapters import repository\n"),
        ("scriptbuilder_service/domain/model.py", "import sqlalchemy\n"),
        ("fixes_service/domain/model.py", "from flowpilot.fixes.v1 import fixes_pb2\n"),
    ],
)
def test_each_rule_catches_a_violation(tmp_path: Path, path: str, source: str) -> None:
    for top in (*SERVICES, "gateway", "flowpilot"):
        (tmp_path / top).mkdir()
    (tmp_path / COMPOSITION_ROOT).write_text("import fixes_service.main\nimport gateway.app\n")
    target = tmp_path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    found = violations(tmp_path)
    assert len(found) == 1 and found[0].startswith(f"{path}:"), found
