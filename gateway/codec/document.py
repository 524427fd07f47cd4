"""A request body as JSON, parsed once with the limits every body obeys.

What `json.loads` accepts but a request may not carry is refused here, before
any field is decoded, with INVALID_ARGUMENT and a reason:

* `NaN`, `Infinity` (not JSON) and malformed JSON: `INVALID_JSON`;
* a lone surrogate escape (`"\\ud800"`) in any string, object keys included:
  `INVALID_JSON`. It is not Unicode text: it cannot be encoded as UTF-8 (in
  an error message, in gRPC metadata, in a protobuf string), so it must not
  travel further than the parser;
* objects and arrays nested deeper than `MAX_DEPTH`: `NESTED_TOO_DEEPLY`.
  This is the one depth limit of the API, checked at the edge. A JSON level
  of a `google.protobuf.Struct` is up to three protobuf message levels (Struct,
  its map entry, Value), and protobuf refuses to parse a message nested deeper
  than 100 levels; `MAX_DEPTH` keeps every body well below that, so no service
  ever sees a request it cannot parse.
"""

from __future__ import annotations

import json
from typing import Any

from flowpilot.runtime.errors import InvalidArgument

# Objects and arrays, the body itself included.
MAX_DEPTH = 24
# protobuf's default recursion limit when parsing (upb and the Python parser).
PROTOBUF_RECURSION_LIMIT = 100
# The most protobuf levels one JSON level can become (Struct → map entry → Value).
MESSAGE_LEVELS_PER_JSON_LEVEL = 3


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN/Infinity, which are not JSON.
    raise ValueError(f"{name} is not valid JSON")


def _invalid(message: str, reason: str = "INVALID_JSON") -> InvalidArgument:
    return InvalidArgument(message, reason=reason)


def parse_body(body: bytes) -> Any:
    """The JSON value of a request body, within the limits above."""
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        # The parser's own words: what and where, about the client's input.
        raise _invalid(f"the request body is not valid JSON: {exc.msg} at {exc.pos}") from None
    except UnicodeDecodeError:
        raise _invalid("the request body is not valid UTF-8") from None
    except ValueError as exc:
        raise _invalid(f"the request body is not valid JSON: {exc}") from None
    check_value(value)
    return value


def _too_deep() -> InvalidArgument:
    return _invalid(
        f"the request body is nested deeper than {MAX_DEPTH} levels", "NESTED_TOO_DEEPLY"
    )


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(
            "the request body holds a lone surrogate escape (such as \\ud800), "
            "which is not Unicode text"
        ) from None


def check_value(value: Any) -> None:
    """Depth and Unicode of a parsed JSON value, without recursion."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise _too_deep()
            for key, member in item.items():
                _check_text(key)
                pending.append((member, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            pending.extend((member, depth + 1) for member in item)
