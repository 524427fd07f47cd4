"""Prints the database-fault figures of issue 9 (points 4 and 5) against real
processes on this machine (`flowpilot serve ...` for each, one PostgreSQL):

- PostgreSQL stopped: what each service's data calls answer and how long
  they take; how long until each service reports NOT_SERVING over
  `grpc.health.v1` and the gateway's `/readyz` is 503, while `/healthz`
  stays 200;
- PostgreSQL started again: how long until both serve and `/readyz` is 200;
  then `pg_ctl restart` and the first request to each service at once;
- one tenant starving all: one AI-session row held locked (`SELECT ... FOR
  UPDATE` in an open transaction), 30 requests writing that row, and the
  time another tenant's read takes meanwhile; the same for one
  script-builder session row (`scriptbuilder-starvation`).

    python -m tests.measure_database [--flood 30] [--hold 12] [PHASE ...]

where a PHASE is down, restart, starvation or scriptbuilder-starvation (all
of them by default).

It starts its own PostgreSQL in a temporary directory. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from flowpilot.runtime.auth import mint_token
from flowpilot.runtime.embedded_pg import EmbeddedPostgres
from flowpilot.runtime.migrations import upgrade
from flowpilot.runtime.settings import Settings
from tests.processes import SERVICES, Stack

SECRET = "measure-" + "s" * 40
API = "/api/v1"
# One data call per service, and a write.
CALLS = (
    ("fixes", "GET", "/ai-sessions", None),
    ("fixes", "POST", "/ai-sessions", {"title": "t"}),
    ("scriptbuilder", "GET", "/script-builder/sessions", None),
    ("scriptbuilder", "POST", "/script-templates", None),
)
PHASES = ("down", "restart", "starvation", "scriptbuilder-starvation")
TEMPLATE = {"name": "n", "language": "bash", "body": "echo hi"}


def token(user: str, account: str) -> str:
    settings = Settings(jwt_secret=SECRET)
    return mint_token(settings, user_id=user, account_id=account, role="engineer")


def client(url: str, user: str = "u", account: str = "a") -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token(user, account)}"}
    return httpx.AsyncClient(base_url=url + API, headers=headers, timeout=30)


def reason(response: httpx.Response) -> str:
    try:
        details = response.json()["error"]["details"]
    except (ValueError, KeyError, TypeError):
        return ""
    return next((d.get("reason", "") for d in details if "reason" in d), "")


async def data_calls(url: str) -> list[str]:
    lines = []
    async with client(url) as api:
        for service, method, path, body in CALLS:
            payload = TEMPLATE if path == "/script-templates" else body
            started = time.monotonic()
            try:
                response = await api.request(method, path, json=payload)
                answer = f"{response.status_code} {reason(response)}".strip()
            except httpx.HTTPError as exc:
                answer = type(exc).__name__
            elapsed = time.monotonic() - started
            lines.append(
                f"  {service:13} {method:4} {path:26} {answer:34} {elapsed * 1000:7.0f} ms"
            )
    return lines


async def until(check: Any, within: float, since: float | None = None) -> float | None:
    """Seconds from `since` (default: now) until `check()` is true, polled every
    20 ms; None past `within`."""
    started = time.monotonic() if since is None else since
    while time.monotonic() - started < within:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    return None


def seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


async def status_of(url: str, path: str) -> int:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(url + path)).status_code
    except httpx.HTTPError:
        return 0


async def database_down(pg: EmbeddedPostgres, stack: Stack) -> None:
    print("PostgreSQL stopped (pg_ctl stop -m fast); times from the stop command:")
    stopped = time.monotonic()
    stopping = asyncio.create_task(asyncio.to_thread(pg.stop, "fast"))

    async def not_serving(name: str) -> bool:
        return not await stack.serving(name)

    async def readyz(code: int) -> bool:
        return await status_of(stack.url, "/readyz") == code

    waits = await asyncio.gather(
        until(lambda: not_serving("fixes"), 30, stopped),
        until(lambda: not_serving("scriptbuilder"), 30, stopped),
        until(lambda: readyz(503), 30, stopped),
    )
    await stopping
    print(f"  (the stop command took {time.monotonic() - stopped:.2f} s)")
    print(f"  fixes: NOT_SERVING over grpc.health.v1 after {seconds(waits[0])}")
    print(f"  scriptbuilder: NOT_SERVING over grpc.health.v1 after {seconds(waits[1])}")
    print(f"  /readyz 503 after {seconds(waits[2])}")
    print(f"  /healthz: {await status_of(stack.url, '/healthz')}")
    print("  data calls with the database down:")
    for line in await data_calls(stack.url):
        print(line)
    print("  again:")
    for line in await data_calls(stack.url):
        print(line)
    print("PostgreSQL started again; times from the start command:")
    begun = time.monotonic()
    starting = asyncio.create_task(asyncio.to_thread(pg.start))
    waits = await asyncio.gather(
        until(lambda: stack.serving("fixes"), 30, begun),
        until(lambda: stack.serving("scriptbuilder"), 30, begun),
        until(lambda: readyz(200), 30, begun),
    )
    await starting
    print(f"  (the start command took {time.monotonic() - begun:.2f} s)")
    print(f"  fixes: SERVING after {seconds(waits[0])}")
    print(f"  scriptbuilder: SERVING after {seconds(waits[1])}")
    print(f"  /readyz 200 after {seconds(waits[2])}")


async def restart(pg: EmbeddedPostgres, stack: Stack) -> None:
    # Every pooled connection is open before the restart.
    async with client(stack.url) as api:
        await asyncio.gather(*(api.get("/script-builder/sessions") for _ in range(8)))
        await asyncio.gather(*(api.get("/ai-sessions") for _ in range(8)))
    await asyncio.to_thread(pg.stop, "fast")
    await asyncio.to_thread(pg.start)
    print("pg_ctl restart, then the first request to each service:")
    for line in await data_calls(stack.url):
        print(line)


async def starvation(stack: Stack, fixes_url: str, flood: int, hold: float) -> None:
    """One AI-session row held, `flood` script edits of one of its fixes."""
    async with client(stack.url, "victim", "tenant-a") as api:
        session = (await api.post("/ai-sessions", json={"title": "hot"})).json()
        fix = (
            await api.post(
                f"/ai-sessions/{session['id']}/suggested-fixes",
                json={"title": "f", "script_language": "bash", "ai_drafted_script": "echo"},
            )
        ).json()
    async with client(stack.url, "bystander", "tenant-b") as other:
        await other.post("/ai-sessions", json={"title": "mine"})
    path = f"/ai-sessions/{session['id']}/suggested-fixes/{fix['id']}/script"
    await flood_a_held_row(
        stack,
        fixes_url,
        what="AI-session",
        table="ai_sessions",
        row_id=session["id"],
        write=lambda api, number: api.patch(path, json={"ai_drafted_script": f"echo {number}"}),
        bystander_read="/ai-sessions",
        flood=flood,
        hold=hold,
    )


async def scriptbuilder_starvation(
    stack: Stack, scriptbuilder_url: str, flood: int, hold: float
) -> None:
    """The script-builder's side: one script-builder session row held,
    `flood` editor saves to it."""
    async with client(stack.url, "victim", "tenant-a") as api:
        created = await api.post(
            "/script-builder/sessions", json={"origin": "standalone", "title": "hot"}
        )
        session = created.json()
    path = f"/script-builder/sessions/{session['id']}/draft"
    await flood_a_held_row(
        stack,
        scriptbuilder_url,
        what="script-builder session",
        table="script_builder_sessions",
        row_id=session["id"],
        write=lambda api, number: api.patch(path, json={"editor_buffer": f"echo {number}"}),
        bystander_read="/script-builder/sessions",
        flood=flood,
        hold=hold,
    )


async def flood_a_held_row(
    stack: Stack,
    database_url: str,
    *,
    what: str,
    table: str,
    row_id: str,
    write: Any,
    bystander_read: str,
    flood: int,
    hold: float,
) -> None:
    """Holds the row locked for `hold` seconds, sends `flood` writes to it
    as the victim, and times another tenant's `bystander_read` once one
    write waits on the row; prints what each got and when."""
    async with client(stack.url, "bystander", "tenant-b") as other:
        started = time.monotonic()
        baseline = await other.get(bystander_read)
        quiet = time.monotonic() - started
    locker = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", row_id)

        async def one(number: int) -> tuple[int | str, float, str]:
            async with client(stack.url, "victim", "tenant-a") as api:
                began = time.monotonic()
                try:
                    answer = await write(api, number)
                    return answer.status_code, time.monotonic() - began, reason(answer)
                except httpx.HTTPError as exc:
                    return type(exc).__name__, time.monotonic() - began, ""

        flooding = [asyncio.create_task(one(n)) for n in range(flood)]
        most = [0]

        async def saturated() -> bool:
            # pg_locks, not pg_stat_activity: that view is a snapshot per
            # transaction, and the locker's stays open.
            waiting = await locker.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted")
            most[0] = max(most[0], waiting)
            return bool(waiting >= 1)

        # A write waits on the row (or 5 s passed); the others have been sent
        # (they wait for their turn in the service, without a connection).
        filled = await until(saturated, 5)
        await asyncio.sleep(0.2)
        await saturated()
        async with client(stack.url, "bystander", "tenant-b") as other:
            began = time.monotonic()
            read = await other.get(bystander_read)
            took = time.monotonic() - began
        release = asyncio.create_task(asyncio.sleep(max(0.0, hold - 1.0)))
        results = await asyncio.gather(*flooding)
        await release
        await transaction.rollback()
    finally:
        await locker.close()
    print(f"One {what} row locked, {flood} writes to it through the gateway:")
    print(
        f"  another tenant's read: {read.status_code} in {took:.2f} s "
        f"(with nothing locked: {baseline.status_code} in {quiet * 1000:.0f} ms; "
        f"at most {most[0]} writes waited for the lock in PostgreSQL"
        f"{'' if filled is not None else ', 5 s after the first'})"
    )
    counts: dict[str, list[float]] = {}
    for status, elapsed, why in results:
        counts.setdefault(f"{status} {why}".strip(), []).append(elapsed)
    for answer, times in sorted(counts.items()):
        print(
            f"  the {len(times)} writes answered {answer} after {min(times):.2f}-{max(times):.2f} s"
        )


async def main(flood: int, hold: float, phases: list[str]) -> None:
    directory = Path(tempfile.mkdtemp(prefix="flowpilot-measure-db-"))
    os.chmod(directory, 0o755)  # the postgres user must reach it
    pg = EmbeddedPostgres(directory, fsync=False)
    pg.start()
    try:
        urls = {}
        for package in ("fixes_service", "scriptbuilder_service"):
            urls[package] = pg.create_database(package)
            await asyncio.to_thread(upgrade, package, urls[package])
        # The default pool (3 + 2 per process), as deployed without overrides.
        env: dict[str, str] = {}
        with Stack(urls["fixes_service"], urls["scriptbuilder_service"], SECRET, env) as stack:
            for name in SERVICES:
                stack.start(name)
            await stack.wait_ready()
            await data_calls(stack.url)  # warm every pool
            if "down" in phases:
                await database_down(pg, stack)
            if "restart" in phases:
                await restart(pg, stack)
            if "starvation" in phases:
                await starvation(stack, urls["fixes_service"], flood, hold)
            if "scriptbuilder-starvation" in phases:
                await scriptbuilder_starvation(stack, urls["scriptbuilder_service"], flood, hold)
            stack.stop_all()
            for name in SERVICES:
                errors = [line for line in stack.logs(name).splitlines() if "Traceback" in line]
                if errors:
                    print(f"{name}: {len(errors)} tracebacks in its log ({stack.log_dir})")
    finally:
        pg.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flood", type=int, default=30, help="writes to the locked row")
    parser.add_argument("--hold", type=float, default=12.0, help="seconds the row stays locked")
    parser.add_argument(
        "phases", nargs="*", default=list(PHASES), help=f"what to measure: {', '.join(PHASES)}"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.flood, arguments.hold, arguments.phases))
