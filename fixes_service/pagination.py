"""Opaque page tokens: the keyset position of the last row, bound to its list.

A token is base64url JSON `{"k": kind, "p": parent id, "v": [...]}`. It is
opaque to clients; one from another list, or any tampered value, is refused
with INVALID_ARGUMENT `INVALID_PAGE_TOKEN`.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from fixes_service.adapters.repository import Page
from flowpilot.runtime.errors import InvalidArgument

MAX_TOKEN_CHARS = 512


def page_size(requested: int, *, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative", field="page_size")
    if requested == 0:
        return default
    return min(requested, maximum)  # AIP-158: larger values are coerced down


def _bad_token() -> InvalidArgument:
    return InvalidArgument(
        "page_token is not a token this list issued",
        field="page_token",
        reason="INVALID_PAGE_TOKEN",
    )


def encode(kind: str, parent: str, values: list[Any]) -> str:
    raw = json.dumps({"k": kind, "p": parent, "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str, kind: str, parent: str) -> list[Any]:
    if len(token) > MAX_TOKEN_CHARS:
        raise _bad_token()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
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


def encode_keyset(kind: str, parent: str, page: Page) -> str:
    return encode(kind, parent, [page.created_at.isoformat(), str(page.id)])


def decode_keyset(token: str, kind: str, parent: str) -> Page | None:
    if not token:
        return None
    values = _decode(token, kind, parent)
    try:
        created_at, row_id = values
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError(created_at)
        return Page(created_at=moment, id=UUID(row_id))
    except (TypeError, ValueError):
        raise _bad_token() from None


def encode_id(kind: str, parent: str, last_id: int) -> str:
    return encode(kind, parent, [last_id])


def decode_id(token: str, kind: str, parent: str) -> int | None:
    if not token:
        return None
    values = _decode(token, kind, parent)
    if len(values) != 1 or type(values[0]) is not int or values[0] < 0:
        raise _bad_token()
    return int(values[0])
