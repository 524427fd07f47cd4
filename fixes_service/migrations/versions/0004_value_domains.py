"""Issue 13: the single-column checks become domains, checked once per
value written instead of on every row a statement writes.

PostgreSQL evaluates every CHECK constraint of a table on every row an
INSERT or UPDATE writes, and rebuilds each one per statement from its stored
text (parse, plan, compile): a script edit, which changes one column, paid
for all sixteen checks of the fix, its session and its audit row: 0.28 ms
for the hot path's statement shape against 0.20 ms without the checks
(pgbench, one client; 0.21 ms with these domains). A domain's check runs
when a value of the domain is made (a column written, a parameter bound),
from constraints PostgreSQL caches per connection; a column a statement
leaves alone is not checked again. Checks over several columns and the JSON
shape checks stay table checks. The values allowed are the same.

Revision ID: 0004_value_domains
Revises: 0003_provenance_analytics
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_value_domains"
down_revision: str | None = "0003_provenance_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Expand only: the same values are allowed, column types keep their base
# type's wire format, and code at 0003 keeps working. Its statements
# prepared before the migration that return a retyped column fail at most
# once per pooled connection ("cached plan must not change result type"; asyncpg
# prepares again outside a transaction, SQLAlchemy clears its statement
# cache); code at 0004 answers that UNAVAILABLE, to be retried.
oldest_compatible_revision: str = "0003_provenance_analytics"


# The vocabulary domains: name → the values allowed.
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "session_status": ("active", "resolved", "escalated"),
    "fix_status": ("proposed", "applied_success", "applied_failed", "applied_partial", "dismissed"),
    "script_language": ("powershell", "bash", "python"),
    "script_decision": ("one_off", "draft_template", "build_template"),
    "fix_outcome": ("applied_success", "applied_failed", "applied_partial"),
    "fix_event_action": (
        "created",
        "script_updated",
        "applied",
        "script_decision_recorded",
        "outcome_recorded",
        "dismissed",
        "outcome_proposed",
        "outcome_proposal_cleared",
        "resolve_auto_success",
        "escalation_outcome",
        "session_resolved",
        "session_escalated",
    ),
    "run_kind": ("apply", "one_off", "draft_template"),
    "run_source": ("drafted_script", "template"),
}


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# Every domain (all over text) → its check.
DOMAINS: dict[str, str] = {
    **{name: f"VALUE IN ({_listed(values)})" for name, values in VOCABULARIES.items()},
    "drafted_script": "char_length(VALUE) BETWEEN 1 AND 50000",
}

# (table, column, domain, the table check it replaces, that check's expression)
COLUMNS: tuple[tuple[str, str, str, str, str], ...] = (
    ("ai_sessions", "status", "session_status", "status", "{c} IN ({s})"),
    ("suggested_fixes", "status", "fix_status", "status", "{c} IN ({s})"),
    ("suggested_fixes", "script_language", "script_language", "script_language", "{c} IN ({s})"),
    (
        "suggested_fixes",
        "script_decision",
        "script_decision",
        "script_decision",
        "{c} IS NULL OR {c} IN ({s})",
    ),
    (
        "suggested_fixes",
        "ai_outcome_proposal_outcome",
        "fix_outcome",
        "ai_outcome_proposal_outcome",
        "{c} IS NULL OR {c} IN ({s})",
    ),
    (
        "suggested_fixes",
        "ai_drafted_script",
        "drafted_script",
        "ai_drafted_script_length",
        "{c} IS NULL OR char_length({c}) BETWEEN 1 AND 50000",
    ),
    ("fix_events", "action", "fix_event_action", "action", "{c} IN ({s})"),
    ("fix_events", "from_status", "fix_status", "from_status", "{c} IS NULL OR {c} IN ({s})"),
    ("fix_events", "to_status", "fix_status", "to_status", "{c} IS NULL OR {c} IN ({s})"),
    ("fix_runs", "kind", "run_kind", "kind", "{c} IN ({s})"),
    ("fix_runs", "source", "run_source", "source", "{c} IN ({s})"),
    ("fix_runs", "language", "script_language", "language", "{c} IN ({s})"),
    ("template_proposals", "language", "script_language", "language", "{c} IN ({s})"),
)

# Its WHEN clause reads suggested_fixes.status, whose type cannot change under it.
OUTCOME_TRIGGER = (
    "CREATE TRIGGER outcome_of_runs AFTER UPDATE OF status, applied_at ON suggested_fixes "
    "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
    "OR OLD.applied_at IS DISTINCT FROM NEW.applied_at) "
    "EXECUTE FUNCTION outcome_of_runs()"
)


def _table_check(column: str, domain: str, template: str) -> str:
    """The table check `column` had before, from its domain's values."""
    return template.format(c=column, s=_listed(VOCABULARIES.get(domain, ())))


def upgrade() -> None:
    for table, _, _, check, _ in COLUMNS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_{check}")
    # Domains without their checks first: changing a column to a domain
    # with a check rewrites the table, to one without only relabels it.
    for name in DOMAINS:
        op.execute(f"CREATE DOMAIN {name} AS text")
    op.execute("DROP TRIGGER outcome_of_runs ON suggested_fixes")
    for table, column, domain, _, _ in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {domain}")
    op.execute(OUTCOME_TRIGGER)
    # Adding the check validates every stored value (a scan, no rewrite).
    for name, check in DOMAINS.items():
        op.execute(f"ALTER DOMAIN {name} ADD CONSTRAINT {name}_values CHECK ({check})")


def downgrade() -> None:
    op.execute("DROP TRIGGER outcome_of_runs ON suggested_fixes")
    for table, column, _, _, _ in COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text")
    op.execute(OUTCOME_TRIGGER)
    for table, column, domain, check, template in COLUMNS:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_{check} "
            f"CHECK ({_table_check(column, domain, template)})"
        )
    for name in DOMAINS:
        op.execute(f"DROP DOMAIN {name}")
