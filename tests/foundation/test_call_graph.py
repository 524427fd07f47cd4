"""No call chain between the services can loop (docs/architecture.md, "Calls
between the services"), read from the source with `ast`.

The fixes service calls the script-builder (templates named by fixes) and the
script-builder calls the fixes service (AI-session access, fix context, the
outbox). That is safe only while every method one service calls on the other
is a leaf there: its handler calls no other service. A loop (A's handler
calls B, whose handler calls A back) could deadlock: both wait on each other
within their deadlines, holding their callers' calls, and under load their
callers' retries. So, for each direction:

* the methods a service's client calls (`self._stub.<Method>` in the client
  module), and
* the RPCs of the other service whose handler reaches its own client (the
  servicer method calls a use case that, directly or through other methods
  of its class, touches the client attribute)

must not meet.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from flowpilot.runtime.codegen import PROJECT_ROOT


@dataclass(frozen=True)
class ServiceSource:
    package: str
    # The module of its client of the other service, and the attribute its
    # use cases hold that client in.
    client_module: str
    client_attribute: str


FIXES = ServiceSource("fixes_service", "adapters/templates_client.py", "_templates")
SCRIPTBUILDER = ServiceSource("scriptbuilder_service", "adapters/fixes_client.py", "_fixes")


def called_methods(client_source: str) -> set[str]:
    """The RPCs a client module calls: every `self._stub.<Method>`."""
    found = set()
    for node in ast.walk(ast.parse(client_source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "_stub"
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "self"
        ):
            found.add(node.attr)
    return found


def _self_attributes(function: ast.AST) -> set[str]:
    return {
        node.attr
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


def use_cases_calling_out(service_source: str, client_attribute: str) -> set[str]:
    """Methods of the service-layer classes that reach `self.<client_attribute>`,
    directly or through other methods of their class."""
    calling: set[str] = set()
    for cls in ast.walk(ast.parse(service_source)):
        if not isinstance(cls, ast.ClassDef):
            continue
        methods = {
            f.name: _self_attributes(f)
            for f in cls.body
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        reaching = {name for name, used in methods.items() if client_attribute in used}
        while True:
            more = {name for name, used in methods.items() if used & reaching} - reaching
            if not more:
                break
            reaching |= more
        calling |= reaching
    return calling


def rpcs_calling_out(grpc_api_source: str, calling_use_cases: set[str]) -> set[str]:
    """Servicer methods (RPCs) that call a use case that calls out."""
    rpcs = set()
    for cls in ast.walk(ast.parse(grpc_api_source)):
        if not (isinstance(cls, ast.ClassDef) and cls.name.endswith("Servicer")):
            continue
        for method in cls.body:
            if not isinstance(method, ast.AsyncFunctionDef):
                continue
            used = {
                node.attr
                for node in ast.walk(method)
                if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "_service"
            }
            if used & calling_use_cases:
                rpcs.add(method.name)
    return rpcs


def _read(package: str, relative: str) -> str:
    return (PROJECT_ROOT / package / relative).read_text()


def _calling_out(service: ServiceSource) -> set[str]:
    service_source = _read(service.package, "service.py")
    assert f"self.{service.client_attribute}" in service_source, "the client attribute moved"
    use_cases = use_cases_calling_out(service_source, service.client_attribute)
    return rpcs_calling_out(_read(service.package, "grpc_api.py"), use_cases)


def test_every_method_a_service_calls_on_the_other_is_a_leaf_there() -> None:
    for caller, callee in ((FIXES, SCRIPTBUILDER), (SCRIPTBUILDER, FIXES)):
        called = called_methods(_read(caller.package, caller.client_module))
        assert called, f"{caller.package} calls nothing? the client moved"
        loops = called & _calling_out(callee)
        assert loops == set(), f"{caller.package} calls {loops}, which call back"


def test_what_calls_out_today() -> None:
    """The graph as docs/architecture.md draws it (this test's own check that
    the analysis sees the calls)."""
    assert _calling_out(FIXES) == {"CreateSuggestedFix", "ApplyFix"}
    assert {"CreateSession", "SendMessage"} <= _calling_out(SCRIPTBUILDER)
    assert called_methods(_read(FIXES.package, FIXES.client_module)) == {
        "GetTemplate",
        "GetTemplateVersion",
    }
    assert {"CheckAiSessionAccess", "UpdateFixScript"} <= called_methods(
        _read(SCRIPTBUILDER.package, SCRIPTBUILDER.client_module)
    )
    assert "SubmitDraft" in _calling_out(SCRIPTBUILDER)


def test_a_loop_is_caught() -> None:
    service = """
class S:
    async def check(self):
        return await self._helper()
    async def _helper(self):
        return await self._other.get()
    async def local(self):
        return 1
"""
    servicer = """
class XServicer:
    async def Check(self, request, context):
        return await self._service.check()
    async def Local(self, request, context):
        return await self._service.local()
"""
    client = "class C:\n    async def get(self):\n        return await self._stub.Check(1)\n"
    use_cases = use_cases_calling_out(service, "_other")
    assert use_cases == {"check", "_helper"}
    assert called_methods(client) & rpcs_calling_out(servicer, use_cases) == {"Check"}


def test_the_sources_exist() -> None:
    for service in (FIXES, SCRIPTBUILDER):
        assert Path(PROJECT_ROOT / service.package / service.client_module).is_file()
