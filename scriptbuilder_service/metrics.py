"""The script-builder's product counters and the template relay's health.

* `flowpilot_scripts_drafted_total{author, language}`: `author="ai"` for each
  script the drafter delivered in a chat answer (a question back is not a
  script), `author="hand"` for each hand-written draft saved in editor mode.
* The `draft_template` relay: how long a proposal waited from the decision to
  its draft template (`flowpilot_template_relay_lag_seconds`), the age of the
  oldest proposal still pending at the last poll, and when a poll last
  succeeded (an alert fires when it stops).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

from flowpilot.kernel import ScriptLanguage

SCRIPTS_DRAFTED = Counter(
    "flowpilot_scripts_drafted_total",
    "Scripts drafted: by the AI (a chat answer with a script) or by hand (an "
    "editor-mode draft saved), by language.",
    ("author", "language"),
)
RELAY_LAG = Histogram(
    "flowpilot_template_relay_lag_seconds",
    "Time from a draft_template decision to its draft template being created and acknowledged.",
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
)
RELAY_OLDEST_PENDING = Gauge(
    "flowpilot_template_relay_oldest_pending_seconds",
    "Age of the oldest template proposal pending at the last poll (0 when none).",
)
RELAY_LAST_SUCCESS = Gauge(
    "flowpilot_template_relay_last_success_timestamp_seconds",
    "Unix time of the relay's last poll that reached the fixes service.",
)
RELAY_FAILURES = Counter(
    "flowpilot_template_relay_failures_total",
    "Relay polls or proposals that failed (retried at the next poll).",
)


def script_drafted(author: str, language: ScriptLanguage | None) -> None:
    SCRIPTS_DRAFTED.labels(author, language.value if language else "unknown").inc()


def relay_polled(created: list[datetime | None]) -> None:
    """A poll reached the fixes service and saw proposals created at `created`."""
    RELAY_LAST_SUCCESS.set(time.time())
    known = [c for c in created if c is not None]
    oldest = min(known, default=None)
    RELAY_OLDEST_PENDING.set(
        max((datetime.now(UTC) - oldest).total_seconds(), 0.0) if oldest else 0.0
    )


def proposal_relayed(created: datetime | None) -> None:
    if created is not None:
        RELAY_LAG.observe(max((datetime.now(UTC) - created).total_seconds(), 0.0))
