"""The metrics endpoint: served on its own port, off at 0, and a port
already taken is reported without stopping the process."""

from __future__ import annotations

import logging
import urllib.request

import pytest

from flowpilot.runtime.embedded_pg import free_port
from flowpilot.runtime.metrics import serve_metrics

pytestmark = pytest.mark.integration


def test_metrics_are_served_on_their_own_port(caplog: pytest.LogCaptureFixture) -> None:
    port = serve_metrics("127.0.0.1", free_port())
    assert port is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    assert "# TYPE flowpilot_inflight_requests gauge" in body
    assert "# TYPE grpc_server_handled_total counter" in body
    with caplog.at_level(logging.ERROR, logger="flowpilot.metrics"):
        assert serve_metrics("127.0.0.1", port) is None  # taken: logged, not raised
    assert "not served" in caplog.text


def test_port_zero_turns_the_endpoint_off() -> None:
    assert serve_metrics("127.0.0.1", 0) is None
