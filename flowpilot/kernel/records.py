"""`replacer`: `dataclasses.replace` compiled for one record type.

`dataclasses.replace` looks up the class's fields and builds a keyword dict on
every call: 6.4 µs for a `Fix` of 24 fields, and a script PATCH replaced
three records on its hot path. The function made here reads each field by
name once, passes them positionally to the class's own `__init__` (so any
checks it makes still run) and refuses an unknown field as `replace` does:
3.3 µs. It is generated once per class, the way `dataclasses` builds
`__init__` itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def replacer(cls: type[T]) -> Callable[..., T]:
    """A `replace(obj, **changes)` for instances of `cls` (a dataclass whose
    fields are all positional `__init__` parameters)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    unsupported = [f.name for f in fields if not f.init or f.kw_only]
    if unsupported:
        raise TypeError(f"{cls.__name__}: fields {unsupported} are not positional init fields")
    arguments = ", ".join(f"pop({f.name!r}, obj.{f.name})" for f in fields)
    source = (
        "def replace(obj, /, **changes):\n"
        "    pop = changes.pop\n"
        f"    new = cls({arguments})\n"
        "    if changes:\n"
        "        raise TypeError(f'{cls.__name__} has no fields {sorted(changes)}')\n"
        "    return new\n"
    )
    namespace: dict[str, Any] = {"cls": cls}
    exec(source, namespace)  # the source is built from the class's own field names
    replace: Callable[..., T] = namespace["replace"]
    replace.__qualname__ = f"replacer.<{cls.__name__}>"
    replace.__doc__ = f"`dataclasses.replace` for `{cls.__name__}`."
    return replace
