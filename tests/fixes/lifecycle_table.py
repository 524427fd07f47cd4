"""The CONTRACT §4 table as test data, shared by the pure and the gRPC tests.

States are the table's columns (with the "proposed, not applied" column split
by what the fix carries, since apply and the run-declaring decisions depend on
it); actions are its rows. Each cell says what must happen:

- `Ok(status, applied_at)`: a change; the new status, and what happens to
  `applied_at` ("stamp": set now, "keep": unchanged, "none": stays null,
  "clear": becomes null);
- `NOOP`: nothing changes, nothing is written;
- a reason string: refused with that `ErrorInfo.reason`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ok:
    status: str | None = None  # None: unchanged
    applied_at: str = "keep"


NOOP = "noop"

# What each state is made of (the gRPC tests build them with RPCs).
STATES = (
    "not_applied",  # proposed, drafted script, no template
    "not_applied_template",  # proposed, template only
    "not_applied_bare",  # proposed, neither script nor template
    "verifying",  # proposed, applied_at set
    "verifying_with_proposal",  # Verifying with an AI outcome proposal
    "partial",  # applied_partial
    "applied_success",
    "applied_failed",
    "dismissed",
)
TERMINAL = ("applied_success", "applied_failed", "dismissed")

ACTIONS = (
    "update_script",
    "apply",
    "decision_one_off",
    "decision_draft_template",
    "decision_build_template",
    "outcome_success",
    "outcome_failed",
    "outcome_partial",
    "dismiss",
    "propose_outcome",
    "clear_proposal",
)

_NOT_APPLIED = ("not_applied", "not_applied_template", "not_applied_bare")
_APPLIED = ("verifying", "verifying_with_proposal", "partial")


def _status_of(state: str) -> str:
    return {
        "partial": "applied_partial",
        "applied_success": "applied_success",
        "applied_failed": "applied_failed",
        "dismissed": "dismissed",
    }.get(state, "proposed")


def expected(action: str, state: str) -> Ok | str:
    if state in TERMINAL:
        # Clearing an absent proposal is idempotent even on a finished fix.
        return NOOP if action == "clear_proposal" else "FIX_TERMINAL"
    not_applied = state in _NOT_APPLIED
    partial = state == "partial"
    has_script = state in ("not_applied", *_APPLIED)
    match action:
        case "update_script":
            return Ok(applied_at="none" if not_applied else "keep")
        case "apply":
            if not not_applied:
                return NOOP  # keeps the first applied_at
            return "NOTHING_TO_RUN" if state == "not_applied_bare" else Ok(applied_at="stamp")
        case "decision_one_off" | "decision_draft_template":
            if not has_script and (not_applied or action == "decision_draft_template"):
                return "NO_DRAFTED_SCRIPT"
            return Ok(applied_at="stamp" if not_applied else "keep")
        case "decision_build_template":
            return Ok(applied_at="none" if not_applied else "keep")
        case "outcome_success" | "outcome_failed":
            if not_applied:
                return "NOT_APPLIED"
            return Ok(status=action.replace("outcome_", "applied_"))
        case "outcome_partial":
            if not_applied:
                return "NOT_APPLIED"
            return "PARTIAL_TO_PARTIAL" if partial else Ok(status="applied_partial")
        case "dismiss":
            return Ok(status="dismissed", applied_at="none") if not_applied else "ALREADY_APPLIED"
        case "propose_outcome":
            return "NOT_APPLIED" if not_applied else Ok()
        case "clear_proposal":
            return Ok() if state == "verifying_with_proposal" else NOOP
    raise AssertionError(f"unknown action {action}")


def status_after(action: str, state: str, cell: Ok) -> str:
    return cell.status or _status_of(state)


CELLS = [(action, state) for action in ACTIONS for state in STATES]
