"""Paging, one home for every list of every service (AIP-158).

A list call takes `page_size` and `page_token` and answers one `Page`: its
items and the token of the next page ("" on the last). Use cases fetch one row
more than the page holds, so whether a next page exists costs no count query
(`Page.cut`).

Tokens are opaque and tamper-evident (`PageTokens`): base64url of an
HMAC-SHA256 tag (16 bytes) followed by a small JSON payload, signed with the
service's key (`Settings.page_token_key`: `FLOWPILOT_PAGE_TOKEN_SECRET`, or
derived from the JWT secret in development). A token is at most
`MAX_TOKEN_CHARS` long, its tag is checked before anything in it is read, and
every value in it is range-checked after, so a forged, altered, truncated or
oversized token is INVALID_ARGUMENT `INVALID_PAGE_TOKEN` and never reaches SQL.
Each token is bound to the list that issued it (its kind and parent: the
caller, the session, the fix), so it is never silently applied to another
list. Two kinds of position exist:

* keyset (the fixes service): the sort key of the last row, `(created_at,
  id)` or a serial id. Prefer it for a new list: rows inserted meanwhile never
  shift a page.
* offset (the script-builder service): how many rows to skip, plus a
  fingerprint of the filters the list was called with; a token used under
  other filters is INVALID_ARGUMENT `PAGE_TOKEN_FILTER_MISMATCH`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

from flowpilot.runtime.errors import InvalidArgument

if TYPE_CHECKING:
    from flowpilot.runtime.settings import Settings

T = TypeVar("T")

MAX_TOKEN_CHARS = 512
TAG_BYTES = 16
# Serial ids are PostgreSQL bigints; offsets stay far below what a list holds.
MAX_ID = 2**63 - 1
MAX_OFFSET = 2**31 - 1
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def page_size(requested: int, *, default: int, maximum: int) -> int:
    """How many items a page holds: unset is `default`, more than `maximum` is
    coerced down (AIP-158), negative is refused."""
    if requested < 0:
        raise InvalidArgument("page_size must not be negative", field="page_size")
    if requested == 0:
        return default
    return min(requested, maximum)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str

    @classmethod
    def cut(cls, rows: list[T], size: int, next_token: Callable[[T], str]) -> Page[T]:
        """The first `size` of `rows` (fetched `size + 1`); `next_token(last item)`
        when a further row exists."""
        items = rows[:size]
        return cls(items, next_token(items[-1]) if len(rows) > size else "")


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a page ordered by `(created_at, id)` ended: the last row's key."""

    created_at: datetime
    id: UUID


def bad_token() -> InvalidArgument:
    return InvalidArgument(
        "page_token is not a token this list issued; start again without it",
        field="page_token",
        reason="INVALID_PAGE_TOKEN",
    )


def filters_key(**filters: object) -> str:
    """A short fingerprint of the set filters ("" when none is set)."""
    canonical = "&".join(f"{k}={v}" for k, v in sorted(filters.items()) if v is not None)
    if not canonical:
        return ""
    return hashlib.blake2s(canonical.encode(), digest_size=6).hexdigest()


def _fingerprint(parent: str) -> str:
    """The parent as a token holds it: fixed in size whatever the ids' length
    (identity claims may be 255 characters), and not in the clear."""
    return hashlib.blake2s(parent.encode("utf-8", "backslashreplace"), digest_size=9).hexdigest()


class PageTokens:
    """Issues and reads the page tokens of one service, signed with its key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a page token key needs at least 16 bytes")
        self._key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> PageTokens:
        return cls(settings.page_token_key())

    # --- the envelope -------------------------------------------------------------

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:TAG_BYTES]

    def sign(self, kind: str, parent: str, values: list[Any]) -> str:
        """A token of `values` for the list `kind` of `parent` (the encoders
        below use it; tests forge well-signed but wrong tokens with it)."""
        payload = json.dumps(
            {"k": kind, "p": _fingerprint(parent), "v": values},
            separators=(",", ":"),
            ensure_ascii=True,
        ).encode()
        raw = self._tag(payload) + payload
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _open(self, token: str, kind: str, parent: str) -> list[Any]:
        """The values of a token this key signed for this list; INVALID_PAGE_TOKEN otherwise."""
        if len(token) > MAX_TOKEN_CHARS or not _TOKEN_ALPHABET.fullmatch(token):
            raise bad_token()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise bad_token() from None
        tag, payload = raw[:TAG_BYTES], raw[TAG_BYTES:]
        if len(tag) < TAG_BYTES or not hmac.compare_digest(tag, self._tag(payload)):
            raise bad_token()
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError):  # pragma: no cover - we wrote it
            raise bad_token() from None
        if (
            not isinstance(data, dict)
            or data.get("k") != kind
            or data.get("p") != _fingerprint(parent)
            or not isinstance(data.get("v"), list)
        ):
            raise bad_token()
        return data["v"]  # type: ignore[no-any-return]

    # --- keyset tokens ------------------------------------------------------------

    def encode_keyset(self, kind: str, parent: str, keyset: Keyset) -> str:
        return self.sign(kind, parent, [keyset.created_at.isoformat(), str(keyset.id)])

    def decode_keyset(self, token: str, kind: str, parent: str) -> Keyset | None:
        """The position after which the page starts; None for the first page."""
        if not token:
            return None
        values = self._open(token, kind, parent)
        if len(values) != 2 or not all(isinstance(v, str) for v in values):
            raise bad_token()
        created_at, row_id = values
        try:
            moment = datetime.fromisoformat(created_at)
            # Aware, and still a datetime once in UTC (0001-01-01T00:00+01:00 is not).
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError(created_at)
            moment = moment.astimezone(UTC)
            return Keyset(created_at=moment, id=UUID(row_id))
        except (ValueError, OverflowError):
            raise bad_token() from None

    def encode_id(self, kind: str, parent: str, last_id: int) -> str:
        return self.sign(kind, parent, [last_id])

    def decode_id(self, token: str, kind: str, parent: str) -> int | None:
        """For lists ordered by a serial id: the last id of the previous page."""
        if not token:
            return None
        values = self._open(token, kind, parent)
        if len(values) != 1 or type(values[0]) is not int or not 0 <= values[0] <= MAX_ID:
            raise bad_token()
        return int(values[0])

    # --- offset tokens ------------------------------------------------------------

    def offset_window(
        self,
        kind: str,
        parent: str,
        requested_size: int,
        page_token: str,
        *,
        default: int,
        maximum: int,
        filters: str = "",
    ) -> tuple[int, int]:
        """(limit, offset) of a list request whose filters have fingerprint `filters`."""
        limit = page_size(requested_size, default=default, maximum=maximum)
        if not page_token:
            return limit, 0
        values = self._open(page_token, kind, parent)
        if len(values) != 2:
            raise bad_token()
        offset, token_filters = values
        if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
            raise bad_token()
        if not isinstance(token_filters, str):
            raise bad_token()
        if token_filters != filters:
            raise InvalidArgument(
                "page_token belongs to a list with other filters; start again without it",
                field="page_token",
                reason="PAGE_TOKEN_FILTER_MISMATCH",
            )
        return limit, offset

    def next_offset_token(
        self, kind: str, parent: str, offset: int, limit: int, *, filters: str = ""
    ) -> str:
        """The token of the page after the one at `offset`."""
        return self.sign(kind, parent, [min(offset + limit, MAX_OFFSET), filters])
