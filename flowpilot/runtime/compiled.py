"""Statements compiled once to asyncpg's `$n` SQL, for the hot paths that run
on a pooled asyncpg connection directly (`UnitOfWork.driver()`), skipping
SQLAlchemy's per-execute work while the SQL is still defined (and typed) by
SQLAlchemy Core or `text()`. Both services' hot paths use it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

_ASYNCPG_DIALECT = asyncpg_dialect()
# One encoder for every call: `json.dumps` with any non-default argument
# builds a new one each time (3.3 against 2.5 us for a provenance document).
_ENCODE_JSON = json.JSONEncoder(separators=(",", ":")).encode


class Compiled:
    """One statement: its SQL and how to order a mapping of bind values."""

    def __init__(self, stmt: Any) -> None:
        self.statement = stmt
        compiled = stmt.compile(dialect=_ASYNCPG_DIALECT)
        self.sql = compiled.string
        defaults = compiled.params
        # SQLAlchemy's asyncpg codec exchanges JSONB as text.
        json_names = {name for name, bind in compiled.binds.items() if isinstance(bind.type, JSONB)}
        # Each positional parameter: its name, its default, and whether it is JSON.
        self._positions = tuple(
            (name, defaults.get(name), name in json_names) for name in compiled.positiontup or ()
        )

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, default, is_json in self._positions:
            value = params.get(name, default)
            if is_json and value is not None:
                value = _ENCODE_JSON(value)
            values.append(value)
        return values
