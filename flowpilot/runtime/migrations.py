"""Alembic, the same way for every service, and the expand/contract check.

Each service keeps its revisions in `<package>/migrations/versions/` and an
`env.py` that calls `run_env(metadata)`. Migrations take a PostgreSQL advisory
lock first, so two migrators never interleave; the wait for that lock and
every DDL statement's wait for a table lock are bounded (`lock_timeout`), so a
migration stuck behind a long transaction fails and rolls back instead of
queueing every query of the service behind its ALTER TABLE.

Rollbacks. A migration runs once per release (a Kubernetes Job), before or
while the new pods start; the previous release's pods keep serving, and a
rollback starts them again, against a schema that is *ahead* of their code.
That is safe within the expand/contract window, and each revision says how
far that window reaches: its module sets

    oldest_compatible_revision = "<revision>"

the oldest code (named by its own head revision) that still works against the
schema at this revision: the previous revision for a migration that only
expands (adds a table, a nullable or defaulted column, an index), itself for
one that contracts (drops or renames what older code uses). After migrating,
the migrator records the effective value for the new head (the latest such
declaration up to it) in the comment of `alembic_version`, so code that does
not know the new revisions can still decide: it starts when it is that
revision or newer, and refuses with a clear message otherwise. See
`schema_status`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from flowpilot.runtime.db import (
    DEFAULT_STATEMENT_CACHE_SIZE,
    connector,
    create_unpooled_engine,
    parse_database_url,
)

# Any constant works; it only has to be the same for every migrator of a database.
MIGRATION_LOCK_KEY = 0x466C6F7750696C  # "FlowPil"
# The key of the JSON object in alembic_version's table comment.
COMPAT_KEY = "oldest_compatible_revision"
VERSION_TABLE = "alembic_version"
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of lock_timeout expiring
DEFAULT_LOCK_TIMEOUT_SECONDS = 5.0
DEFAULT_LOCK_WAIT_SECONDS = 120.0


class MigrationLockTimeout(RuntimeError):
    """A migration gave up waiting for a lock; it changed nothing."""


def versions_dir(package: str) -> Path:
    module = importlib.import_module(package)
    return Path(module.__file__ or "").parent / "migrations" / "versions"


def alembic_config(
    package: str,
    url: str,
    *,
    extra_version_locations: Sequence[str | Path] = (),
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS,
    lock_wait_seconds: float = DEFAULT_LOCK_WAIT_SECONDS,
    statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    if extra_version_locations:
        # Tests use this to stand in for a later release's revisions.
        config.set_main_option("path_separator", "os")
        locations = [versions_dir(package), *map(Path, extra_version_locations)]
        config.set_main_option("version_locations", os.pathsep.join(map(str, locations)))
    config.attributes.update(
        database_url=url,
        lock_timeout_seconds=lock_timeout_seconds,
        lock_wait_seconds=lock_wait_seconds,
        statement_cache_size=statement_cache_size,
    )
    return config


def upgrade(
    package: str,
    url: str,
    revision: str = "head",
    **options: object,
) -> None:
    """Blocking; call it from a thread when an event loop is running.

    `options` are `alembic_config`'s keywords (lock timeouts, extra version
    locations, statement cache size)."""
    command.upgrade(alembic_config(package, url, **options), revision)  # type: ignore[arg-type]


def downgrade(package: str, url: str, revision: str, **options: object) -> None:
    command.downgrade(alembic_config(package, url, **options), revision)  # type: ignore[arg-type]


# --- compatibility ----------------------------------------------------------------


def declared_compatibility(script: ScriptDirectory, revision: str) -> str:
    """The oldest code revision a schema at `revision` serves: the latest
    `oldest_compatible_revision` declared by `revision` or any revision before
    it (an undeclared revision counts as a contraction: itself)."""
    lineage = [s.revision for s in script.iterate_revisions(revision, "base")]  # newest first
    position = {rev: index for index, rev in enumerate(lineage)}
    effective = lineage[-1]
    for rev in reversed(lineage):  # oldest first
        declared = getattr(script.get_revision(rev).module, COMPAT_KEY, rev)
        if declared not in position or position[declared] < position[rev]:
            raise ValueError(
                f"revision {rev}: {COMPAT_KEY}={declared!r} must be {rev} or one of its ancestors"
            )
        if position[declared] < position[effective]:
            effective = declared
    return effective


class SchemaState(Enum):
    CURRENT = "current"
    EMPTY = "empty"  # never migrated
    BEHIND = "behind"  # an older revision of this code's history
    AHEAD_COMPATIBLE = "ahead, compatible"
    AHEAD_INCOMPATIBLE = "ahead, incompatible"


@dataclass(frozen=True)
class SchemaStatus:
    package: str
    code_revision: str
    database_revision: str | None
    oldest_compatible_revision: str | None
    state: SchemaState

    @property
    def serviceable(self) -> bool:
        return self.state in (SchemaState.CURRENT, SchemaState.AHEAD_COMPATIBLE)

    def describe(self) -> str:
        code, db = self.code_revision, self.database_revision
        match self.state:
            case SchemaState.CURRENT:
                return f"schema at {db}, as this code expects"
            case SchemaState.EMPTY:
                return f"the database has no schema; run `flowpilot migrate` (code needs {code})"
            case SchemaState.BEHIND:
                return (
                    f"the database schema is at {db}, older than this code ({code}); "
                    "run `flowpilot migrate` (the release's migration Job)"
                )
            case SchemaState.AHEAD_COMPATIBLE:
                return (
                    f"the database schema is at {db}, ahead of this code ({code}), and serves code "
                    f"from {self.oldest_compatible_revision} on: compatible"
                )
            case SchemaState.AHEAD_INCOMPATIBLE:
                needs = self.oldest_compatible_revision or db
                return (
                    f"the database schema is at {db}, which needs code at revision {needs} or "
                    f"later; this code is at {code}. Deploy a release at or after {needs} "
                    "(a rollback past a contracting migration needs the database restored too)"
                )
        raise AssertionError(self.state)


def classify(
    script: ScriptDirectory, database_revision: str | None, recorded_compatibility: str | None
) -> SchemaState:
    """Pure decision: may code whose revisions are `script` serve this database?"""
    head = script.get_current_head()
    if database_revision is None:
        return SchemaState.EMPTY
    if database_revision == head:
        return SchemaState.CURRENT
    known = _known(script, database_revision)
    if known:
        return SchemaState.BEHIND
    if recorded_compatibility and _known(script, recorded_compatibility):
        lineage = {s.revision for s in script.iterate_revisions(head, "base")}
        if recorded_compatibility in lineage:
            return SchemaState.AHEAD_COMPATIBLE
    return SchemaState.AHEAD_INCOMPATIBLE


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


async def read_schema_marks(
    url: str, *, statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE
) -> tuple[str | None, str | None]:
    """(alembic revision, recorded oldest compatible revision) of a database."""
    connection = await connector(url, statement_cache_size=statement_cache_size)()
    try:
        async with connection.transaction(readonly=True):
            if await connection.fetchval("SELECT to_regclass($1)", VERSION_TABLE) is None:
                return None, None
            revision = await connection.fetchval(f"SELECT version_num FROM {VERSION_TABLE}")
            comment = await connection.fetchval(
                "SELECT obj_description(to_regclass($1), 'pg_class')", VERSION_TABLE
            )
    finally:
        await connection.close()
    compatible = None
    if comment:
        try:
            compatible = json.loads(comment).get(COMPAT_KEY)
        except (ValueError, AttributeError):
            compatible = None
    return revision, compatible


async def schema_status(
    package: str,
    url: str,
    *,
    extra_version_locations: Sequence[str | Path] = (),
    statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
) -> SchemaStatus:
    script = ScriptDirectory.from_config(
        alembic_config(package, url, extra_version_locations=extra_version_locations)
    )
    revision, compatible = await read_schema_marks(url, statement_cache_size=statement_cache_size)
    return SchemaStatus(
        package=package,
        code_revision=script.get_current_head() or "",
        database_revision=revision,
        oldest_compatible_revision=compatible,
        state=classify(script, revision, compatible),
    )


async def wait_for_schema(
    package: str,
    url: str,
    *,
    timeout: float,  # noqa: ASYNC109 - a deadline over several attempts, not one call
    poll_seconds: float = 2.0,
    statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
    extra_version_locations: Sequence[str | Path] = (),
) -> SchemaStatus:
    """The schema status once it is serviceable, or the last one seen after
    `timeout` (a database behind its code may be migrated meanwhile by the
    release's Job). Connection errors are retried until the timeout too."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = await schema_status(
                package,
                url,
                statement_cache_size=statement_cache_size,
                extra_version_locations=extra_version_locations,
            )
        except Exception as exc:
            if not _retriable(exc) or time.monotonic() >= deadline:
                where = parse_database_url(url).display
                raise ConnectionError(
                    f"cannot use the database {where}: {type(exc).__name__}: {exc}"
                ) from exc
        else:
            waiting = status.state in (SchemaState.EMPTY, SchemaState.BEHIND)
            if not waiting or time.monotonic() >= deadline:
                return status
        await asyncio.sleep(poll_seconds)


def _retriable(exc: Exception) -> bool:
    """Errors that go away on their own (a database or pooler still starting);
    TLS, authentication and configuration errors do not."""
    import asyncpg

    if isinstance(exc, ssl.SSLError):
        return False
    return isinstance(
        exc,
        OSError
        | TimeoutError
        | asyncpg.CannotConnectNowError
        | asyncpg.TooManyConnectionsError
        | asyncpg.ConnectionDoesNotExistError,
    )


# --- the env.py runner ---------------------------------------------------------------


def _sqlstate(error: DBAPIError) -> str | None:
    orig = error.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def _run(connection: Connection, metadata: MetaData | None) -> None:
    attributes = context.config.attributes
    wait_ms = int(float(attributes.get("lock_wait_seconds", DEFAULT_LOCK_WAIT_SECONDS)) * 1000)
    ddl_ms = int(float(attributes.get("lock_timeout_seconds", DEFAULT_LOCK_TIMEOUT_SECONDS)) * 1000)
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        # lock_timeout bounds the advisory lock's wait as well as DDL's.
        connection.execute(text(f"SET LOCAL lock_timeout = {wait_ms}"))
        try:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        except DBAPIError as exc:
            if _sqlstate(exc) == LOCK_NOT_AVAILABLE:
                raise MigrationLockTimeout(
                    f"another migration of this database held its lock for more than "
                    f"{wait_ms / 1000:g} s (FLOWPILOT_MIGRATION_LOCK_WAIT_SECONDS); nothing changed"
                ) from None
            raise
        connection.execute(text(f"SET LOCAL lock_timeout = {ddl_ms}"))
        try:
            context.run_migrations()
        except DBAPIError as exc:
            if _sqlstate(exc) == LOCK_NOT_AVAILABLE:
                raise MigrationLockTimeout(
                    f"a schema change waited more than {ddl_ms / 1000:g} s for a table lock "
                    "held by other sessions (FLOWPILOT_MIGRATION_LOCK_TIMEOUT_SECONDS); the "
                    "migration rolled back and changed nothing: retry it "
                    f"({type(exc.orig).__name__})"
                ) from None
            raise
        _record_compatibility(connection)


def _record_compatibility(connection: Connection) -> None:
    """Writes the head's oldest compatible code revision beside alembic's own mark."""
    revision = context.get_context().get_current_revision()
    if revision is None:
        return  # downgraded to base: no version table row
    script = context.script
    mark = json.dumps({COMPAT_KEY: declared_compatibility(script, revision)})
    quoted = mark.replace("'", "''")
    connection.execute(text(f"COMMENT ON TABLE {VERSION_TABLE} IS '{quoted}'"))


async def _run_async(url: str, metadata: MetaData | None, statement_cache_size: int) -> None:
    engine = create_unpooled_engine(url, statement_cache_size=statement_cache_size)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run, metadata)
    finally:
        await engine.dispose()


def run_env(metadata: MetaData | None = None) -> None:
    """The body of every service's `migrations/env.py`."""
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL given to the migration")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    cache = int(context.config.attributes.get("statement_cache_size", DEFAULT_STATEMENT_CACHE_SIZE))
    asyncio.run(_run_async(url, metadata, cache))
