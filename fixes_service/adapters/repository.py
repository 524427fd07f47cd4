"""The fixes database, on the connection of the unit of work the service opened.

The repository never begins or commits: `FixesService` decides, per use case,
whether its work runs in a transaction or in autocommit
(`flowpilot.runtime.uow`). What the repository guarantees is that each change
is atomic and bumps the session's `state_version` exactly once.

A fix mutation is the hot path (UpdateFixScript is benchmarked): the service
runs it in an autocommit unit, two round trips and no BEGIN/COMMIT:

1. `read_fix`: one `SELECT` joining the session and the fix, filtered by the
   caller's scope (a consistent snapshot of both);
2. `compare_and_swap`, after the pure domain rule accepted the change: one
   statement whose
   data-modifying CTEs bump `ai_sessions.state_version` by one *only if it is
   still the version read* (every change to a session or any of its fixes
   bumps it, so an unchanged version means nothing moved), then update the
   fix, append the audit row (and, for `draft_template`, the outbox row; for
   a declared run, the run record) from the bump's result. One statement
   commits as a whole or not at all.

When the compare-and-swap loses (another writer got there first), the service
reads again; when it keeps losing, it opens a transaction instead: `lock_fix`
(`SELECT ... FOR UPDATE`, the session row first, then the fix — resolve and
escalate lock the session first too, so no two writers wait on each other in
opposite orders) and `write_locked`, the same statement, which then cannot
lose.

No-ops and refusals write nothing. Every write bumps `state_version`, and a
trigger announces each bump (`NOTIFY`, see `tables.AI_SESSION_CHANGES_CHANNEL`)
when it commits: nothing here has to remember to.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import and_, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from fixes_service.adapters import statements as sql
from fixes_service.adapters.rows import (
    event_from_row,
    fix_from_row,
    parameters_json,
    proposal_from_row,
    provenance_json,
    run_json,
    session_from_row,
)
from fixes_service.adapters.tables import ai_sessions as S
from fixes_service.adapters.tables import suggested_fixes as F
from fixes_service.adapters.tables import template_proposals as P
from fixes_service.domain import analytics
from fixes_service.domain.access import Scope
from fixes_service.domain.errors import fix_not_found, session_not_found
from fixes_service.domain.model import (
    AiSession,
    Fix,
    FixChange,
    FixEvent,
    FixEventAction,
    SessionChange,
    SessionStatus,
    TemplateProposal,
    template_proposal_parameters,
)
from flowpilot.runtime.metrics import DATABASE_INFO_KEY, DriverStatement
from flowpilot.runtime.paging import Keyset
from flowpilot.runtime.uow import Driver


@dataclass(frozen=True, slots=True)
class FixSnapshot:
    """A fix and its session as one read saw them: what a domain rule decides
    on, and what the compare-and-swap compares against."""

    fix: Fix
    session_status: SessionStatus
    session_version: int
    account_id: str

    def after_write(self, fix: Fix) -> FixSnapshot:
        """The snapshot once `fix` was written on this one: a fix change bumps
        its session's version by one."""
        return FixSnapshot(fix, self.session_status, self.session_version + 1, self.account_id)


class FixesRepository:
    """On a SQLAlchemy connection (every unit), or on the asyncpg connection
    alone (`on_driver`, a driver unit: only the hot path's reads and
    compare-and-swap, the methods that run on the driver connection)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection
        self._driver_connection: asyncpg.Connection | None = None
        self._database: str | None = None

    @classmethod
    def on_driver(cls, driver: Driver) -> FixesRepository:
        repository = cls.__new__(cls)
        repository._conn = None  # type: ignore[assignment]
        repository._driver_connection = driver.connection
        repository._database = driver.database
        return repository

    async def _driver(self) -> asyncpg.Connection:
        """The pooled asyncpg connection (under the SQLAlchemy one, if any)."""
        if self._driver_connection is None:
            raw = await self._conn.get_raw_connection()
            self._driver_connection = raw.driver_connection  # type: ignore[assignment]
        return self._driver_connection  # type: ignore[return-value]

    def _statement(self, sql: str) -> DriverStatement:
        """Measures a statement run on the driver connection."""
        if self._database is None:
            self._database = str(self._conn.info.get(DATABASE_INFO_KEY, "unknown"))
        return DriverStatement(self._database, sql)

    # --- sessions -------------------------------------------------------------

    async def add_session(self, session: AiSession) -> AiSession:
        row = (
            await self._conn.execute(
                insert(S)
                .values(
                    id=session.id,
                    owner_user_id=session.owner_user_id,
                    account_id=session.account_id,
                    title=session.title,
                    status=session.status.value,
                    state_version=session.state_version,
                    created_at=session.created_at,
                    updated_at=session.updated_at,
                )
                .returning(*S.c)
            )
        ).one()
        return session_from_row(row)

    async def get_session(self, scope: Scope, session_id: UUID) -> AiSession | None:
        row = (
            await self._conn.execute(
                sql.GET_SESSION[scope.owner_user_id is None],
                {"key_session_id": session_id, **sql.scope_params(scope)},
            )
        ).first()
        return session_from_row(row) if row else None

    async def read_session_access(self, scope: Scope, session_id: UUID) -> AiSession | None:
        """The session row alone, or None outside `scope`: who may use it, not
        what it shows (no fixes awaiting an outcome). One statement on the
        driver connection (CheckAiSessionAccess precedes every inline create)."""
        read = sql.SESSION_ACCESS[scope.owner_user_id is None]
        params = {"key_session_id": session_id, **sql.scope_params(scope)}
        with self._statement(read.sql):
            row = await (await self._driver()).fetchrow(read.sql, *read.args(params))
        return session_from_row(dict(row.items())) if row else None

    async def list_sessions(
        self, scope: Scope, limit: int, after: Keyset | None
    ) -> list[AiSession]:
        stmt = select(S, sql.AWAITING_OUTCOME).where(S.c.account_id == scope.account_id)
        if scope.owner_user_id is not None:
            stmt = stmt.where(S.c.owner_user_id == scope.owner_user_id)
        if after is not None:
            # Newest first: the next page holds strictly older keys.
            stmt = stmt.where(
                (S.c.created_at < after.created_at)
                | and_(S.c.created_at == after.created_at, S.c.id < after.id)
            )
        stmt = stmt.order_by(S.c.created_at.desc(), S.c.id.desc()).limit(limit)
        rows = (await self._conn.execute(stmt)).all()
        return [session_from_row(r) for r in rows]

    async def lock_session(self, scope: Scope, session_id: UUID) -> AiSession:
        """The session, locked until the transaction ends; NOT_FOUND outside `scope`."""
        row = (
            await self._conn.execute(
                sql.LOCK_SESSION[scope.owner_user_id is None],
                {"key_session_id": session_id, **sql.scope_params(scope)},
            )
        ).first()
        if row is None:
            raise session_not_found()
        return session_from_row(row)

    async def lock_session_fixes(self, session_id: UUID) -> list[Fix]:
        """Every fix of a session, locked in id order (after the session)."""
        rows = (
            await self._conn.execute(sql.LOCK_SESSION_FIXES, {"key_session_id": session_id})
        ).all()
        return [fix_from_row(r) for r in rows]

    async def write_session_change(
        self, change: SessionChange, *, actor: str, now: datetime
    ) -> AiSession:
        """Resolve or escalate: the session, every fix it touches and their audit
        rows. Call it in a transaction, after `lock_session`."""
        version = change.before.state_version + 1
        row = (
            await self._conn.execute(
                sql.WRITE_SESSION,
                {
                    "key_session_id": change.before.id,
                    "set_status": change.after.status.value,
                    "set_escalation_reason": change.after.escalation_reason,
                    sql.NOW: now,
                },
            )
        ).one()
        if change.fix_changes:
            await self._conn.execute(
                sql.WRITE_LIFECYCLE,
                [
                    {"key_fix_id": c.after.id, **sql.lifecycle_params(c.after, now, version)}
                    for c in change.fix_changes
                ],
            )
        # The fixes' rows, then the session's own: a watch replays them in this order.
        session_row = {
            "key_fix_id": None,
            "key_session_id": change.before.id,
            "event_actor": actor,
            "event_action": change.action.value,
            "event_from_status": None,
            "event_to_status": None,
            "event_details": change.details,
            "event_state_version": version,
            sql.NOW: now,
        }
        await self._conn.execute(
            sql.INSERT_EVENT,
            [
                *(
                    sql.event_params(c, actor=actor, state_version=version, now=now)
                    for c in change.fix_changes
                ),
                session_row,
            ],
        )
        return session_from_row(row)

    # --- fixes ----------------------------------------------------------------

    async def add_fix(self, fix: Fix, session: AiSession, *, actor: str, now: datetime) -> Fix:
        """The new fix, its `created` audit row and the session's bump, in one
        statement. Call it in a transaction, after `lock_session`."""
        await self._conn.execute(
            sql.CREATE_FIX,
            {
                "key_fix_id": fix.id,
                "key_session_id": session.id,
                "event_actor": actor,
                "event_action": FixEventAction.CREATED.value,
                "event_from_status": None,
                "event_to_status": fix.status.value,
                "event_details": {
                    "has_script": fix.ai_drafted_script is not None,
                    "has_template": fix.script_template_id is not None,
                    "script_template_version": fix.script_template_version,
                    "origin": str(fix.provenance.origin) if fix.provenance else None,
                    "script_parameters": [p.name for p in fix.script_parameters],
                },
                "event_state_version": session.state_version + 1,
                sql.NOW: now,
                "new_title": fix.title,
                "new_description": fix.description,
                "new_language": fix.script_language.value,
                "new_script": fix.ai_drafted_script,
                "new_parameters": fix.ai_drafted_parameters,
                "new_script_parameters": parameters_json(fix.script_parameters),
                "new_template_id": fix.script_template_id,
                "new_template_version": fix.script_template_version,
                "new_template_recipe_id": fix.script_template_recipe_id,
                "new_script_provenance": provenance_json(fix.script_provenance),
                "new_ai_script_basis": fix.ai_script_basis,
                "new_title_cluster": fix.title_cluster,
            },
        )
        return replace(fix, state_version=session.state_version + 1)

    async def get_fix(self, scope: Scope, session_id: UUID, fix_id: UUID) -> FixSnapshot | None:
        """The fix and its session's status, or None outside `scope`."""
        read = sql.READ_FIX[scope.owner_user_id is None]
        params = {"key_session_id": session_id, "key_fix_id": fix_id, **sql.scope_params(scope)}
        with self._statement(read.sql):
            row = await (await self._driver()).fetchrow(read.sql, *read.args(params))
        return _snapshot(row) if row else None

    async def list_fixes(
        self, scope: Scope, session_id: UUID, limit: int, after: Keyset | None
    ) -> tuple[SessionStatus, list[Fix]]:
        """The session's status and its fixes, oldest first; NOT_FOUND when
        the session is outside `scope`."""
        session = (
            await self._conn.execute(
                sql.READ_SESSION[scope.owner_user_id is None],
                {"key_session_id": session_id, **sql.scope_params(scope)},
            )
        ).first()
        if session is None:
            raise session_not_found()
        stmt = select(F).where(F.c.ai_session_id == session_id)
        if after is not None:
            stmt = stmt.where(
                (F.c.created_at > after.created_at)
                | and_(F.c.created_at == after.created_at, F.c.id > after.id)
            )
        stmt = stmt.order_by(F.c.created_at, F.c.id).limit(limit)
        rows = (await self._conn.execute(stmt)).all()
        return SessionStatus(session.status), [fix_from_row(r) for r in rows]

    async def read_fix(self, scope: Scope, session_id: UUID, fix_id: UUID) -> FixSnapshot:
        """The hot path's read: the fix and its session in one snapshot, on the
        driver connection. NOT_FOUND outside `scope`."""
        read = sql.READ_FIX[scope.owner_user_id is None]
        params = {"key_session_id": session_id, "key_fix_id": fix_id, **sql.scope_params(scope)}
        with self._statement(read.sql):
            row = await (await self._driver()).fetchrow(read.sql, *read.args(params))
        return _snapshot(row)

    async def compare_and_swap(
        self, seen: FixSnapshot, change: FixChange, *, actor: str, now: datetime
    ) -> Fix | None:
        """The hot path's write: `change` lands (fix, session bump, audit row,
        outbox row, run record) if the session is still at the version `seen`
        read, and this answers the fix as written; else nothing does and this
        answers None. One atomic statement on the driver connection; run it
        in an autocommit unit."""
        variant = _write_variant(seen.fix, change)
        write = sql.WRITE_FIX[variant]
        params, written = _write_params(seen, change, variant, actor=actor, now=now)
        with self._statement(write.sql):
            landed = await (await self._driver()).fetchval(write.sql, *write.args(params))
        return written if landed is not None else None

    async def lock_fix(self, scope: Scope, session_id: UUID, fix_id: UUID) -> FixSnapshot:
        """The contended path's read: like `read_fix`, but the session row and
        then the fix stay locked until the transaction ends."""
        row = (
            await self._conn.execute(
                sql.LOCK_FIX[scope.owner_user_id is None],
                {"key_session_id": session_id, "key_fix_id": fix_id, **sql.scope_params(scope)},
            )
        ).first()
        return _snapshot(row._mapping if row else None)

    async def write_locked(
        self, seen: FixSnapshot, change: FixChange, *, actor: str, now: datetime
    ) -> Fix:
        """The contended path's write: the compare-and-swap statement, which
        cannot lose on rows `lock_fix` holds. Run it in the same transaction."""
        variant = _write_variant(seen.fix, change)
        params, written = _write_params(seen, change, variant, actor=actor, now=now)
        result = await self._conn.execute(sql.WRITE_FIX[variant].statement, params)
        if result.first() is None:  # pragma: no cover - the rows are locked
            raise RuntimeError("a locked fix changed under its lock")
        return written

    async def list_events(
        self, scope: Scope, session_id: UUID, fix_id: UUID, limit: int, after_id: int | None
    ) -> list[FixEvent]:
        """Oldest first, each with the run it declared; NOT_FOUND when the fix
        is outside `scope`."""
        if await self.get_fix(scope, session_id, fix_id) is None:
            raise fix_not_found()
        rows = (
            await self._conn.execute(
                sql.LIST_EVENTS,
                {"key_fix_id": fix_id, "page_after_id": after_id or 0, "page_limit": limit},
            )
        ).all()
        return [event_from_row(r) for r in rows]

    # --- a session's changes (WatchAiSession) -------------------------------------------

    async def latest_event_id(self, session_id: UUID) -> int:
        """The id of the session's latest audit row (0 when it has none)."""
        result = await self._conn.execute(sql.LATEST_SESSION_EVENT, {"key_session_id": session_id})
        return int(result.scalar_one())

    async def session_events(self, session_id: UUID, after_id: int, limit: int) -> list[FixEvent]:
        """The session's audit rows after `after_id`, oldest first, with their
        runs. Rows of one session get ids in the order they commit: every
        writer of a session holds its row (the version bump) while it inserts."""
        rows = (
            await self._conn.execute(
                sql.SESSION_EVENTS,
                {"key_session_id": session_id, "page_after_id": after_id, "page_limit": limit},
            )
        ).all()
        return [event_from_row(r) for r in rows]

    async def fixes_by_id(self, session_id: UUID, fix_ids: list[UUID]) -> dict[UUID, Fix]:
        if not fix_ids:
            return {}
        rows = (
            await self._conn.execute(
                sql.FIXES_BY_ID, {"key_session_id": session_id, "key_fix_ids": fix_ids}
            )
        ).all()
        return {fix.id: fix for fix in map(fix_from_row, rows)}

    # --- outcome analytics ------------------------------------------------------------

    async def _analytics_settings(self) -> None:
        for statement in sql.ANALYTICS_SETTINGS:
            await self._conn.execute(text(statement))

    async def outcome_analytics(
        self,
        account_id: str,
        window: analytics.Window,
        dimension: analytics.Dimension | None,
        limit: int,
    ) -> tuple[analytics.Group, list[analytics.Group]]:
        """The totals of the account's runs declared in `window`, and its
        largest groups by `dimension` (at most `limit` + 1). Call it in a
        transaction (its settings are local to it)."""
        await self._analytics_settings()
        rows = (
            await self._conn.execute(
                text(sql.outcome_analytics_sql(dimension.value if dimension else None)),
                {
                    "scope_account_id": account_id,
                    "page_start": window.start,
                    "page_end": window.end,
                    "page_limit": limit,
                },
            )
        ).all()
        columns = sql.ANALYTICS_GROUP_COLUMNS[dimension.value] if dimension else ()
        return _figures(rows, columns)

    async def template_success_rate(
        self, account_id: str, template_id: UUID, window: analytics.Window
    ) -> tuple[analytics.Group, list[analytics.Group]]:
        """A template's runs in `window`: in total, and by version (newest first)."""
        await self._analytics_settings()
        rows = (
            await self._conn.execute(
                text(sql.TEMPLATE_SUCCESS_RATE),
                {
                    "scope_account_id": account_id,
                    "key_template_id": template_id,
                    "page_start": window.start,
                    "page_end": window.end,
                },
            )
        ).all()
        total, versions = _figures(rows, ("template_version",))
        return replace(total, template_id=str(template_id)), [
            replace(v, template_id=str(template_id)) for v in versions
        ]

    async def recipe_success_rate(
        self, account_id: str, recipe_id: str, window: analytics.Window
    ) -> analytics.Group:
        await self._analytics_settings()
        rows = (
            await self._conn.execute(
                text(sql.RECIPE_SUCCESS_RATE),
                {
                    "scope_account_id": account_id,
                    "key_recipe_id": recipe_id,
                    "page_start": window.start,
                    "page_end": window.end,
                },
            )
        ).all()
        total, _ = _figures(rows, ())
        return total

    # --- template-proposal outbox -----------------------------------------------

    async def pending_proposals(self, limit: int) -> list[TemplateProposal]:
        stmt = (
            select(P).where(P.c.template_id.is_(None)).order_by(P.c.created_at, P.c.id).limit(limit)
        )
        rows = (await self._conn.execute(stmt)).all()
        return [proposal_from_row(r) for r in rows]

    async def ack_proposal(
        self, proposal_id: UUID, template_id: UUID, now: datetime
    ) -> TemplateProposal | None:
        """Marks a pending proposal as turned into `template_id`; returns the
        proposal as it now is (an acked one unchanged), None if it does not exist."""
        row = (
            await self._conn.execute(
                update(P)
                .where(P.c.id == proposal_id, P.c.template_id.is_(None))
                .values(template_id=template_id, acked_at=now)
                .returning(*P.c)
            )
        ).first()
        if row is None:
            row = (await self._conn.execute(select(P).where(P.c.id == proposal_id))).first()
        return proposal_from_row(row) if row else None


def _durations(samples: int, percentiles: list[float] | None) -> analytics.Durations:
    if not samples or not percentiles:
        return analytics.Durations(samples=samples)
    return analytics.Durations(samples, float(percentiles[0]), float(percentiles[1]))


def _group(m: Mapping[str, Any], columns: tuple[str, ...]) -> analytics.Group:
    values = [m[c] for c in columns]
    key = "@".join(str(v) for v in values if v is not None) or analytics.NONE_KEY
    template_id = m.get("template_id")
    return analytics.Group(
        key=key,
        counts=analytics.Counts(
            runs=m["runs"],
            success=m["success"],
            failed=m["failed"],
            partial=m["partial"],
            never_applied=m["never_applied"],
        ),
        proposal_to_run=_durations(m["to_run_samples"], m["to_run"]),
        run_to_outcome=_durations(m["to_outcome_samples"], m["to_outcome"]),
        template_id=str(template_id) if template_id is not None else None,
        template_version=m.get("template_version"),
    )


def _figures(
    rows: list[Any], columns: tuple[str, ...]
) -> tuple[analytics.Group, list[analytics.Group]]:
    """The totals row (an empty window has none: all zero) and the groups."""
    total = analytics.Group(
        key="",
        counts=analytics.Counts(),
        proposal_to_run=analytics.Durations(),
        run_to_outcome=analytics.Durations(),
    )
    groups = []
    for row in rows:
        m = row._mapping
        if m["is_total"]:
            total = _group(m, ())
        else:
            groups.append(_group(m, columns))
    return replace(total, key=""), groups


def _snapshot(row: Mapping[str, Any] | None) -> FixSnapshot:
    if row is None:
        raise fix_not_found()
    return FixSnapshot(
        fix=fix_from_row(row),
        session_status=SessionStatus(row["session_status"]),
        session_version=row["session_state_version"],
        account_id=row["session_account_id"],
    )


def _write_variant(fix: Fix, change: FixChange) -> tuple[bool, bool, bool, bool]:
    """Which `WRITE_FIX` statement: (script changed, lifecycle changed,
    leaves a template proposal, declares a run). A field the change left
    alone is the very object it was (`replace`), so identity says "unchanged"."""
    after = change.after
    script_changed = (
        after.ai_drafted_script is not fix.ai_drafted_script
        or after.ai_drafted_parameters is not fix.ai_drafted_parameters
        or after.script_parameters is not fix.script_parameters
        or after.script_provenance is not fix.script_provenance
        or after.ai_script_basis is not fix.ai_script_basis
    )
    lifecycle_changed = (
        after.status is not fix.status
        or after.applied_at is not fix.applied_at
        or after.outcome_notes is not fix.outcome_notes
        or after.script_decision is not fix.script_decision
        or after.ai_outcome_proposal is not fix.ai_outcome_proposal
        or after.notes_history is not fix.notes_history
    )
    return (
        script_changed,
        lifecycle_changed,
        change.leaves_template_proposal,
        change.run is not None,
    )


def _write_params(
    seen: FixSnapshot,
    change: FixChange,
    variant: tuple[bool, bool, bool, bool],
    *,
    actor: str,
    now: datetime,
) -> tuple[dict[str, Any], Fix]:
    """The bind values of `WRITE_FIX[variant]`, and the fix as it will be once written."""
    version = seen.session_version + 1
    params = sql.event_params(change, actor=actor, state_version=version, now=now)
    params["key_read_version"] = seen.session_version
    script_changed, lifecycle_changed, leaves_proposal, declares_run = variant
    run_id = uuid.uuid4() if declares_run else None
    written = change.written(version, run_id)
    params["set_state_version"] = version
    if lifecycle_changed:
        params.update(sql.lifecycle_params(written, now, version))
    if script_changed:
        params.update(sql.script_params(written))
    if declares_run:
        assert change.run is not None and written.last_run is not None
        run = change.run
        params.update(
            run_id=run_id,
            run_kind=run.kind.value,
            run_source=run.source.value,
            run_template_id=run.script_template_id,
            run_language=run.language.value,
            run_script=run.script,
            run_parameters=run.parameters,
            run_rendered=run.rendered,
            run_template_version=run.script_template_version,
            run_provenance=provenance_json(run.provenance),
            set_last_run=run_json(written.last_run),
        )
    if leaves_proposal:
        fix = seen.fix
        params.update(
            outbox_id=uuid.uuid4(),
            outbox_account_id=seen.account_id,
            outbox_title=fix.title,
            outbox_description=fix.description,
            outbox_language=fix.script_language.value,
            outbox_script=change.after.ai_drafted_script,
            outbox_parameters=template_proposal_parameters(change.after),
        )
    return params, written
