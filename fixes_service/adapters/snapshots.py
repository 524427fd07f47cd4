"""The last snapshot this process read or wrote of each fix: a guess that
lets the hot path skip its read.

Every write of a fix or its session bumps the session's `state_version`, and
the compare-and-swap lands only if the session is still at the version its
snapshot read. So a write decided on a cached snapshot lands exactly when the
snapshot was still current; when another replica (or another call here) got
there first, the swap loses and the caller reads the row as usual. A cached
snapshot is only ever the basis of a write that the database confirms: it
never answers a read, a refused etag, a refused action or a no-op, which all
go to the database first.

Bounded twice, least recently used first out: by count and by the text the
snapshots hold (scripts and notes dominate a fix's size).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING
from uuid import UUID

from fixes_service.domain.access import Scope

if TYPE_CHECKING:
    from fixes_service.adapters.repository import FixSnapshot

Key = tuple[Scope, UUID, UUID]  # (the caller's scope, session id, fix id)

DEFAULT_MAX_SNAPSHOTS = 4096
DEFAULT_MAX_TEXT_BYTES = 32 * 1024 * 1024


def _text_size(snapshot: FixSnapshot) -> int:
    fix = snapshot.fix
    return (
        len(fix.ai_drafted_script or "")
        + len(fix.outcome_notes or "")
        + len(fix.description or "")
        + len(fix.title)
        + 512  # the rest of the row, roughly
    )


class SnapshotCache:
    __slots__ = ("_bytes", "_entries", "_max_bytes", "_max_count")

    def __init__(
        self,
        max_count: int = DEFAULT_MAX_SNAPSHOTS,
        max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
    ) -> None:
        self._entries: OrderedDict[Key, tuple[FixSnapshot, int]] = OrderedDict()
        self._max_count = max_count
        self._max_bytes = max_text_bytes
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key) -> FixSnapshot | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Key, snapshot: FixSnapshot) -> None:
        if self._max_count <= 0:
            return
        size = _text_size(snapshot)
        if size > self._max_bytes:
            self.discard(key)
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._entries[key] = (snapshot, size)
        self._bytes += size
        while len(self._entries) > self._max_count or self._bytes > self._max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted

    def discard(self, key: Key, snapshot: FixSnapshot | None = None) -> None:
        """Forgets `key`; given `snapshot`, only while it is still the one
        cached (a newer one put meanwhile stays)."""
        entry = self._entries.get(key)
        if entry is None or (snapshot is not None and entry[0] is not snapshot):
            return
        del self._entries[key]
        self._bytes -= entry[1]
