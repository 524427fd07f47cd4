"""The fixes service's prebuilt statements keep their bind-parameter naming
(`fixes_service/adapters/statements.py`): every name says which part of the
statement it feeds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.expression import Executable

from fixes_service.adapters import statements
from fixes_service.adapters.tables import ai_sessions


def _statements() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in dir(statements):
        value = getattr(statements, name)
        variants = value.items() if isinstance(value, dict) else [("", value)]
        for key, stmt in variants:
            stmt = stmt.statement if isinstance(stmt, statements.Compiled) else stmt
            if isinstance(stmt, Executable) and name.isupper():
                found[f"{name}[{key}]" if key != "" else name] = stmt
    return found


def misnamed(stmt: Any) -> list[str]:
    """The named bind parameters of `stmt` (not SQLAlchemy's own, for literals)
    whose names have no documented prefix."""
    binds = stmt.compile(dialect=postgresql.dialect()).binds
    return sorted(
        name
        for name, bind in binds.items()
        if not bind.unique
        and name != statements.NOW
        and not name.startswith(statements.BIND_PREFIXES)
    )


def test_every_bind_parameter_has_a_named_prefix() -> None:
    found = _statements()
    assert {
        "READ_FIX[True]",
        "WRITE_FIX[(True, True, True, True)]",
        "CREATE_FIX",
        "WRITE_SESSION",
    } <= set(found)
    assert {name: misnamed(stmt) for name, stmt in found.items() if misnamed(stmt)} == {}


def test_a_bare_name_is_caught() -> None:
    stmt = select(ai_sessions).where(ai_sessions.c.id == bindparam("w_id"))
    assert misnamed(stmt) == ["w_id"]
