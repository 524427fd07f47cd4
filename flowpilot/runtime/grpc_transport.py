"""Which of gRPC core's TCP paths every FlowPilot process uses.

grpcio 1.85 moves each call's bytes through EventEngine threads by default:
a socket is read on an EventEngine thread, which wakes the thread that polls
the completion queue, which wakes the asyncio loop; replies go back the same
way. gRPC core's older iomgr path reads and writes the sockets on the polling
thread itself, one handoff fewer each way. Measured under the benchmark's
PATCH load (2 cores): the fixes process made 13-14 context switches per
request instead of 18 and the gateway 4 instead of 9. CPU per request hardly
moved (the polling thread does what the EventEngine threads did), but a call
waits on fewer wake-ups: PATCH's p99 went from 1.31-1.48x the bare chain's
to 1.15-1.19x (`docs/architecture.md`, "Performance is measured").

grpc core reads `GRPC_EXPERIMENTS` once, while `grpc` is imported, so the
choice is made here, from `flowpilot/__init__.py`, which the `__init__.py` of
every package a process starts from (fixes_service, scriptbuilder_service,
gateway, tests) imports before anything imports `grpc`. An operator's own
`GRPC_EXPERIMENTS` wins (an empty value restores grpc's defaults).
"""

from __future__ import annotations

import os
import sys

# gRPC core experiments turned off: EventEngine's TCP client and listener.
GRPC_EXPERIMENTS = "-event_engine_client,-event_engine_listener"


def choose_grpc_transport() -> None:
    """Prefer iomgr's TCP path, unless `GRPC_EXPERIMENTS` is set or grpc is
    already imported (it has then read its configuration)."""
    if "grpc" not in sys.modules:
        os.environ.setdefault("GRPC_EXPERIMENTS", GRPC_EXPERIMENTS)
