"""Core statements compiled once per dialect, for the statements of the in-meeting save.

SQLAlchemy's execution of an already compiled statement (cache key, compiled-cache
lookup, execution context, parameter and result set-up, the greenlet bridge) cost
~45 µs per statement — more than SQLite takes to run it. A Prepared statement keeps
what that work produces, once per dialect and set of parameter names: the SQL text,
the order of its parameters, and the bind and result processors of the columns' own
types (`TypeEngine.dialect_impl(dialect).bind_processor` / `result_processor`, so JSON,
dates and UTC timestamps convert exactly as through SQLAlchemy). store/connection.py
runs it on the SQLite driver directly; on PostgreSQL it is executed by SQLAlchemy as
any statement (`statement`), so only SQLite's form is ever compiled here.

The statement is still written once, in Core, next to the others (store/repositories.py).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Dialect, Executable
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Select

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Compiled:
    sql: str
    binds: tuple[tuple[str, Processor], ...]  # parameter name, its bind processor
    row: Any  # a namedtuple class: rows read by attribute, as SQLAlchemy's Row
    results: tuple[Processor, ...]

    def parameters(self, params: Mapping[str, Any]) -> list[Any]:
        return [
            params[name] if process is None else process(params[name])
            for name, process in self.binds
        ]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        results = self.results
        return [
            self.row._make(
                [
                    v if p is None or v is None else p(v)
                    for p, v in zip(results, values, strict=True)
                ]
            )
            for values in raw
        ]


class Prepared:
    """A Core statement with bind parameters, compiled on first use per dialect."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[type[Dialect], tuple[str, ...]], Compiled] = {}

    def compiled(self, dialect: Dialect, params: Mapping[str, Any]) -> Compiled:
        key = (type(dialect), tuple(params))
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(dialect, list(params))
        return found

    def _compile(self, dialect: Dialect, names: list[str]) -> Compiled:
        element = cast(ClauseElement, self.statement)
        compiled = cast(SQLCompiler, element.compile(dialect=dialect, column_keys=names))
        order = compiled.positiontup or []
        binds = tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in order
        )
        columns = (
            list(self.statement.selected_columns) if isinstance(self.statement, Select) else []
        )
        row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        results = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        )
        return Compiled(compiled.string, binds, row, results)
