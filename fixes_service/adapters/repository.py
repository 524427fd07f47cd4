"""The fixes database: every mutation is atomic and bumps the session once.

A fix mutation first tries the optimistic path, two round trips and no
BEGIN/COMMIT:

1. one `SELECT` joining the session and the fix, filtered by the caller's
   scope (a consistent snapshot of both);
2. after the pure domain rule accepted the change, one statement whose
   data-modifying CTEs bump `ai_sessions.state_version` by one *only if it is
   still the version read* (every change to a session or any of its fixes
   bumps it, so an unchanged version means nothing moved), then update the
   fix, append the audit row (and, for `draft_template`, the outbox row) from
   the bump's result. One statement commits as a whole or not at all.

When the compare-and-swap loses (another writer got there first), the
mutation re-reads; after `OPTIMISTIC_ATTEMPTS` losses it falls back to the
locking path: a transaction with `SELECT ... FOR UPDATE` (session row first,
then the fix — resolve and escalate lock the session first too, so no two
writers wait on each other in opposite orders) and the same write, which then
cannot lose.

No-ops and refusals write nothing. The statements are built once at import
time with bind parameters, so SQLAlchemy compiles each once and asyncpg
prepares each once per connection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import BigInteger, Select, and_, bindparam, exists, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

from fixes_service.adapters.tables import (
    ai_sessions,
    fix_events,
    suggested_fixes,
    template_proposals,
)
from fixes_service.domain import model
from fixes_service.domain.access import Scope
from fixes_service.domain.model import (
    AiSession,
    Fix,
    FixChange,
    FixEvent,
    FixEventAction,
    FixStatus,
    OutcomeProposal,
    SessionChange,
    SessionStatus,
    TemplateProposal,
)
from flowpilot.runtime.errors import FailedPrecondition, NotFound

S, F, E, P = ai_sessions, suggested_fixes, fix_events, template_proposals

# A domain rule run under the locks: (session status, fix) -> change, or None for a no-op.
FixRule = Callable[[SessionStatus, Fix], FixChange | None]

_JSON = JSONB(none_as_null=True)


def _scoped(stmt: Select[Any], *, admin: bool) -> Select[Any]:
    stmt = stmt.where(S.c.account_id == bindparam("scope_account_id"))
    if not admin:
        stmt = stmt.where(S.c.owner_user_id == bindparam("scope_owner_user_id"))
    return stmt


def _scope_params(scope: Scope) -> dict[str, Any]:
    params: dict[str, Any] = {"scope_account_id": scope.account_id}
    if scope.owner_user_id is not None:
        params["scope_owner_user_id"] = scope.owner_user_id
    return params


def _by_admin(build: Callable[[bool], Any]) -> dict[bool, Any]:
    return {True: build(True), False: build(False)}


_ASYNCPG_DIALECT = asyncpg_dialect()


class _Compiled:
    """A Core statement compiled once to asyncpg's `$n` SQL.

    The per-fix mutation is the hot path (UpdateFixScript is benchmarked); it
    runs on the pooled asyncpg connection directly, skipping SQLAlchemy's
    per-execute work, while the SQL is still defined (and type-cast) by Core.
    """

    def __init__(self, stmt: Any) -> None:
        compiled = stmt.compile(dialect=_ASYNCPG_DIALECT)
        self.sql = compiled.string
        self._names = tuple(compiled.positiontup or ())
        self._defaults = dict(compiled.params)
        # SQLAlchemy's asyncpg codec exchanges JSONB as text.
        self._json = frozenset(
            name for name, bind in compiled.binds.items() if isinstance(bind.type, JSONB)
        )

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name in self._names:
            value = params[name] if name in params else self._defaults[name]
            if name in self._json and value is not None:
                value = json.dumps(value, separators=(",", ":"))
            values.append(value)
        return values


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def _driver(conn: AsyncConnection) -> asyncpg.Connection:
    raw = await conn.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


# --- prebuilt statements -------------------------------------------------------

_SESSION_COLS = (
    S.c.status.label("session_status"),
    S.c.state_version.label("session_state_version"),
    S.c.account_id.label("session_account_id"),
)


def _fix_with_session(admin: bool) -> Select[Any]:
    return _scoped(
        select(*_SESSION_COLS, *F.c)
        .select_from(S.join(F, F.c.ai_session_id == S.c.id))
        .where(S.c.id == bindparam("session_id"), F.c.id == bindparam("fix_id")),
        admin=admin,
    )


_READ_FIX = _by_admin(lambda admin: _Compiled(_fix_with_session(admin)))
_LOCK_FIX = _by_admin(lambda admin: _Compiled(_fix_with_session(admin).with_for_update()))

# Optimistic tries before a fix mutation takes row locks.
OPTIMISTIC_ATTEMPTS = 2

_GET_FIX = _by_admin(
    lambda admin: _scoped(
        select(*F.c)
        .select_from(S.join(F, F.c.ai_session_id == S.c.id))
        .where(S.c.id == bindparam("session_id"), F.c.id == bindparam("fix_id")),
        admin=admin,
    )
)

_GET_SESSION = _by_admin(
    lambda admin: _scoped(select(S).where(S.c.id == bindparam("session_id")), admin=admin)
)
_LOCK_SESSION = {admin: stmt.with_for_update() for admin, stmt in _GET_SESSION.items()}

_LIFECYCLE_VALUES = {
    "status": bindparam("w_status"),
    "applied_at": bindparam("w_applied_at"),
    "outcome_notes": bindparam("w_outcome_notes"),
    "script_decision": bindparam("w_script_decision"),
    "ai_outcome_proposal_outcome": bindparam("w_proposal_outcome"),
    "ai_outcome_proposal_rationale": bindparam("w_proposal_rationale"),
    "ai_outcome_proposal_at": bindparam("w_proposal_at"),
    "updated_at": bindparam("w_now"),
}

_EVENT_VALUES = {
    "fix_id": bindparam("e_fix_id"),
    "ai_session_id": bindparam("e_session_id"),
    "actor_user_id": bindparam("e_actor"),
    "action": bindparam("e_action"),
    "from_status": bindparam("e_from_status"),
    "to_status": bindparam("e_to_status"),
    "details": bindparam("e_details", type_=_JSON),
    "state_version": bindparam("e_state_version"),
    "created_at": bindparam("w_now"),
}


def _bump_cte(*, compare_and_swap: bool = False) -> Any:
    bump = update(S).where(S.c.id == bindparam("e_session_id"))
    if compare_and_swap:
        # The session is still as read: nothing changed it or its fixes since.
        bump = bump.where(S.c.state_version == bindparam("e_read_version", type_=BigInteger))
    return (
        bump.values(state_version=S.c.state_version + 1, updated_at=bindparam("w_now"))
        .returning(S.c.id)
        .cte("bump_session")
    )


def _typed_params(table: Any, values: Mapping[str, Any]) -> list[Any]:
    """The bind parameters of `values` typed like their columns (for INSERT ... SELECT)."""
    return [bindparam(param.key, type_=table.c[column].type) for column, param in values.items()]


def _write_fix(*, script: bool, proposal: bool) -> Insert:
    """Fix, bump and audit row (and outbox row) in one statement, or nothing.

    Returns the audit row's id, or no row when the compare-and-swap lost.
    """
    bump = _bump_cte(compare_and_swap=True)
    bumped = exists(select(bump.c.id))
    values: dict[str, Any] = dict(_LIFECYCLE_VALUES)
    if script:
        values["ai_drafted_script"] = bindparam("w_script")
        values["ai_drafted_parameters"] = bindparam("w_parameters", type_=_JSON)
    write_fix = (
        update(F).where(F.c.id == bindparam("e_fix_id"), bumped).values(**values).cte("write_fix")
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
            "id": bindparam("p_id"),
            "fix_id": bindparam("e_fix_id"),
            "ai_session_id": bindparam("e_session_id"),
            "account_id": bindparam("p_account_id"),
            "requested_by_user_id": bindparam("e_actor"),
            "title": bindparam("p_title"),
            "description": bindparam("p_description"),
            "language": bindparam("p_language"),
            "script": bindparam("p_script"),
            "parameters": bindparam("p_parameters"),
            "created_at": bindparam("w_now"),
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
    return stmt


_WRITE_FIX = {
    (script, proposal): _Compiled(_write_fix(script=script, proposal=proposal))
    for script in (False, True)
    for proposal in (False, True)
}

_CREATE_FIX = (
    insert(E)
    .values(**_EVENT_VALUES)
    .add_cte(_bump_cte())
    .add_cte(
        insert(F)
        .values(
            id=bindparam("e_fix_id"),
            ai_session_id=bindparam("e_session_id"),
            title=bindparam("c_title"),
            description=bindparam("c_description"),
            script_language=bindparam("c_language"),
            ai_drafted_script=bindparam("c_script"),
            ai_drafted_parameters=bindparam("c_parameters", type_=_JSON),
            script_template_id=bindparam("c_template_id"),
            status=bindparam("e_to_status"),
            created_at=bindparam("w_now"),
            updated_at=bindparam("w_now"),
        )
        .cte("new_fix")
    )
)

# Resolve and escalate: the session row, then each fix, then the audit rows.
_WRITE_SESSION = (
    update(S)
    .where(S.c.id == bindparam("s_id"))
    .values(
        status=bindparam("s_status"),
        escalation_reason=bindparam("s_reason"),
        state_version=S.c.state_version + 1,
        updated_at=bindparam("w_now"),
    )
)
_WRITE_LIFECYCLE = update(F).where(F.c.id == bindparam("e_fix_id")).values(**_LIFECYCLE_VALUES)
_INSERT_EVENT = insert(E).values(**_EVENT_VALUES)


# --- row mapping ------------------------------------------------------------------


def session_from_row(row: Row[Any] | Mapping[str, Any]) -> AiSession:
    m = row._mapping if isinstance(row, Row) else row
    return AiSession(
        id=m["id"],
        owner_user_id=m["owner_user_id"],
        account_id=m["account_id"],
        title=m["title"],
        status=SessionStatus(m["status"]),
        state_version=m["state_version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        escalation_reason=m["escalation_reason"],
    )


def fix_from_row(row: Row[Any] | Mapping[str, Any]) -> Fix:
    m = row._mapping if isinstance(row, Row) else row
    proposal = None
    if m["ai_outcome_proposal_outcome"] is not None:
        proposal = OutcomeProposal(
            outcome=model.Outcome(m["ai_outcome_proposal_outcome"]),
            rationale=m["ai_outcome_proposal_rationale"] or "",
            proposed_at=m["ai_outcome_proposal_at"],
        )
    decision = m["script_decision"]
    return Fix(
        id=m["id"],
        ai_session_id=m["ai_session_id"],
        title=m["title"],
        description=m["description"],
        script_language=model.ScriptLanguage(m["script_language"]),
        status=FixStatus(m["status"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        ai_drafted_script=m["ai_drafted_script"],
        ai_drafted_parameters=_json_value(m["ai_drafted_parameters"]),
        script_template_id=m["script_template_id"],
        applied_at=m["applied_at"],
        outcome_notes=m["outcome_notes"],
        ai_outcome_proposal=proposal,
        script_decision=model.ScriptDecision(decision) if decision else None,
    )


def _event_from_row(row: Row[Any]) -> FixEvent:
    m = row._mapping
    return FixEvent(
        id=m["id"],
        fix_id=m["fix_id"],
        ai_session_id=m["ai_session_id"],
        actor_user_id=m["actor_user_id"],
        action=FixEventAction(m["action"]),
        from_status=FixStatus(m["from_status"]) if m["from_status"] else None,
        to_status=FixStatus(m["to_status"]),
        details=m["details"] or {},
        state_version=m["state_version"],
        created_at=m["created_at"],
    )


def _proposal_from_row(row: Row[Any]) -> TemplateProposal:
    m = row._mapping
    return TemplateProposal(
        id=m["id"],
        fix_id=m["fix_id"],
        ai_session_id=m["ai_session_id"],
        account_id=m["account_id"],
        requested_by_user_id=m["requested_by_user_id"],
        title=m["title"],
        description=m["description"],
        language=model.ScriptLanguage(m["language"]),
        script=m["script"],
        parameters=m["parameters"],
        created_at=m["created_at"],
        template_id=m["template_id"],
    )


def _lifecycle_params(fix: Fix, now: datetime) -> dict[str, Any]:
    proposal = fix.ai_outcome_proposal
    return {
        "w_status": fix.status.value,
        "w_applied_at": fix.applied_at,
        "w_outcome_notes": fix.outcome_notes,
        "w_script_decision": fix.script_decision.value if fix.script_decision else None,
        "w_proposal_outcome": proposal.outcome.value if proposal else None,
        "w_proposal_rationale": proposal.rationale if proposal else None,
        "w_proposal_at": proposal.proposed_at if proposal else None,
        "w_now": now,
    }


def _event_params(
    change: FixChange, *, actor: str, state_version: int, now: datetime
) -> dict[str, Any]:
    return {
        "e_fix_id": change.after.id,
        "e_session_id": change.after.ai_session_id,
        "e_actor": actor,
        "e_action": change.action.value,
        "e_from_status": change.before.status.value,
        "e_to_status": change.after.status.value,
        "e_details": change.details,
        "e_state_version": state_version,
        "w_now": now,
    }


def _fix_not_found() -> NotFound:
    return NotFound("FIX_NOT_FOUND", "no such suggested fix in this AI session")


def session_not_found() -> NotFound:
    return NotFound("AI_SESSION_NOT_FOUND", "no such AI session")


@dataclass(frozen=True, slots=True)
class Page:
    """Keyset position: the sort key of the last row returned."""

    created_at: datetime
    id: UUID


class FixesRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- sessions -------------------------------------------------------------

    async def create_session(self, session: AiSession) -> AiSession:
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
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
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    _GET_SESSION[scope.owner_user_id is None],
                    {"session_id": session_id, **_scope_params(scope)},
                )
            ).first()
        return session_from_row(row) if row else None

    async def list_sessions(self, scope: Scope, limit: int, after: Page | None) -> list[AiSession]:
        stmt = select(S).where(S.c.account_id == scope.account_id)
        if scope.owner_user_id is not None:
            stmt = stmt.where(S.c.owner_user_id == scope.owner_user_id)
        if after is not None:
            # Newest first: the next page holds strictly older keys.
            stmt = stmt.where(
                (S.c.created_at < after.created_at)
                | and_(S.c.created_at == after.created_at, S.c.id < after.id)
            )
        stmt = stmt.order_by(S.c.created_at.desc(), S.c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [session_from_row(r) for r in rows]

    async def _lock_session(
        self, conn: AsyncConnection, scope: Scope, session_id: UUID
    ) -> AiSession:
        row = (
            await conn.execute(
                _LOCK_SESSION[scope.owner_user_id is None],
                {"session_id": session_id, **_scope_params(scope)},
            )
        ).first()
        if row is None:
            raise session_not_found()
        return session_from_row(row)

    async def change_session(
        self,
        scope: Scope,
        session_id: UUID,
        *,
        actor: str,
        now: datetime,
        rule: Callable[[AiSession, list[Fix]], SessionChange],
    ) -> AiSession:
        """Resolve or escalate: the session and every fix it touches, atomically."""
        async with self._engine.begin() as conn:
            session = await self._lock_session(conn, scope, session_id)
            rows = (
                await conn.execute(
                    select(F)
                    .where(F.c.ai_session_id == session_id)
                    .order_by(F.c.id)
                    .with_for_update()
                )
            ).all()
            change = rule(session, [fix_from_row(r) for r in rows])
            version = session.state_version + 1
            row = (
                await conn.execute(
                    _WRITE_SESSION.returning(*S.c),
                    {
                        "s_id": session_id,
                        "s_status": change.after.status.value,
                        "s_reason": change.after.escalation_reason,
                        "w_now": now,
                    },
                )
            ).one()
            if change.fix_changes:
                await conn.execute(
                    _WRITE_LIFECYCLE,
                    [
                        {"e_fix_id": c.after.id, **_lifecycle_params(c.after, now)}
                        for c in change.fix_changes
                    ],
                )
                await conn.execute(
                    _INSERT_EVENT,
                    [
                        _event_params(c, actor=actor, state_version=version, now=now)
                        for c in change.fix_changes
                    ],
                )
        return session_from_row(row)

    # --- fixes ----------------------------------------------------------------

    async def create_fix(
        self,
        scope: Scope,
        session_id: UUID,
        *,
        actor: str,
        now: datetime,
        build: Callable[[AiSession], Fix],
    ) -> Fix:
        async with self._engine.begin() as conn:
            session = await self._lock_session(conn, scope, session_id)
            fix = build(session)
            await conn.execute(
                _CREATE_FIX,
                {
                    "e_fix_id": fix.id,
                    "e_session_id": session_id,
                    "e_actor": actor,
                    "e_action": FixEventAction.CREATED.value,
                    "e_from_status": None,
                    "e_to_status": fix.status.value,
                    "e_details": {
                        "has_script": fix.ai_drafted_script is not None,
                        "has_template": fix.script_template_id is not None,
                    },
                    "e_state_version": session.state_version + 1,
                    "w_now": now,
                    "c_title": fix.title,
                    "c_description": fix.description,
                    "c_language": fix.script_language.value,
                    "c_script": fix.ai_drafted_script,
                    "c_parameters": fix.ai_drafted_parameters,
                    "c_template_id": fix.script_template_id,
                },
            )
        return fix

    async def get_fix(self, scope: Scope, session_id: UUID, fix_id: UUID) -> Fix:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    _GET_FIX[scope.owner_user_id is None],
                    {"session_id": session_id, "fix_id": fix_id, **_scope_params(scope)},
                )
            ).first()
        if row is None:
            raise _fix_not_found()
        return fix_from_row(row)

    async def list_fixes(
        self, scope: Scope, session_id: UUID, limit: int, after: Page | None
    ) -> list[Fix]:
        stmt = select(F).where(F.c.ai_session_id == session_id)
        if after is not None:
            stmt = stmt.where(
                (F.c.created_at > after.created_at)
                | and_(F.c.created_at == after.created_at, F.c.id > after.id)
            )
        stmt = stmt.order_by(F.c.created_at, F.c.id).limit(limit)
        async with self._engine.connect() as conn:
            visible = (
                await conn.execute(
                    _GET_SESSION[scope.owner_user_id is None],
                    {"session_id": session_id, **_scope_params(scope)},
                )
            ).first()
            if visible is None:
                raise session_not_found()
            rows = (await conn.execute(stmt)).all()
        return [fix_from_row(r) for r in rows]

    async def mutate_fix(
        self,
        scope: Scope,
        session_id: UUID,
        fix_id: UUID,
        *,
        actor: str,
        now: datetime,
        rule: FixRule,
    ) -> Fix:
        """Runs `rule` on the fix as it is and writes its change (if any) atomically."""
        admin = scope.owner_user_id is None
        params: dict[str, Any] = {"session_id": session_id, "fix_id": fix_id}
        params.update(_scope_params(scope))
        async with self._engine.connect() as conn:
            driver = await _driver(conn)
            for _ in range(OPTIMISTIC_ATTEMPTS):
                read = _READ_FIX[admin]
                row = await driver.fetchrow(read.sql, *read.args(params))
                fix, change = self._decide(row, rule)
                if change is None:
                    return fix
                if await self._write_change(driver, row, fix, change, actor=actor, now=now):
                    return change.after
            # Contended: take the locks, so this attempt cannot lose.
            async with driver.transaction():
                lock = _LOCK_FIX[admin]
                row = await driver.fetchrow(lock.sql, *lock.args(params))
                fix, change = self._decide(row, rule)
                if change is None:
                    return fix
                written = await self._write_change(driver, row, fix, change, actor=actor, now=now)
                if not written:  # pragma: no cover - the rows are locked
                    raise RuntimeError("a locked fix changed under its lock")
        return change.after

    @staticmethod
    def _decide(row: Mapping[str, Any] | None, rule: FixRule) -> tuple[Fix, FixChange | None]:
        if row is None:
            raise _fix_not_found()
        fix = fix_from_row(row)
        return fix, rule(SessionStatus(row["session_status"]), fix)

    @staticmethod
    async def _write_change(
        driver: asyncpg.Connection,
        row: Mapping[str, Any],
        fix: Fix,
        change: FixChange,
        *,
        actor: str,
        now: datetime,
    ) -> bool:
        """Writes `change` if the session is still at the version read; False if not."""
        read_version = row["session_state_version"]
        params = _event_params(change, actor=actor, state_version=read_version + 1, now=now)
        params["e_read_version"] = read_version
        params.update(_lifecycle_params(change.after, now))
        script_changed = (
            change.after.ai_drafted_script is not fix.ai_drafted_script
            or change.after.ai_drafted_parameters is not fix.ai_drafted_parameters
        )
        if script_changed:
            params["w_script"] = change.after.ai_drafted_script
            params["w_parameters"] = change.after.ai_drafted_parameters
        if change.leaves_template_proposal:
            params.update(
                p_id=uuid.uuid4(),
                p_account_id=row["session_account_id"],
                p_title=fix.title,
                p_description=fix.description,
                p_language=fix.script_language.value,
                p_script=change.after.ai_drafted_script,
                p_parameters=change.after.ai_drafted_parameters,
            )
        write = _WRITE_FIX[(script_changed, change.leaves_template_proposal)]
        return await driver.fetchval(write.sql, *write.args(params)) is not None

    async def list_events(
        self, scope: Scope, session_id: UUID, fix_id: UUID, limit: int, after_id: int | None
    ) -> list[FixEvent]:
        stmt = select(E).where(E.c.fix_id == fix_id)
        if after_id is not None:
            stmt = stmt.where(E.c.id > after_id)
        stmt = stmt.order_by(E.c.id).limit(limit)
        async with self._engine.connect() as conn:
            visible = (
                await conn.execute(
                    _GET_FIX[scope.owner_user_id is None],
                    {"session_id": session_id, "fix_id": fix_id, **_scope_params(scope)},
                )
            ).first()
            if visible is None:
                raise _fix_not_found()
            rows = (await conn.execute(stmt)).all()
        return [_event_from_row(r) for r in rows]

    # --- template-proposal outbox -----------------------------------------------

    async def pending_proposals(self, limit: int) -> list[TemplateProposal]:
        stmt = (
            select(P).where(P.c.template_id.is_(None)).order_by(P.c.created_at, P.c.id).limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_proposal_from_row(r) for r in rows]

    async def ack_proposal(
        self, proposal_id: UUID, template_id: UUID, now: datetime
    ) -> TemplateProposal:
        """Idempotent: acking again with the same template id returns the row."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    update(P)
                    .where(P.c.id == proposal_id, P.c.template_id.is_(None))
                    .values(template_id=template_id, acked_at=now)
                    .returning(*P.c)
                )
            ).first()
            if row is None:
                row = (await conn.execute(select(P).where(P.c.id == proposal_id))).first()
        if row is None:
            raise NotFound("TEMPLATE_PROPOSAL_NOT_FOUND", "no such template proposal")
        proposal = _proposal_from_row(row)
        if proposal.template_id != template_id:
            raise FailedPrecondition(
                "TEMPLATE_PROPOSAL_ALREADY_ACKED",
                "the proposal was already turned into another template",
                metadata={"template_id": str(proposal.template_id)},
            )
        return proposal
