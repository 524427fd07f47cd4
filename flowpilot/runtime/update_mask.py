"""Update masks (AIP-134): which fields of a PATCH-like request a service
writes. Pure; every service's use case applies it the same way.

- no mask at all (a gRPC client that sends none): every updatable field, the
  request replaces them as it did before masks (AIP-134's rule for clients
  that predate the mask);
- a mask with no paths: no field (what the gateway sends for a PATCH with an
  empty body, so "nothing sent" never reads as "erase everything");
- `*`: every updatable field;
- otherwise exactly the named fields; a path that is not an updatable field
  is refused with 400 `INVALID_UPDATE_MASK` naming it.

A field named in the mask but unset in the request is cleared (JSON `null`
over REST), when the service allows that field to be empty.

`paths_from_body` is the other half, the gateway's: the mask a PATCH body
implies when the client sent none (grpc-gateway's rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flowpilot.runtime.errors import InvalidArgument

INVALID_UPDATE_MASK = "INVALID_UPDATE_MASK"
FULL_REPLACEMENT = "*"


def masked_fields(
    paths: Sequence[str] | None, updatable: Sequence[str], *, field: str = "update_mask"
) -> frozenset[str]:
    """The fields to write: `paths` is the request's mask (None when unset)."""
    every = frozenset(updatable)
    if paths is None:
        return every
    chosen: set[str] = set()
    for path in paths:
        if path == FULL_REPLACEMENT:
            if len(paths) > 1:
                raise InvalidArgument(
                    f"{field}: '*' replaces every field and stands alone",
                    field=field,
                    reason=INVALID_UPDATE_MASK,
                )
            return every
        if path not in every:
            raise InvalidArgument(
                f"{field}: {path!r} is not a field this request updates "
                f"(one of {', '.join(updatable)})",
                field=field,
                reason=INVALID_UPDATE_MASK,
                metadata={"path": path[:100]},
            )
        chosen.add(path)
    return frozenset(chosen)


def paths_from_body(keys: Iterable[str], mask_field: str) -> list[str]:
    """The mask a PATCH body implies: its top-level keys, in the order sent,
    without the mask field itself. A key sent as JSON `null` is included: the
    field is unset in the request, so the service clears it."""
    return [key for key in dict.fromkeys(keys) if key != mask_field]
