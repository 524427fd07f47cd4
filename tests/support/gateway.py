"""The gateway in front of the two services, as the tests build it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.app import BackendService


def both_services(fixes_target: str, scriptbuilder_target: str) -> list[BackendService]:
    """`create_app`'s backends: the fixes and script-builder services at these
    targets (imported lazily, so `-m unit` never loads FastAPI)."""
    from gateway.app import SERVICES, BackendService

    targets = {"fixes_target": fixes_target, "scriptbuilder_target": scriptbuilder_target}
    return [BackendService(d, targets[setting], deps) for d, setting, deps in SERVICES]
