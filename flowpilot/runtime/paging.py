"""Paging, one home for every list of every service (AIP-158).

A list call takes `page_size` and `page_token` and answers one `Page`: its
items and the token of the next page ("" on the last). Use cases fetch one row
more than the page holds, so whether a next page exists costs no count query
(`Page.cut`).

Tokens are opaque base64url JSON. Two kinds exist, each bound to the list
that issued it, so a token is never silently applied to another list:

* keyset tokens (the fixes service): the sort key of the last row, bound to
  the list's kind and parent, `{"k": kind, "p": parent, "v": [...]}`; any
  other or tampered value is INVALID_ARGUMENT `INVALID_PAGE_TOKEN`. Prefer
  them for a new list: rows inserted meanwhile never shift a page.
* offset tokens (the script-builder service): `{"o": n}`, plus `"q"`, a
  fingerprint of the filters the list was called with; a token used under
  other filters is INVALID_ARGUMENT `PAGE_TOKEN_FILTER_MISMATCH`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from flowpilot.runtime.errors import InvalidArgument

T = TypeVar("T")

MAX_TOKEN_CHARS = 512


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


# --- keyset tokens ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a page ordered by `(created_at, id)` ended: the last row's key."""

    created_at: datetime
    id: UUID


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(token: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _bad_token() -> InvalidArgument:
    return InvalidArgument(
        "page_token is not a token this list issued",
        field="page_token",
        reason="INVALID_PAGE_TOKEN",
    )


def encode_token(kind: str, parent: str, values: list[Any]) -> str:
    return _b64(json.dumps({"k": kind, "p": parent, "v": values}, separators=(",", ":")).encode())


def _decode_token(token: str, kind: str, parent: str) -> list[Any]:
    if len(token) > MAX_TOKEN_CHARS:
        raise _bad_token()
    try:
        data = _unb64(token)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_token() from None
    if (
        not isinstance(data, dict)
        or data.get("k") != kind
        or data.get("p") != parent
        or not isinstance(data.get("v"), list)
    ):
        raise _bad_token()
    return data["v"]


def encode_keyset(kind: str, parent: str, keyset: Keyset) -> str:
    return encode_token(kind, parent, [keyset.created_at.isoformat(), str(keyset.id)])


def decode_keyset(token: str, kind: str, parent: str) -> Keyset | None:
    """The position after which the page starts; None for the first page."""
    if not token:
        return None
    values = _decode_token(token, kind, parent)
    try:
        created_at, row_id = values
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError(created_at)
        return Keyset(created_at=moment, id=UUID(row_id))
    except (TypeError, ValueError):
        raise _bad_token() from None


def encode_id(kind: str, parent: str, last_id: int) -> str:
    return encode_token(kind, parent, [last_id])


def decode_id(token: str, kind: str, parent: str) -> int | None:
    """For lists ordered by a serial id: the last id of the previous page."""
    if not token:
        return None
    values = _decode_token(token, kind, parent)
    if len(values) != 1 or type(values[0]) is not int or values[0] < 0:
        raise _bad_token()
    return int(values[0])


# --- offset tokens ----------------------------------------------------------------


def filters_key(**filters: object) -> str:
    """A short fingerprint of the set filters ("" when none is set)."""
    canonical = "&".join(f"{k}={v}" for k, v in sorted(filters.items()) if v is not None)
    if not canonical:
        return ""
    return hashlib.blake2s(canonical.encode(), digest_size=6).hexdigest()


def offset_window(
    requested_size: int, page_token: str, *, default: int, maximum: int, filters: str = ""
) -> tuple[int, int]:
    """(limit, offset) of a list request whose filters have fingerprint `filters`."""
    limit = page_size(requested_size, default=default, maximum=maximum)
    if not page_token:
        return limit, 0
    try:
        decoded = _unb64(page_token)
        offset = decoded["o"]
        token_filters = decoded.get("q", "")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeEncodeError):
        raise InvalidArgument("page_token is not valid", field="page_token") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidArgument("page_token is not valid", field="page_token")
    if token_filters != filters:
        raise InvalidArgument(
            "page_token belongs to a list with other filters; start again without it",
            field="page_token",
            reason="PAGE_TOKEN_FILTER_MISMATCH",
        )
    return limit, offset


def next_offset_token(offset: int, limit: int, *, filters: str = "") -> str:
    """The token of the page after the one at `offset`."""
    payload: dict[str, object] = {"o": offset + limit}
    if filters:
        payload["q"] = filters
    return _b64(json.dumps(payload).encode())
