"""Opaque page tokens (an offset, base64url-encoded).

A list with filters binds its tokens to them (`query`): an offset means
nothing under another filter, so such a token is refused rather than silently
skipping or repeating rows. Unfiltered tokens stay `{"o": n}`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from flowpilot.runtime.errors import InvalidArgument


def query_key(**filters: object) -> str:
    """A short fingerprint of the set filters ("" when none is set)."""
    canonical = "&".join(f"{k}={v}" for k, v in sorted(filters.items()) if v is not None)
    if not canonical:
        return ""
    return hashlib.blake2s(canonical.encode(), digest_size=6).hexdigest()


def page_window(
    page_size: int, page_token: str, *, default: int, maximum: int, query: str = ""
) -> tuple[int, int]:
    """(limit, offset) of a list request."""
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative", field="page_size")
    limit = min(page_size or default, maximum)
    if not page_token:
        return limit, 0
    try:
        padded = page_token + "=" * (-len(page_token) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        offset = decoded["o"]
        token_query = decoded.get("q", "")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise InvalidArgument("page_token is not valid", field="page_token") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidArgument("page_token is not valid", field="page_token")
    if token_query != query:
        raise InvalidArgument(
            "page_token belongs to a list with other filters; start again without it",
            field="page_token",
            reason="PAGE_TOKEN_FILTER_MISMATCH",
        )
    return limit, offset


def next_page_token(offset: int, limit: int, fetched: int, *, query: str = "") -> str:
    """A token when more rows exist (the caller fetched `limit + 1`)."""
    if fetched <= limit:
        return ""
    payload: dict[str, object] = {"o": offset + limit}
    if query:
        payload["q"] = query
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
