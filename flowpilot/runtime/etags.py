"""Entity tags (RFC 9110 §8.8.3, §13.1; AIP-154): the one parser of the
`If-Match` header and of a request's `etag` field, and the comparisons both
ends use. Pure.

A service issues strong tags of a version number (`"7"`). A write's
precondition is empty (none), `*` (any version) or one entity tag, compared
*strongly* (RFC 9110 §13.1.1: If-Match uses the strong comparison): a weak tag
(`W/"7"`) or a tag no version has (`"abc"`, `"07"`) is a well-formed
precondition that no current version satisfies, so the write is refused as a
mismatch (ABORTED `ETAG_MISMATCH`, HTTP 412), not as bad input. 400
`INVALID_ETAG` is only for what is not an entity tag at all: unquoted, a
lower-case `w/`, several tags, an empty header.

`If-None-Match` (a GET's 304) uses the weak comparison, as RFC 9110 §13.1.2
says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowpilot.runtime.errors import InvalidArgument

INVALID_ETAG = "INVALID_ETAG"
ANY = "*"

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, where etagc is any visible
# character but DQUOTE, or obs-text.
_ENTITY_TAG = r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"'
ENTITY_TAG = re.compile(_ENTITY_TAG)
# One element of a header's list (RFC 9110 §5.6.1: empty elements allowed),
# with its comma; a comma inside a tag's quotes is part of the tag.
_LIST_ELEMENT = re.compile(r'[ \t]*((?:W/)?"[\x21\x23-\x7e\x80-\xff]*"|\*)?[ \t]*(?:,|\Z)')


@dataclass(frozen=True, slots=True)
class EntityTag:
    opaque: str
    weak: bool = False

    def __str__(self) -> str:
        return f'{"W/" if self.weak else ""}"{self.opaque}"'

    def strongly_matches(self, current: str) -> bool:
        """RFC 9110 §13.1.1's strong comparison with `current` (a strong tag
        this service issued): a weak tag never matches."""
        return not self.weak and str(self) == current


def version_tag(version: int) -> str:
    """The entity tag of a version number: a quoted strong tag, `"7"`."""
    return f'"{version}"'


def parse_entity_tag(value: str) -> EntityTag | None:
    """`value` as one entity tag, or None when it is not one."""
    match = ENTITY_TAG.fullmatch(value)
    if match is None:
        return None
    return EntityTag(opaque=match.group(2), weak=match.group(1) is not None)


def parse_precondition(value: str, *, field: str = "etag") -> EntityTag | None:
    """A request's `etag` field: None for no precondition (empty) or any
    version (`*`), else the one entity tag it holds; anything else is 400
    `INVALID_ETAG` naming `field`."""
    if value in ("", ANY):
        return None
    tag = parse_entity_tag(value)
    if tag is None:
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise InvalidArgument(
            f'{field} must be * or one quoted entity tag (such as "7"); got {shown!r}',
            field=field,
            reason=INVALID_ETAG,
        )
    return tag


def parse_if_match(values: list[str]) -> str | None:
    """The one entity tag (or `*`) of the `If-Match` header lines, as the
    request's `etag` gets it (passed as sent; the service compares); None
    without the header.

    Refused with 400 `INVALID_ETAG` (field `If-Match`): a value that is not
    an entity-tag list, an empty one, and several tags (a request carries one
    `etag`)."""
    if not values:
        return None
    items = _list_items(values)
    if items is None:
        raise _invalid_header('If-Match must be * or a quoted entity tag, e.g. If-Match: "7"')
    if not items:
        raise _invalid_header('If-Match is empty; send * or a quoted entity tag, e.g. "7"')
    if len(items) > 1:
        raise _invalid_header("If-Match must carry exactly one entity tag (or *)")
    return items[0]


def if_none_match(values: list[str], etag: str) -> bool:
    """Whether `If-None-Match` matches `etag` (weak comparison, RFC 9110
    §13.1.2): a GET may then answer 304."""
    if not values:
        return False
    opaque = etag.removeprefix("W/")
    items = _list_items(values) or []  # a malformed header matches nothing
    return any(item == ANY or item.removeprefix("W/") == opaque for item in items)


def _list_items(values: list[str]) -> list[str] | None:
    """The entity tags (or `*`) of a header's lines, in order; None when a
    line is not such a list."""
    items: list[str] = []
    for line in values:
        position = 0
        while position < len(line):
            match = _LIST_ELEMENT.match(line, position)
            if match is None or match.end() == position:
                return None
            if match.group(1):
                items.append(match.group(1))
            position = match.end()
    return items


def _invalid_header(message: str) -> InvalidArgument:
    return InvalidArgument(message, field="If-Match", reason=INVALID_ETAG)
