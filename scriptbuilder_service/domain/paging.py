"""Opaque page tokens (an offset, base64url-encoded)."""

from __future__ import annotations

import base64
import binascii
import json

from flowpilot.runtime.errors import InvalidArgument


def page_window(page_size: int, page_token: str, *, default: int, maximum: int) -> tuple[int, int]:
    """(limit, offset) of a list request."""
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative", field="page_size")
    limit = min(page_size or default, maximum)
    if not page_token:
        return limit, 0
    try:
        padded = page_token + "=" * (-len(page_token) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise InvalidArgument("page_token is not valid", field="page_token") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidArgument("page_token is not valid", field="page_token")
    return limit, offset


def next_page_token(offset: int, limit: int, fetched: int) -> str:
    """A token when more rows exist (the caller fetched `limit + 1`)."""
    if fetched <= limit:
        return ""
    raw = json.dumps({"o": offset + limit}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
