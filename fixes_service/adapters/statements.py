"""The fixes service's SQL: built once at import time, with named bind parameters.

Every statement is a SQLAlchemy Core statement, so SQLAlchemy compiles each
once and asyncpg prepares each once per connection. Those of the hot paths
(`READ_FIX` for every read and change of one fix, `WRITE_FIX`, and
`SESSION_ACCESS` for the script-builder's access check) are also compiled to
asyncpg's `$n` SQL (`Compiled`), so the repository can run them on the driver
connection without SQLAlchemy's per-execute work.

Bind parameters are named by the part of a statement they feed:

=============  ================================================================
`scope_*`      the caller's visibility: account, and owner unless an admin
`key_*`        the rows a statement targets (session and fix ids) and, for the
               compare-and-swap, the session version the rule saw
`set_*`        the new value of a lifecycle column (of the fix, or of the
               session for resolve and escalate)
`new_*`        the columns of a newly proposed fix
`event_*`      the audit row
`outbox_*`     the template-proposal row a `draft_template` decision leaves
`run_*`        the run record a run-declaring change keeps (`fix_runs`)
`page_*`       where a read of the audit trail starts and how much it reads
`now`          the one timestamp of the change
=============  ================================================================

`tests/fixes/test_statements.py` checks that every statement keeps to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.dml import Insert

from fixes_service.adapters.rows import notes_json, parameters_json, provenance_json
from fixes_service.adapters.tables import (
    ai_sessions,
    fix_events,
    fix_runs,
    suggested_fixes,
    template_proposals,
)
from fixes_service.domain.access import Scope
from fixes_service.domain.model import Fix, FixChange, FixStatus
from flowpilot.runtime.compiled import Compiled

S, F, E, P, R = ai_sessions, suggested_fixes, fix_events, template_proposals, fix_runs

BIND_PREFIXES = ("scope_", "key_", "set_", "new_", "event_", "outbox_", "run_", "page_")
NOW = "now"

_JSON = JSONB(none_as_null=True)


# --- scope -------------------------------------------------------------------------


def _scoped(stmt: Select[Any], *, admin: bool) -> Select[Any]:
    stmt = stmt.where(S.c.account_id == bindparam("scope_account_id"))
    if not admin:
        stmt = stmt.where(S.c.owner_user_id == bindparam("scope_owner_user_id"))
    return stmt


def scope_params(scope: Scope) -> dict[str, Any]:
    params: dict[str, Any] = {"scope_account_id": scope.account_id}
    if scope.owner_user_id is not None:
        params["scope_owner_user_id"] = scope.owner_user_id
    return params


def _by_admin(build: Callable[[bool], Any]) -> dict[bool, Any]:
    """One variant for admins (account-wide) and one for everyone else (own rows)."""
    return {True: build(True), False: build(False)}


# --- reads -------------------------------------------------------------------------

_SESSION_COLS = (
    S.c.status.label("session_status"),
    S.c.state_version.label("session_state_version"),
    S.c.account_id.label("session_account_id"),
)


def _fix_with_session(admin: bool) -> Select[Any]:
    return _scoped(
        select(*_SESSION_COLS, *F.c)
        .select_from(S.join(F, F.c.ai_session_id == S.c.id))
        .where(S.c.id == bindparam("key_session_id"), F.c.id == bindparam("key_fix_id")),
        admin=admin,
    )


# The fix and its session's status and version in one snapshot (the hot path's
# read before a change, and every read of one fix).
READ_FIX = _by_admin(lambda admin: Compiled(_fix_with_session(admin)))
# The same, locking both rows (session first) for the contended path.
LOCK_FIX = _by_admin(lambda admin: _fix_with_session(admin).with_for_update())


# The fixes an escalation must settle (Verifying or partial), oldest first, as
# a JSON array of [id, status]: what a session's `escalation_choices` derive from.
_awaiting = F.alias("awaiting")
AWAITING_OUTCOME = (
    select(
        func.coalesce(
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_array(_awaiting.c.id, _awaiting.c.status),
                    _awaiting.c.created_at,
                    _awaiting.c.id,
                )
            ),
            literal_column("'[]'::jsonb"),
        )
    )
    .where(
        _awaiting.c.ai_session_id == S.c.id,
        or_(
            _awaiting.c.status == FixStatus.APPLIED_PARTIAL.value,
            and_(
                _awaiting.c.status == FixStatus.PROPOSED.value, _awaiting.c.applied_at.is_not(None)
            ),
        ),
    )
    .scalar_subquery()
    .label("awaiting_outcome")
)

# The session row alone (a list of its fixes needs its status).
READ_SESSION = _by_admin(
    lambda admin: _scoped(select(S).where(S.c.id == bindparam("key_session_id")), admin=admin)
)
# The same, compiled for the driver: whether a caller may use a session (the
# script-builder asks before every inline get-or-create).
SESSION_ACCESS = {admin: Compiled(stmt) for admin, stmt in READ_SESSION.items()}
# A session as a caller reads it, with the fixes awaiting an outcome.
GET_SESSION = {admin: stmt.add_columns(AWAITING_OUTCOME) for admin, stmt in READ_SESSION.items()}
LOCK_SESSION = {admin: stmt.with_for_update() for admin, stmt in READ_SESSION.items()}

# Resolve and escalate lock every fix of the session, in id order, after the session.
LOCK_SESSION_FIXES = (
    select(F)
    .where(F.c.ai_session_id == bindparam("key_session_id"))
    .order_by(F.c.id)
    .with_for_update()
)

# --- writes ------------------------------------------------------------------------

# What every write of a fix sets.
_VERSION_VALUES = {
    "state_version": bindparam("set_state_version", type_=BigInteger),
    "updated_at": bindparam(NOW),
}
_LIFECYCLE_VALUES = {
    **_VERSION_VALUES,
    "notes_history": bindparam("set_notes_history", type_=_JSON),
    "status": bindparam("set_status"),
    "applied_at": bindparam("set_applied_at"),
    "outcome_notes": bindparam("set_outcome_notes"),
    "script_decision": bindparam("set_script_decision"),
    "ai_outcome_proposal_outcome": bindparam("set_proposal_outcome"),
    "ai_outcome_proposal_rationale": bindparam("set_proposal_rationale"),
    "ai_outcome_proposal_at": bindparam("set_proposal_at"),
}

_EVENT_VALUES = {
    "fix_id": bindparam("key_fix_id"),
    "ai_session_id": bindparam("key_session_id"),
    "actor_user_id": bindparam("event_actor"),
    "action": bindparam("event_action"),
    "from_status": bindparam("event_from_status"),
    "to_status": bindparam("event_to_status"),
    "details": bindparam("event_details", type_=_JSON),
    "state_version": bindparam("event_state_version"),
    "created_at": bindparam(NOW),
}


def _bump_cte(*, compare_and_swap: bool = False) -> Any:
    bump = update(S).where(S.c.id == bindparam("key_session_id"))
    if compare_and_swap:
        # The session is still as read: nothing changed it or its fixes since.
        bump = bump.where(S.c.state_version == bindparam("key_read_version", type_=BigInteger))
    return (
        bump.values(state_version=S.c.state_version + 1, updated_at=bindparam(NOW))
        .returning(S.c.id)
        .cte("bump_session")
    )


def _typed_params(table: Any, values: Mapping[str, Any]) -> list[Any]:
    """The bind parameters of `values` typed like their columns (for INSERT ... SELECT)."""
    return [bindparam(param.key, type_=table.c[column].type) for column, param in values.items()]


_RUN_VALUES = {
    "id": bindparam("run_id"),
    "fix_id": bindparam("key_fix_id"),
    "ai_session_id": bindparam("key_session_id"),
    "state_version": bindparam("event_state_version"),
    "kind": bindparam("run_kind"),
    "source": bindparam("run_source"),
    "script_template_id": bindparam("run_template_id"),
    "language": bindparam("run_language"),
    "script": bindparam("run_script"),
    "parameters": bindparam("run_parameters"),
    "rendered": bindparam("run_rendered"),
    "declared_by_user_id": bindparam("event_actor"),
    "declared_at": bindparam(NOW),
    "script_template_version": bindparam("run_template_version"),
    "provenance": bindparam("run_provenance", type_=_JSON),
}


def _write_fix(*, script: bool, lifecycle: bool, proposal: bool, run: bool) -> Insert:
    """Fix, bump and audit row (and outbox row, run row) in one statement, or nothing.
    Sets the script's columns and the lifecycle's only when they changed (a
    script edit, the hot path, binds 8 values and a JSON document fewer).

    Returns the audit row's id, or no row when the compare-and-swap lost.
    """
    bump = _bump_cte(compare_and_swap=True)
    bumped = exists(select(bump.c.id))
    values: dict[str, Any] = dict(_LIFECYCLE_VALUES if lifecycle else _VERSION_VALUES)
    if script:
        values["ai_drafted_script"] = bindparam("set_script")
        values["ai_drafted_parameters"] = bindparam("set_parameters", type_=_JSON)
        values["script_parameters"] = bindparam("set_script_parameters", type_=_JSON)
        values["script_provenance"] = bindparam("set_script_provenance", type_=_JSON)
        values["ai_script_basis"] = bindparam("set_ai_script_basis")
    if run:
        values["last_run"] = bindparam("set_last_run", type_=_JSON)
    write_fix = (
        update(F).where(F.c.id == bindparam("key_fix_id"), bumped).values(**values).cte("write_fix")
    )
    stmt = (
        insert(E)
        .from_select(
            list(_EVENT_VALUES), select(*_typed_params(E, _EVENT_VALUES)).select_from(bump)
        )
        .returning(E.c.id)
        .add_cte(bump)
        .add_cte(write_fix)
    )
    if proposal:
        outbox_values = {
            "id": bindparam("outbox_id"),
            "fix_id": bindparam("key_fix_id"),
            "ai_session_id": bindparam("key_session_id"),
            "account_id": bindparam("outbox_account_id"),
            "requested_by_user_id": bindparam("event_actor"),
            "title": bindparam("outbox_title"),
            "description": bindparam("outbox_description"),
            "language": bindparam("outbox_language"),
            "script": bindparam("outbox_script"),
            "parameters": bindparam("outbox_parameters"),
            "created_at": bindparam(NOW),
        }
        outbox = (
            pg_insert(P)
            .from_select(
                list(outbox_values), select(*_typed_params(P, outbox_values)).select_from(bump)
            )
            # At most one proposal per fix, ever: a second draft_template keeps the first.
            .on_conflict_do_nothing(index_elements=[P.c.fix_id])
            .cte("outbox")
        )
        stmt = stmt.add_cte(outbox)
    if run:
        # Append-only: the run as declared, next to its audit row.
        record = (
            insert(R)
            .from_select(
                list(_RUN_VALUES), select(*_typed_params(R, _RUN_VALUES)).select_from(bump)
            )
            .cte("run_record")
        )
        stmt = stmt.add_cte(record)
    return stmt


# By (script changed, lifecycle changed, leaves a template proposal, declares a run).
WRITE_FIX = {
    (script, lifecycle, proposal, run): Compiled(
        _write_fix(script=script, lifecycle=lifecycle, proposal=proposal, run=run)
    )
    for script in (False, True)
    for lifecycle in (False, True)
    for proposal in (False, True)
    for run in (False, True)
}

CREATE_FIX = (
    insert(E)
    .values(**_EVENT_VALUES)
    .add_cte(_bump_cte())
    .add_cte(
        insert(F)
        .values(
            id=bindparam("key_fix_id"),
            ai_session_id=bindparam("key_session_id"),
            title=bindparam("new_title"),
            description=bindparam("new_description"),
            script_language=bindparam("new_language"),
            ai_drafted_script=bindparam("new_script"),
            ai_drafted_parameters=bindparam("new_parameters", type_=_JSON),
            script_parameters=bindparam("new_script_parameters", type_=_JSON),
            script_template_id=bindparam("new_template_id"),
            script_template_version=bindparam("new_template_version"),
            script_template_recipe_id=bindparam("new_template_recipe_id"),
            script_provenance=bindparam("new_script_provenance", type_=_JSON),
            ai_script_basis=bindparam("new_ai_script_basis"),
            title_cluster=bindparam("new_title_cluster"),
            state_version=bindparam("event_state_version", type_=BigInteger),
            status=bindparam("event_to_status"),
            created_at=bindparam(NOW),
            updated_at=bindparam(NOW),
        )
        .cte("new_fix")
    )
)

# Resolve and escalate: the session row, then each fix, then the audit rows.
WRITE_SESSION = (
    update(S)
    .where(S.c.id == bindparam("key_session_id"))
    .values(
        status=bindparam("set_status"),
        escalation_reason=bindparam("set_escalation_reason"),
        state_version=S.c.state_version + 1,
        updated_at=bindparam(NOW),
    )
    .returning(*S.c)
)
WRITE_LIFECYCLE = update(F).where(F.c.id == bindparam("key_fix_id")).values(**_LIFECYCLE_VALUES)
INSERT_EVENT = insert(E).values(**_EVENT_VALUES)

# --- the audit trail, with the run each row declared ------------------------------------

_RUN_COLUMNS = tuple(column.label(f"run_{column.name}") for column in R.c)
_EVENTS_WITH_RUNS = E.outerjoin(
    R, and_(R.c.fix_id == E.c.fix_id, R.c.state_version == E.c.state_version)
)

# A fix's rows after an id, oldest first.
LIST_EVENTS = (
    select(E, *_RUN_COLUMNS)
    .select_from(_EVENTS_WITH_RUNS)
    .where(E.c.fix_id == bindparam("key_fix_id"), E.c.id > bindparam("page_after_id"))
    .order_by(E.c.id)
    .limit(bindparam("page_limit"))
)
# A session's rows after an id, oldest first (a watch's replay and its live feed).
SESSION_EVENTS = (
    select(E, *_RUN_COLUMNS)
    .select_from(_EVENTS_WITH_RUNS)
    .where(E.c.ai_session_id == bindparam("key_session_id"), E.c.id > bindparam("page_after_id"))
    .order_by(E.c.id)
    .limit(bindparam("page_limit"))
)
# Where a new watch starts: the session's latest row.
LATEST_SESSION_EVENT = select(func.coalesce(func.max(E.c.id), 0)).where(
    E.c.ai_session_id == bindparam("key_session_id")
)
FIXES_BY_ID = select(F).where(
    F.c.ai_session_id == bindparam("key_session_id"),
    F.c.id.in_(bindparam("key_fix_ids", expanding=True)),
)


# --- bind values from domain values -----------------------------------------------------


def lifecycle_params(fix: Fix, now: datetime, state_version: int) -> dict[str, Any]:
    proposal = fix.ai_outcome_proposal
    return {
        "set_state_version": state_version,
        "set_notes_history": notes_json(fix.notes_history),
        "set_status": fix.status.value,
        "set_applied_at": fix.applied_at,
        "set_outcome_notes": fix.outcome_notes,
        "set_script_decision": fix.script_decision.value if fix.script_decision else None,
        "set_proposal_outcome": proposal.outcome.value if proposal else None,
        "set_proposal_rationale": proposal.rationale if proposal else None,
        "set_proposal_at": proposal.proposed_at if proposal else None,
        NOW: now,
    }


def event_params(
    change: FixChange, *, actor: str, state_version: int, now: datetime
) -> dict[str, Any]:
    return {
        "key_fix_id": change.after.id,
        "key_session_id": change.after.ai_session_id,
        "event_actor": actor,
        "event_action": change.action.value,
        "event_from_status": change.before.status.value,
        "event_to_status": change.after.status.value,
        "event_details": change.details,
        "event_state_version": state_version,
        NOW: now,
    }


def script_params(fix: Fix) -> dict[str, Any]:
    return {
        "set_script": fix.ai_drafted_script,
        "set_parameters": fix.ai_drafted_parameters,
        "set_script_parameters": parameters_json(fix.script_parameters),
        "set_script_provenance": provenance_json(fix.script_provenance),
        "set_ai_script_basis": fix.ai_script_basis,
    }


# --- outcome analytics (run_facts) ------------------------------------------------------

# The figures of one group of runs (or of all, the grouping set `()`): counts
# by outcome and the percentiles of both durations, in one pass. Durations are
# `date_part` (double precision): `extract` answers numeric, which sorts
# several times slower.
_FIGURES = """
    count(*) AS runs,
    count(*) FILTER (WHERE outcome = 'applied_success') AS success,
    count(*) FILTER (WHERE outcome = 'applied_failed') AS failed,
    count(*) FILTER (WHERE outcome = 'applied_partial') AS partial,
    count(*) FILTER (WHERE outcome = 'never_applied') AS never_applied,
    count(*) AS to_run_samples,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP
        (ORDER BY date_part('epoch', declared_at - proposed_at)) AS to_run,
    count(outcome_at) FILTER (WHERE outcome <> 'never_applied') AS to_outcome_samples,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP
        (ORDER BY date_part('epoch', outcome_at - declared_at))
        FILTER (WHERE outcome <> 'never_applied') AS to_outcome
"""

# The columns each dimension groups by (text of `run_facts` columns).
ANALYTICS_GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "template_version": ("template_id", "template_version"),
    "template": ("template_id",),
    "origin": ("origin",),
    "language": ("language",),
    "title_cluster": ("title_cluster",),
    "recipe": ("recipe_id",),
}


def outcome_analytics_sql(dimension: str | None) -> str:
    """The totals and (with a dimension) the largest groups of an account's
    runs declared in a window, in one scan of the covering index
    `ix_run_facts_account_declared`: the totals row first, then the groups by
    runs, at most `page_limit` of them (and one more when there are more)."""
    columns = ANALYTICS_GROUP_COLUMNS[dimension] if dimension else ()
    select_columns = "".join(f"{c}, " for c in columns) or ""
    if columns:
        grouping = f"GROUPING SETS (({', '.join(columns)}), ())"
        is_total = f"GROUPING({', '.join(columns)}) <> 0"
    else:
        grouping, is_total = "()", "true"
    return f"""
        SELECT * FROM (
            SELECT {select_columns}{is_total} AS is_total, {_FIGURES}
            FROM run_facts
            WHERE account_id = :scope_account_id
              AND declared_at >= :page_start AND declared_at < :page_end
            GROUP BY {grouping}
        ) figures
        ORDER BY is_total DESC, runs DESC{"".join(f", {c} NULLS LAST" for c in columns)}
        -- The totals row, the groups asked for, and one more to tell a truncation.
        LIMIT :page_limit + 2
    """


# An analytics read sorts up to an account's runs in the window (percentiles,
# groups): in memory rather than on disk, and without JIT compilation, which
# costs more than it saves on these plans. Local to the read's transaction.
ANALYTICS_SETTINGS = (
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL jit = off",
)

# One template's runs (totals, and by version) or one recipe's, in a window:
# one short range of a partial index.
TEMPLATE_SUCCESS_RATE = f"""
    SELECT template_version, GROUPING(template_version) <> 0 AS is_total, {_FIGURES}
    FROM run_facts
    WHERE account_id = :scope_account_id AND template_id = :key_template_id
      AND declared_at >= :page_start AND declared_at < :page_end
    GROUP BY GROUPING SETS ((template_version), ())
    ORDER BY is_total DESC, template_version DESC NULLS LAST
"""
RECIPE_SUCCESS_RATE = f"""
    SELECT true AS is_total, {_FIGURES}
    FROM run_facts
    WHERE account_id = :scope_account_id AND recipe_id = :key_recipe_id
      AND declared_at >= :page_start AND declared_at < :page_end
"""
