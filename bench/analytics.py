"""`python -m bench.analytics`: outcome analytics on a million runs.

It starts a private PostgreSQL, migrates the fixes database, and loads
`--runs` declared runs (default 1,000,000) set-based, with `generate_series`
in a handful of statements, never row by row: AI sessions, one fix per run
(titles from 300 title clusters), the run records with their provenance
(four origins, 200 templates in up to three versions, 12 recipes, three
languages), outcomes on the fixes, and the `run_facts` rows as the triggers
would have written them (the triggers are set aside while loading and the
facts derived in one INSERT ... SELECT, like migration 0003's backfill).
Half the runs belong to one large account (`acct-big`), the rest to 25
smaller ones (`acct-1`, `acct-3`, ... 20,000 runs each); runs are spread
over the last 365 days. Then VACUUM ANALYZE,
as autovacuum would.

It then calls the analytics use cases (`FixesService.outcome_analytics`,
`success_rate`: the SQL the API runs, on the service's pool) `--calls` times
each after two warm-up calls, and prints p50 and p99 latency per query. It
asserts nothing.

    python -m bench.analytics --runs 1000000 --calls 20
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BIG = "acct-big"
SMALL_ACCOUNTS = 50
TEMPLATES = 200
CLUSTERS = 300
RECIPES = [
    "restart-windows-service",
    "clear-print-queue",
    "flush-dns-reset-network",
    "free-disk-space-windows",
    "reset-windows-update",
    "reset-outlook-cache",
    "clear-teams-cache",
    "repair-office-install",
    "restart-systemd-unit",
    "find-disk-usage-linux",
    "docker-prune",
    "reload-nginx",
]

# One statement per table: ids, accounts and every attribute derive from the
# series number `n`, so the load is deterministic.
LOAD = [
    # One session per 20 runs; session s belongs to acct-big when s is even,
    # else to one of 25 smaller accounts (the odd numbers below 50).
    """
    INSERT INTO ai_sessions (id, owner_user_id, account_id, title, status, state_version,
        created_at, updated_at)
    SELECT md5('s' || s)::uuid, 'user-' || (s % 40),
        CASE WHEN s % 2 = 0 THEN 'acct-big' ELSE 'acct-' || (s % {small}) END,
        'session ' || s, 'resolved', 40, now() - interval '366 days', now()
    FROM generate_series(0, {runs} / 20) AS s
    """,
    # One fix per run, proposed up to 2 hours before the run.
    """
    INSERT INTO suggested_fixes (id, ai_session_id, title, script_language, ai_drafted_script,
        script_template_id, script_template_version, status, applied_at, created_at, updated_at,
        state_version, title_cluster)
    SELECT md5('f' || n)::uuid, md5('s' || (n / 20))::uuid,
        'Fix kind ' || (n % {clusters}) || ' on host-' || n,
        (ARRAY['powershell', 'bash', 'python'])[1 + n % 3],
        CASE WHEN n % 4 <> 2 THEN 'echo ' || n END,
        CASE WHEN n % 4 = 2 THEN md5('t' || (n % {templates}))::uuid END,
        CASE WHEN n % 4 = 2 THEN 1 + n % 3 END,
        CASE WHEN n % 20 < 12 THEN 'applied_success'
             WHEN n % 20 < 15 THEN 'applied_failed'
             WHEN n % 20 < 17 THEN 'applied_partial'
             ELSE 'proposed' END,
        CASE WHEN n % 20 = 17 THEN NULL
             ELSE now() - (n % 365) * interval '1 day' END,
        now() - (n % 365) * interval '1 day' - (n % 7200) * interval '1 second',
        now() - (n % 365) * interval '1 day' + (n % 86400) * interval '1 second',
        2, 'fix host kind ' || (n % {clusters})
    FROM generate_series(0, {runs} - 1) AS n
    """,
    # The run records, with their provenance.
    """
    INSERT INTO fix_runs (id, fix_id, ai_session_id, state_version, kind, source,
        script_template_id, script_template_version, language, script, parameters, rendered,
        declared_by_user_id, declared_at, provenance)
    SELECT md5('r' || n)::uuid, md5('f' || n)::uuid, md5('s' || (n / 20))::uuid, 1,
        'apply',
        CASE WHEN n % 4 = 2 THEN 'template' ELSE 'drafted_script' END,
        CASE WHEN n % 4 = 2 THEN md5('t' || (n % {templates}))::uuid END,
        CASE WHEN n % 4 = 2 THEN 1 + n % 3 END,
        (ARRAY['powershell', 'bash', 'python'])[1 + n % 3], 'echo ' || n, '{{}}'::jsonb, true,
        'user-' || (n % 40), now() - (n % 365) * interval '1 day',
        jsonb_strip_nulls(jsonb_build_object(
            'origin', (ARRAY['ai_draft', 'ai_draft_edited', 'template', 'hand_written'])[1 + n % 4],
            'recipe_id', CASE WHEN n % 4 < 3 THEN
                (ARRAY[{recipes}])[1 + n % {recipe_count}] END))
    FROM generate_series(0, {runs} - 1) AS n
    """,
    # The facts, as the triggers keep them.
    """
    INSERT INTO run_facts (run_id, fix_id, account_id, declared_at, proposed_at, outcome,
        outcome_at, origin, language, template_id, template_version, recipe_id, title_cluster)
    SELECT r.id, r.fix_id, s.account_id, r.declared_at, f.created_at,
        CASE WHEN f.status <> 'proposed' THEN f.status
             WHEN f.applied_at IS NULL THEN 'never_applied' END,
        CASE WHEN f.status <> 'proposed' OR f.applied_at IS NULL THEN f.updated_at END,
        r.provenance ->> 'origin', r.language, r.script_template_id,
        r.script_template_version, r.provenance ->> 'recipe_id', f.title_cluster
    FROM fix_runs r
    JOIN suggested_fixes f ON f.id = r.fix_id
    JOIN ai_sessions s ON s.id = f.ai_session_id
    """,
]
TRIGGERS = ("fix_runs fact_of_run", "suggested_fixes outcome_of_runs")


class _Unused:
    """The analytics use cases call no other service and watch nothing."""

    def __getattr__(self, name: str) -> Any:  # pragma: no cover - never called
        raise AssertionError(f"analytics used {name}")


async def _load(url: str, runs: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for spec in TRIGGERS:
            table, trigger = spec.split()
            await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        recipes = ", ".join(f"'{r}'" for r in RECIPES)
        for index, statement in enumerate(LOAD, 1):
            started = time.perf_counter()
            await conn.execute(
                statement.format(
                    runs=runs,
                    small=SMALL_ACCOUNTS,
                    clusters=CLUSTERS,
                    templates=TEMPLATES,
                    recipes=recipes,
                    recipe_count=len(RECIPES),
                )
            )
            print(f"  load {index}/{len(LOAD)}: {time.perf_counter() - started:6.1f} s", flush=True)
        for spec in TRIGGERS:
            table, trigger = spec.split()
            await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) run_facts")
        print(f"  vacuum analyze: {time.perf_counter() - started:6.1f} s", flush=True)
        counts = await conn.fetch(
            "SELECT account_id = 'acct-big' AS big, count(*) FROM run_facts GROUP BY 1"
        )
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('run_facts'))")
        print(
            f"  run_facts: {dict((r[0], r[1]) for r in counts)} rows (big account: True), "
            f"{size} with its indexes",
            flush=True,
        )
    finally:
        await conn.close()


async def _measure(name: str, call: Callable[[], Awaitable[Any]], calls: int) -> tuple:
    for _ in range(2):
        await call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return name, statistics.median(ordered), p99, result


def _runs_of(result: Any) -> int:
    report = result if not isinstance(result, tuple) else None
    if report is not None:
        return report.totals.counts.runs
    return result[1].counts.runs


async def _run(args: argparse.Namespace, workdir: Path) -> int:
    from fixes_service.adapters.repository import FixesRepository
    from fixes_service.domain.analytics import Dimension
    from fixes_service.main import build_service
    from flowpilot.runtime.auth import Principal, Role
    from flowpilot.runtime.embedded_pg import EmbeddedPostgres
    from flowpilot.runtime.migrations import upgrade
    from flowpilot.runtime.settings import Settings
    from flowpilot.runtime.uow import UnitOfWork

    settings = Settings(jwt_secret="bench-" + uuid.uuid4().hex * 2, data_dir=workdir)
    cluster = EmbeddedPostgres(workdir / "pg", fsync=False)
    print(f"starting PostgreSQL in {workdir} ...", flush=True)
    cluster.start()
    try:
        url = cluster.create_database("fixes")
        await asyncio.to_thread(upgrade, "fixes_service", url)
        print(f"loading {args.runs:,} runs ...", flush=True)
        await _load(url, args.runs)
        uow = UnitOfWork.from_settings(url, FixesRepository, settings)
        service = build_service(
            settings,
            uow,
            templates=_Unused(),  # type: ignore[arg-type]
            feed=_Unused(),  # type: ignore[arg-type]
        )
        now = datetime.now(UTC)
        rows = []
        for account in (BIG, "acct-7"):
            viewer = Principal(user_id="bench", account_id=account, role=Role.VIEWER, token="")
            for days in (30, 365):
                start = now - timedelta(days=days)
                for dimension in (None, *Dimension):
                    label = f"{account} {days:>3} d  {dimension or 'totals'}"
                    call = functools.partial(
                        service.outcome_analytics,
                        viewer,
                        start=start,
                        end=now,
                        group_by=dimension,
                        page_size=50,
                    )
                    rows.append(await _measure(label, call, args.calls))
            template = uuid.UUID(bytes=bytes.fromhex(_md5("t6")))
            for label, template_id, recipe_id in (
                (f"{account}  90 d  success rate of a template", str(template), None),
                (f"{account}  90 d  success rate of a recipe", None, RECIPES[1]),
            ):
                call = functools.partial(
                    service.success_rate,
                    viewer,
                    template_id=template_id,
                    recipe_id=recipe_id,
                    start=None,
                    end=None,
                )
                rows.append(await _measure(label, call, args.calls))
        await uow.dispose()
    finally:
        cluster.stop("immediate")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"analytics on {args.runs:,} runs, {args.calls} calls each (ms)")
    print(f"{'query':<52}{'runs':>9}{'p50':>9}{'p99':>9}")
    for name, p50, p99, result in rows:
        print(f"{name:<52}{_runs_of(result):>9,}{p50:>9.1f}{p99:>9.1f}")
    return 0


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()  # ids, as the load makes them


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.analytics", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs to load")
    parser.add_argument("--calls", type=int, default=20, help="measured calls per query")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="flowpilot-bench-analytics-"))
    workdir.chmod(0o755)
    return asyncio.run(_run(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
