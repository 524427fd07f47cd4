"""Session changes announced across replicas: PostgreSQL LISTEN/NOTIFY.

Every change bumps `ai_sessions.state_version`, and a trigger turns each bump
of a *watched* session into a `NOTIFY` on `AI_SESSION_CHANGES_CHANNEL`
(payload `"<session id> <state_version>"`), delivered to every listener when
the change commits, whichever replica made it. A process keeps ONE listening
connection (opened with the first watch, not one per watcher) and fans each
notification out in memory to the watches of that session; a watch then reads
what changed from the audit trail itself, so a notification only says "look".

"Watched" is a row in `session_watchers` per (session, listening connection),
written by that connection when its process starts watching the session and
deleted when it stops. A NOTIFY takes a cluster-wide lock through its commit,
so the writes of sessions nobody watches (most of them, and every write the
benchmark makes) skip it for one index probe. Marks of a connection that is
gone are swept by every listener that starts and every 15 s.

The same connection bounds the open watches per user across every replica:
each watch holds one of `max_per_user` advisory locks of its user, taken with
`pg_try_advisory_lock` (a lock another replica holds is refused at once;
session-level advisory locks are re-entrant for one connection, so this
process also remembers which slots it holds). Past the bound a new watch is
refused (RESOURCE_EXHAUSTED `TOO_MANY_WATCHES`). A lost connection releases
every lock with it, and ends every watch of this process with UNAVAILABLE
`WATCH_INTERRUPTED`: notifications may have been missed meanwhile, so clients
resume from the audit trail (`last_event_id`), on whichever replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID, uuid4

import asyncpg

from fixes_service.adapters.tables import AI_SESSION_CHANGES_CHANNEL
from flowpilot.runtime.errors import DomainError, ResourceExhausted, Unavailable
from flowpilot.runtime.uow import database_fault

log = logging.getLogger("flowpilot.fixes.change_feed")

# How the listening connection shows in `pg_stat_activity` (unless its URL names one).
LISTENER_APPLICATION_NAME = "flowpilot-fixes-listener"


def listener_url(url: str) -> str:
    """`url` with `application_name` set for the listening connection."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "application_name" for name, _ in query):
        return url
    query.append(("application_name", LISTENER_APPLICATION_NAME))
    return urlunsplit(parts._replace(query=urlencode(query)))


# How long a new listening connection waits for a test notification sent from
# a second connection. A URL through PgBouncer's transaction pooling runs
# LISTEN on a server connection it then hands to someone else: notifications
# never arrive, and a watch would wait forever in silence. The probe turns
# that into a refusal (and an error in the log).
PROBE_SECONDS = 2.0
_PROBE_PREFIX = "probe:"

# How often the idle listening connection proves it is still there; a dead
# one ends its watches (which resume elsewhere) instead of leaving them deaf.
KEEPALIVE_SECONDS = 15.0

# The first free slot of a user's watches, taken in one round trip: rows are
# pulled one at a time, so LIMIT 1 stops at the first lock granted (no ORDER
# BY: a sort would evaluate, and lock, every row first).
_TAKE_SLOT = """
SELECT slot FROM unnest($1::int[]) AS slot
WHERE pg_try_advisory_lock(hashtextextended($2 || chr(31) || slot::text, 0))
LIMIT 1
"""
_RELEASE_SLOT = "SELECT pg_advisory_unlock(hashtextextended($1 || chr(31) || $2, 0))"
# A watched session: a row of this listening connection (see tables.py).
_LOCK_SESSION = "SELECT 1 FROM ai_sessions WHERE id = $1 FOR SHARE"
_MARK_WATCHED = (
    "INSERT INTO session_watchers (session_id, listener_pid) VALUES ($1, pg_backend_pid()) "
    "ON CONFLICT DO NOTHING"
)
_UNMARK_WATCHED = (
    "DELETE FROM session_watchers WHERE session_id = $1 AND listener_pid = pg_backend_pid()"
)
_UNMARK_ALL = "DELETE FROM session_watchers WHERE listener_pid = pg_backend_pid()"
# Marks of listening connections that are gone (a crashed replica, a lost
# connection): swept by every listener that starts, and now and then.
_SWEEP_WATCHERS = (
    "DELETE FROM session_watchers w WHERE NOT EXISTS "
    "(SELECT 1 FROM pg_stat_activity a WHERE a.pid = w.listener_pid)"
)


class _Subscription:
    """One watch's doorbell: rung by a notification of its session."""

    def __init__(self) -> None:
        self._rung = asyncio.Event()
        self._interrupted: str | None = None

    def ring(self) -> None:
        self._rung.set()

    def interrupt(self, why: str) -> None:
        self._interrupted = why
        self._rung.set()

    async def wait(self) -> None:
        await self._rung.wait()
        self._rung.clear()
        if self._interrupted is not None:
            raise Unavailable(
                "WATCH_INTERRUPTED",
                f"{self._interrupted}; watch again with last_event_id to resume",
            )


class PostgresChangeFeed:
    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection]], *, max_per_user: int
    ) -> None:
        self._connect = connect
        self._max_per_user = max_per_user
        self._connection: asyncpg.Connection | None = None
        # One statement at a time on the one connection.
        self._lock = asyncio.Lock()
        self._by_session: dict[str, set[_Subscription]] = {}
        # Slots this process holds, by user key.
        self._slots: dict[str, set[int]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._keepalive: asyncio.Task[None] | None = None
        self._probes: dict[str, asyncio.Event] = {}
        self._closed = False

    @contextlib.asynccontextmanager
    async def subscribe(
        self, account_id: str, user_id: str, session_id: UUID
    ) -> AsyncIterator[_Subscription]:
        """A watch of `session_id`: its user's slot, the session marked as
        watched (so its changes are announced), and a doorbell. Everything a
        change commits after this returns rings it."""
        user = f"flowpilot-watch\x1f{account_id}\x1f{user_id}"
        subscription = _Subscription()
        connection, slot = await self._open(user, session_id, subscription)
        try:
            yield subscription
        finally:
            # In its own task: a watch ends by cancellation (the client went
            # away), and a cancelled clean-up would leak the slot.
            task = asyncio.ensure_future(
                self._close(connection, user, slot, session_id, subscription)
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _open(
        self, user: str, session_id: UUID, subscription: _Subscription
    ) -> tuple[asyncpg.Connection, int]:
        async with self._lock:
            connection = await self._listening()
            held = self._slots.setdefault(user, set())
            free = [slot for slot in range(self._max_per_user) if slot not in held]
            try:
                slot = await connection.fetchval(_TAKE_SLOT, free, user) if free else None
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise _unavailable(exc) from exc
            if slot is None:
                raise ResourceExhausted(
                    "TOO_MANY_WATCHES",
                    f"at most {self._max_per_user} open watches per user; close one (another "
                    "tab or window) or wait for it to end",
                    metadata={"limit": str(self._max_per_user)},
                )
            held.add(slot)
            key = str(session_id)
            try:
                if key not in self._by_session:
                    await self._mark_watched(connection, session_id)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._drop(connection, "the change feed lost its database connection")
                raise _unavailable(exc) from exc
            self._by_session.setdefault(key, set()).add(subscription)
            return connection, slot

    async def _mark_watched(self, connection: asyncpg.Connection, session_id: UUID) -> None:
        """From now on, changes of the session are announced. The share lock
        on its row waits for a change in flight (it holds the row until it
        commits), whose trigger may have looked before the mark: the watch's
        first read, after this, then sees it in the audit trail."""
        async with connection.transaction():
            await connection.execute(_LOCK_SESSION, session_id)
            await connection.execute(_MARK_WATCHED, session_id)

    async def _close(
        self,
        connection: asyncpg.Connection,
        user: str,
        slot: int,
        session_id: UUID,
        subscription: _Subscription,
    ) -> None:
        async with self._lock:
            key = str(session_id)
            watchers = self._by_session.get(key)
            last = False
            if watchers is not None:
                watchers.discard(subscription)
                if not watchers:
                    del self._by_session[key]
                    last = True
            if connection is not self._connection:
                return  # that connection is gone, and its locks and marks with it
            self._slots.get(user, set()).discard(slot)
            try:
                await connection.fetchval(_RELEASE_SLOT, user, str(slot))
                if last:
                    await connection.execute(_UNMARK_WATCHED, session_id)
            except Exception:
                # A slot or mark left behind would outlive the watch: better
                # to drop the connection, which takes both with it.
                log.exception("could not release a watch; dropping the listener")
                self._drop(connection, "the change feed lost its database connection")

    async def _listening(self) -> asyncpg.Connection:
        """The one listening connection (call with the lock held)."""
        if self._closed:
            raise Unavailable("WATCH_UNAVAILABLE", "the server is stopping; watch another replica")
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        try:
            connection = await self._connect()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise _unavailable(exc) from exc
        try:
            await connection.add_listener(AI_SESSION_CHANGES_CHANNEL, self._on_notification)
            await self._probe(connection)
            await connection.execute(_SWEEP_WATCHERS)
        except (
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            TimeoutError,
            DeafListener,
        ) as exc:
            connection.terminate()
            raise _unavailable(exc) from exc
        connection.add_termination_listener(self._on_termination)
        self._connection = connection
        self._slots.clear()
        self._keepalive = asyncio.create_task(self._keep_alive(connection))
        log.info("listening for session changes", extra={"channel": AI_SESSION_CHANGES_CHANNEL})
        return connection

    async def _probe(self, connection: asyncpg.Connection) -> None:
        """A notification another connection sends must reach this one (as a
        change made by another replica must)."""
        token = _PROBE_PREFIX + uuid4().hex
        arrived = self._probes[token] = asyncio.Event()
        try:
            sender = await self._connect()
            try:
                await sender.execute("SELECT pg_notify($1, $2)", AI_SESSION_CHANGES_CHANNEL, token)
            finally:
                await sender.close()
            try:
                await asyncio.wait_for(arrived.wait(), PROBE_SECONDS)
            except TimeoutError:
                log.error(
                    "the listening connection does not receive notifications from other "
                    "connections; FLOWPILOT_FIXES_LISTEN_DATABASE_URL must reach PostgreSQL "
                    "directly or through session pooling, not transaction pooling"
                )
                raise DeafListener from None
        finally:
            del self._probes[token]

    def _on_notification(
        self, connection: asyncpg.Connection, pid: int, channel: str, payload: str
    ) -> None:
        if payload.startswith(_PROBE_PREFIX):
            probe = self._probes.get(payload)
            if probe is not None:
                probe.set()
            return
        session_id = payload.partition(" ")[0]
        for subscription in self._by_session.get(session_id, ()):
            subscription.ring()

    def _on_termination(self, connection: asyncpg.Connection) -> None:
        self._drop(connection, "the change feed lost its database connection")

    def _drop(self, connection: asyncpg.Connection, why: str) -> None:
        """Ends every watch of `connection`: what happened while it was gone
        is only in the audit trail."""
        if connection is not self._connection:
            return
        self._connection = None
        self._slots.clear()
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        for watchers in self._by_session.values():
            for subscription in watchers:
                subscription.interrupt(why)
        if not connection.is_closed():
            connection.terminate()

    async def _keep_alive(self, connection: asyncpg.Connection) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            async with self._lock:
                if connection is not self._connection:
                    return
                try:
                    await connection.execute(_SWEEP_WATCHERS, timeout=KEEPALIVE_SECONDS)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                    log.warning("the change feed's connection stopped answering")
                    self._drop(connection, "the change feed lost its database connection")
                    return

    async def close(self) -> None:
        """Ends every watch (UNAVAILABLE: clients resume on another replica)
        and closes the connection. Run it before the server drains its calls."""
        self._closed = True
        async with self._lock:
            connection = self._connection
            if connection is not None:
                with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    await connection.execute(_UNMARK_ALL, timeout=KEEPALIVE_SECONDS)
                self._drop(connection, "the server is stopping")
        for watchers in self._by_session.values():
            for subscription in watchers:
                subscription.interrupt("the server is stopping")
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


class DeafListener(Exception):
    """The listening connection hears no notification from another one."""


def _unavailable(exc: BaseException) -> DomainError:
    """Why watching is refused: a database fault is the unit of work's answer
    (503 `DATABASE_UNAVAILABLE`, ...), as for every other call; a listener
    that cannot hear other connections is `WATCH_UNAVAILABLE`."""
    log.warning("change feed unavailable: %s", type(exc).__name__)
    if not isinstance(exc, DeafListener):
        fault = database_fault(exc, checking_out=True)
        if fault is not None:
            return fault
    return Unavailable(
        "WATCH_UNAVAILABLE",
        "live updates are not available right now (the listening connection hears nothing)"
        if isinstance(exc, DeafListener)
        else "live updates are not available right now (the database cannot be reached)",
        metadata={"cause": type(exc).__name__},
    )
