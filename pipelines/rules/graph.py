"""The rule models' graph (see `pipelines.rules.engine`): a model's header lines (`refs`,
`checks`, `reach`, `latest`), the closure of models it reads, and one composed statement.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import duckdb

from pipelines.db import sql

GAP_COLUMN = "calendar_gap_year"
_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_REFS = re.compile(r"^--\s*refs:(.*)$", re.MULTILINE)
_CHECKS = re.compile(r"^--\s*checks:\s*" + GAP_COLUMN + r"\s*$", re.MULTILINE)
_REACH = re.compile(
    r"^--\s*reach:\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*\+\s*\$([a-z_][a-z0-9_]*)\s*$",
    re.MULTILINE,
)
_LATEST = re.compile(r"^--\s*latest:\s*([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
_FINAL = "\nselect * from final"
MODEL_PREFIXES = ("fct_", "audit_", "mart_")


@cache
def _text(name: str) -> str:
    """A model's SQL without a trailing semicolon (files are read once per process)."""
    return sql(name).strip().rstrip(";").strip()


def refs(name: str) -> list[str]:
    """The models a model reads, from its `-- refs:` header line."""
    found = _REFS.search(_text(name))
    return [r.strip() for r in found.group(1).split(",") if r.strip()] if found else []


def checks_calendar(name: str) -> bool:
    """Whether the model carries `calendar_gap_year` (`-- checks: calendar_gap_year`)."""
    return bool(_CHECKS.search(_text(name)))


def reaches(name: str) -> list[tuple[str, str, str]]:
    """(table, column, parameter) of each `-- reach:` line: the calendar days the model needs."""
    return _REACH.findall(_text(name))


def latest(name: str) -> tuple[str, str] | None:
    """(table, column) of the model's `-- latest:` line, if it has one."""
    found = _LATEST.search(_text(name))
    return (found.group(1), found.group(2)) if found else None


def closure(
    name: str, materialised: Collection[str] = (), leaves: Collection[str] = ()
) -> list[str]:
    """The model and everything it reads, upstream first; materialised models are not entered,
    and `leaves` (models given a body that reads only their own table) are kept without what
    they read."""
    order: list[str] = []

    def visit(model: str) -> None:
        if model in order or model in materialised:
            return
        if model not in leaves:
            for upstream in refs(model):
                visit(upstream)
        order.append(model)

    visit(name)
    return order


@cache
def _parts(name: str) -> tuple[str, str]:
    """The model's query from `with` to `select * from final`, and its trailing `order by`."""
    lines = _text(name).splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    body = "\n".join(lines)
    if not body.lower().startswith("with"):
        raise ValueError(f"model {name} must start with a `with` clause")
    head, final, tail = body.rpartition(_FINAL)
    tail = tail.strip()
    if not final or (tail and not tail.lower().startswith("order by")):
        raise ValueError(f"model {name} must end with `select * from final` [order by …]")
    return head + final, tail


def order_by(name: str) -> str:
    """The `order by …` of the model's user-facing result ('' when it has none)."""
    return _parts(name)[1]


def _ctes(models: Iterable[str], replaced: Mapping[str, str] | None = None) -> list[str]:
    bodies = replaced or {}
    return [f"{m} as (\n{bodies.get(m) or _parts(m)[0]}\n)" for m in models]


def compose(
    name: str,
    materialised: Collection[str] = (),
    ordered: bool = True,
    replaced: Mapping[str, str] | None = None,
    leaves: Collection[str] = (),
) -> str:
    """One statement: the models `name` reads as CTEs, then the model's own CTEs and select.

    Upstream models are inlined without their `order by`; the model's own is kept when
    `ordered` (a result handed to a caller), dropped otherwise (a table to materialise).
    `replaced` gives some upstream models another CTE body (`pipelines.rules.incremental`);
    those in `leaves` read nothing but their own table, so what they read is left out.
    """
    upstream = _ctes(closure(name, materialised, leaves)[:-1], replaced)
    query, order = _parts(name)
    own = f"{query}\n{order}" if ordered and order else query
    if not upstream:
        return own
    return "with\n" + ",\n".join(upstream) + ",\n" + own[len("with") :].lstrip()


def bind(statement: str, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters a statement uses (DuckDB rejects unused ones); a missing one is a bug."""
    return {p: values[p] for p in sorted(set(_PARAM.findall(statement)))}


# what DuckDB's Python client binds a parameter as: INTEGER when it fits, else BIGINT
_INT_TYPES = ((2**31, "integer"), (2**63, "bigint"))


def _int_literal(value: int) -> str:
    for bound, kind in _INT_TYPES:
        if -bound <= value < bound:
            return f"cast({value} as {kind})"
    raise ValueError(f"规则参数整数超出范围：{value}")


def _text_literal(value: str) -> str:
    if "\0" in value:
        raise ValueError(f"规则参数含有 NUL 字符：{value!r}")
    return "cast('" + value.replace("'", "''") + "' as varchar)"


def _time_literal(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError(f"规则参数时间不应带时区：{value!r}")
        return f"cast('{value.isoformat(sep=' ')}' as timestamp)"
    return f"cast('{value.isoformat()}' as date)"


def sql_literal(value: Any) -> str:
    """A rule parameter as a SQL literal of the type DuckDB's client would bind it as (NULL,
    BOOLEAN, INTEGER/BIGINT, DOUBLE, VARCHAR with quotes doubled, DATE, TIMESTAMP, a list of
    these); any other type is a bug (TypeError). Binding literals instead of `$name` parameters
    keeps pandas out of a command's process (DuckDB imports it for any bound parameter)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int_literal(value)
    if isinstance(value, float):
        text = repr(value) if math.isfinite(value) else str(value)
        return f"cast('{text}' as double)"
    if isinstance(value, str):
        return _text_literal(value)
    if isinstance(value, dt.date):
        return _time_literal(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    raise TypeError(f"规则参数类型不支持：{type(value).__name__} {value!r}")


# a quoted string, a quoted name or a comment (left alone), or a `$name` parameter
_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\$([a-z_][a-z0-9_]*)", re.DOTALL
)


def inline(statement: str, values: Mapping[str, Any]) -> str:
    """The statement with each `$name` parameter (outside quotes and comments) replaced by its
    value's `sql_literal`; a parameter without a value is a bug (KeyError)."""

    def one(found: re.Match) -> str:
        name = found.group(1)
        return found.group(0) if name is None else sql_literal(values[name])

    return _TOKEN.sub(one, statement)


def execute(
    con: duckdb.DuckDBPyConnection, statement: str, values: Mapping[str, Any]
) -> duckdb.DuckDBPyConnection:
    """Run a statement with its `$name` parameters written in as literals (`inline`)."""
    return con.execute(inline(statement, values))


def insert_values(
    con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows into `table` as one VALUES list of literals (`sql_literal`): `executemany`
    binds parameters, and DuckDB imports pandas (≈ 0.5 s) for any bound parameter."""
    if rows:
        values = ", ".join("(" + ", ".join(map(sql_literal, row)) + ")" for row in rows)
        con.execute(f"insert into {table} values {values}")


@cache
def uses_eval_at(name: str) -> bool:
    """Whether the model (or one it reads) depends on `$eval_at` besides `$as_of`."""
    return "eval_at" in _PARAM.findall(compose(name))
