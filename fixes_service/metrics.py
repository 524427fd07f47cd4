"""The fixes service's product counters: what a support lead asks about.

Counted once a change is committed, from the change itself (before and
after), so every path that makes it counts alike: a fix proposed, a run
declared ("I ran this", or a NoTemplateDialog decision that declares one),
an outcome recorded (by the engineer, or through escalation). Labels are
bounded: the outcome and the fix's apply route (`template_match_panel` is a
fix run from a script template, `no_template_dialog` one run from its
AI-drafted script, `script_builder_tab` one whose script was drafted in the
script builder); never an id. Figures per template id belong in a report on
the database, not in time series.
"""

from __future__ import annotations

from prometheus_client import Counter

from fixes_service.domain.model import Fix, FixChange, FixStatus, SessionStatus, apply_route

FIXES_PROPOSED = Counter(
    "flowpilot_fixes_proposed_total",
    "Fixes the AI proposed, by how they are to be applied.",
    ("apply_route",),
)
RUNS_DECLARED = Counter(
    "flowpilot_fix_runs_declared_total",
    "Runs declared (applied_at stamped), by the fix's apply route.",
    ("apply_route",),
)
OUTCOMES = Counter(
    "flowpilot_fix_outcomes_total",
    "Outcomes recorded, by result and by the fix's apply route when it ran.",
    ("result", "apply_route"),
)
OUTCOME_STATUSES = frozenset(
    {FixStatus.APPLIED_SUCCESS, FixStatus.APPLIED_FAILED, FixStatus.APPLIED_PARTIAL}
)


def _route(fix: Fix) -> str:
    """How the fix is (or was) applied while its session is active."""
    return apply_route(fix, SessionStatus.ACTIVE).value


def fix_proposed(fix: Fix) -> None:
    FIXES_PROPOSED.labels(_route(fix)).inc()


def fix_changed(change: FixChange) -> None:
    before, after = change.before, change.after
    route = _route(before)
    if before.applied_at is None and after.applied_at is not None:
        RUNS_DECLARED.labels(route).inc()
    if after.status in OUTCOME_STATUSES and after.status is not before.status:
        OUTCOMES.labels(after.status.value, route).inc()
